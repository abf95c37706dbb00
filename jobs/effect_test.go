package jobs

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"crm/persistence"
	"crm/persistence/pgtest"
)

// The test kind: its job writes one effect row per key in its tenant's scoped
// transaction (a second run finds the row and adds nothing: idempotent by
// key), and leaves a trace of every run outside that transaction, so tests
// can tell "ran twice, took effect once" from "ran once".

// effectTables are the test kind's tables. test_job_effects and
// test_job_requests (the row that needs the job) are tenant tables like
// ours: row-level security, written by the tenant role. test_job_runs is the
// tests' own log.
const effectTables = `
CREATE TABLE test_job_runs (key text NOT NULL, node text NOT NULL, attempt int NOT NULL, at timestamptz NOT NULL);
CREATE TABLE test_job_effects (tenant_id uuid NOT NULL, key text NOT NULL, node text NOT NULL, PRIMARY KEY (tenant_id, key));
CREATE TABLE test_job_requests (tenant_id uuid NOT NULL, key text NOT NULL, PRIMARY KEY (tenant_id, key));
DO $$ DECLARE t text; BEGIN
  FOREACH t IN ARRAY ARRAY['test_job_effects', 'test_job_requests'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''app.tenant_id'')::uuid)', t);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO crm_app', t);
  END LOOP;
END $$;`

type effectArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Key      string    `json:"key"`
	// Hold keeps the first attempt running after its effect until its
	// context ends: a node that dies then has done the work but not told
	// River, the case a rerun must not double.
	Hold bool `json:"hold,omitempty"`
}

func (effectArgs) Kind() string { return "test_effect" }

type effectWorker struct {
	river.WorkerDefaults[effectArgs]
	db   *persistence.DB
	node string
}

func (w *effectWorker) Work(ctx context.Context, job *river.Job[effectArgs]) error {
	if _, err := w.db.Pool.Exec(ctx, `INSERT INTO test_job_runs (key, node, attempt, at) VALUES ($1, $2, $3, $4)`,
		job.Args.Key, w.node, job.Attempt, time.Now()); err != nil {
		return err
	}
	err := w.db.TenantTx(ctx, job.Args.TenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO test_job_effects (tenant_id, key, node) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, job.Args.TenantID, job.Args.Key, w.node)
		return err
	})
	if err != nil || !job.Args.Hold || job.Attempt > 1 {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// effectDB is a fresh database with the test kind's tables.
func effectDB(t *testing.T) (string, *persistence.DB) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := persistence.Open(context.Background(), persistence.Config{URL: url, MaxConns: 12}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(db.Close)
	_, err = db.Pool.Exec(context.Background(), effectTables)
	require.NoError(t, err)
	return url, db
}

// newEffectClient is a node's client that runs the test kind as node.
func newEffectClient(t *testing.T, url string, db *persistence.DB, node string, cfg Config) *Client {
	t.Helper()
	cfg.DatabaseURL, cfg.DB, cfg.NodeID = url, db, node
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Kinds = append(cfg.Kinds, newKind[effectArgs](&effectWorker{db: db, node: node}))
	c, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

type run struct {
	Key     string
	Node    string
	Attempt int
	At      time.Time
}

func runsOf(t *testing.T, db *persistence.DB, key string) []run {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT key, node, attempt, at FROM test_job_runs
		WHERE key = $1 ORDER BY at`, key)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[run])
	require.NoError(t, err)
	return out
}

// jobStates counts the test kind's jobs by state.
func jobStates(t *testing.T, db *persistence.DB) map[string]int {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT state::text, count(*) FROM river_job
		WHERE kind = 'test_effect' GROUP BY state`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		require.NoError(t, rows.Scan(&state, &n))
		out[state] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func count(t *testing.T, db *persistence.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.Pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// TestMain doubles as a job node: the kill test runs this binary again with
// CRM_JOBS_TEST_NODE set, so the node it SIGKILLs runs the test kind without
// the kind being compiled into crm.
func TestMain(m *testing.M) {
	if url := os.Getenv("CRM_JOBS_TEST_NODE"); url != "" {
		os.Exit(runEffectNode(url))
	}
	os.Exit(m.Run())
}

// runEffectNode runs a job node with the test kind until SIGTERM (or SIGKILL).
func runEffectNode(url string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fail := func(err error) int { log.Error("test job node", "error", err); return 1 }
	db, err := persistence.Open(ctx, persistence.Config{URL: url, MaxConns: 4}, log)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	node := os.Getenv("CRM_JOBS_TEST_NODE_NAME")
	timeout, err := time.ParseDuration(os.Getenv("CRM_JOB_TIMEOUT"))
	if err != nil {
		return fail(err)
	}
	rescue, err := time.ParseDuration(os.Getenv("CRM_JOB_RESCUE_AFTER"))
	if err != nil {
		return fail(err)
	}
	c, err := New(ctx, Config{DatabaseURL: url, DB: db, Log: log, NodeID: node, JobTimeout: timeout, RescueAfter: rescue,
		Kinds: []Kind{newKind[effectArgs](&effectWorker{db: db, node: node})}})
	if err != nil {
		return fail(err)
	}
	if err := c.Start(ctx); err != nil {
		return fail(err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Stop(stopCtx)
	return 0
}
