package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestServeRunsDurableJobs: a node runs the job client: the daily message
// partitions job is inserted by the leader when it starts, and run.
func TestServeRunsDurableJobs(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	env := map[string]string{
		"DATABASE_URL":         url,
		"CRM_HTTP_ADDR":        "127.0.0.1:0",
		"CRM_SECRET_KEY":       "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"CRM_MEDIA_DIR":        t.TempDir(),
		"CRM_JOB_WORKERS":      "3",
		"CRM_JOB_TIMEOUT":      "30s",
		"CRM_JOB_RESCUE_AFTER": "2m",
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, 3, cfg.JobWorkers)
	require.Equal(t, 30*time.Second, cfg.JobTimeout)
	require.Equal(t, 2*time.Minute, cfg.JobRescueAfter)

	ctx := context.Background()
	n, err := Start(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer n.Shutdown(ctx) //nolint:errcheck

	db, err := persistence.Open(ctx, persistence.Config{URL: url, MaxConns: 2}, nil)
	require.NoError(t, err)
	defer db.Close()
	// Periodic kinds run at start, then on their period.
	for _, kind := range []string{"message_partitions", "ws_ticket_purge", "rate_counter_purge"} {
		require.Eventually(t, func() bool {
			var completed bool
			err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job
				WHERE kind = $1 AND state = 'completed')`, kind).Scan(&completed)
			return err == nil && completed
		}, 30*time.Second, 50*time.Millisecond, "the node ran the %s job", kind)
	}

	shutdownCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(shutdownCtx))
}

func TestJobSettings(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{"CRM_JOB_WORKERS": "many", "CRM_JOB_TIMEOUT": "10", "CRM_JOB_RESCUE_AFTER": "-1m"} {
		_, err := LoadConfig(func(k string) string {
			return map[string]string{"CRM_SECRET_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", name: value}[k]
		})
		require.ErrorContains(t, err, name)
	}
}
