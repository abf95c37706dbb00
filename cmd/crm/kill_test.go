package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// process is a crm node running as its own OS process.
type process struct {
	cmd      *exec.Cmd
	http     string
	gossip   string
	log      *bytes.Buffer
	mu       sync.Mutex
	finished bool
}

func startProcess(t *testing.T, bin string, env []string, seeds string) *process {
	t.Helper()
	p := &process{http: freeAddr(t), gossip: freeAddr(t), log: &bytes.Buffer{}}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(append([]string{}, env...), "CRM_HTTP_ADDR="+p.http, "CRM_CLUSTER_BIND="+p.gossip,
		"CRM_CLUSTER_SEEDS="+seeds, "CRM_LOG_LEVEL=info")
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, &lockedWriter{w: p.log, mu: &p.mu}
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	})
	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + p.http + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "node %s ready", p.http)
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestKillNodeMidStream runs three nodes as OS processes, streams webhooks to
// all three, SIGKILLs one mid-stream (after it has acknowledged webhooks and
// hosted conversation grains), and checks that every acknowledged webhook,
// the dead node's included, is stored exactly once, that every conversation
// answers from a survivor within 3 s, and that a console resuming on a
// survivor sees every event.
func TestKillNodeMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	// Not parallel: it measures a failover time, so it runs before the
	// package's parallel tests start (and make test runs one package at a time).
	bin := filepath.Join(t.TempDir(), "crm")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	dbURL := pgtest.NewDatabase(t)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "CRM_SECRET_KEY=MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"CRM_MEDIA_DIR="+t.TempDir(), "CRM_LICENSE_SIGNING_KEY=", "CRM_LICENSE_PUBLIC_KEY=")
	demo := exec.Command(bin, "demo")
	demo.Env = append(env, "CRM_HTTP_ADDR=127.0.0.1:1")
	out, err := demo.CombinedOutput()
	require.NoError(t, err, string(out))

	a := startProcess(t, bin, env, "")
	b := startProcess(t, bin, env, a.gossip)
	c := startProcess(t, bin, env, a.gossip)

	// The sandbox connection's secret, read the way a node does.
	ctx := context.Background()
	db, err := persistence.Open(ctx, persistence.Config{URL: dbURL}, nil)
	require.NoError(t, err)
	defer db.Close()
	sealer, err := crm.NewSealer(mustKey())
	require.NoError(t, err)
	tenantID, err := db.TenantBySlug(ctx, "demo")
	require.NoError(t, err)
	var connID uuid.UUID
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections WHERE provider = 'sandbox'`).Scan(&connID)
	}))
	sec, err := persistence.LoadConnection(ctx, db, sealer, tenantID, connID)
	require.NoError(t, err)
	secret, phoneID := sec.Credentials["app_secret"], sec.ExternalID

	token := login(t, "http://"+c.http, demoAdminEmail)
	consoleOnB := dialConsole(t, b.http, wsTicket(t, "http://"+b.http, token), 0)

	// Stream: 12 contacts, messages round-robin to A, B and C, until told to
	// stop (B's stream ends when B dies).
	const contacts = 12
	targets := []*process{a, b, c}
	var acked sync.Map // wamid → the node (its index in targets) that acknowledged it
	var ackedBy [3]atomic.Int64
	var sent atomic.Int64
	var bKilled atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, target := range targets {
		wg.Add(1)
		go func(w int, base string) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (i*len(targets) + w) % contacts
				id := fmt.Sprintf("wamid.kill.%d.%d", w, i)
				body := webhookBody(phoneID, fmt.Sprintf("55219870000%02d", k), id, "msg "+id)
				status, err := postWebhook("http://"+base, connID, secret, body)
				sent.Add(1)
				if err == nil && status == http.StatusOK {
					acked.Store(id, w)
					ackedBy[w].Add(1)
				}
				if err != nil && targets[w] == b && bKilled.Load() {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}(w, target.http)
	}
	var convIDs []uuid.UUID
	require.Eventually(t, func() bool {
		convIDs = nil
		_ = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id FROM conversations`)
			if err != nil {
				return err
			}
			convIDs, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			return err
		})
		return len(convIDs) == contacts
	}, 20*time.Second, 100*time.Millisecond, "every contact has a conversation")
	adminA := login(t, "http://"+a.http, demoAdminEmail)

	// B is in the thick of it: it has acknowledged webhooks and hosts
	// conversation grains (its own count of activations, from its /metrics).
	var grainsOnB float64
	require.Eventually(t, func() bool {
		n, err := grainActivations(b.http, "conversation")
		grainsOnB = n
		return err == nil && ackedBy[1].Load() >= 30 && n > 0
	}, 20*time.Second, 50*time.Millisecond, "node B acknowledges webhooks and hosts conversation grains")

	// SIGKILL B mid-stream: no leave, no flush.
	lastSeenOnB := consoleOnB.lastSeq()
	bKilled.Store(true)
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGKILL))
	killedAt := time.Now()
	ackedByB := ackedBy[1].Load()
	// What B had acknowledged but not processed is left to the survivors' sweepers.
	var leftByB int
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT dedupe_key FROM inbound_events`)
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, key := range keys {
			if node, ok := acked.Load(key); ok && node.(int) == 1 {
				leftByB++
			}
		}
		return err
	}))
	t.Logf("node B was killed after acknowledging %d webhooks and activating %.0f conversation grains; %d of its acknowledged events were still in the inbox",
		ackedByB, grainsOnB, leftByB)

	// Every conversation answers from a survivor within 3 s of the kill,
	// probed through A while the stream goes on.
	answered := make([]time.Duration, len(convIDs))
	var probes sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i, id := range convIDs {
		probes.Add(1)
		go func(i int, id uuid.UUID) {
			defer probes.Done()
			for time.Since(killedAt) < 15*time.Second {
				req, _ := http.NewRequest(http.MethodPost, "http://"+a.http+"/api/v1/conversations/"+id.String()+"/read", nil)
				req.Header.Set("Authorization", "Bearer "+adminA)
				res, err := client.Do(req)
				if err == nil {
					res.Body.Close()
					if res.StatusCode == http.StatusOK {
						answered[i] = time.Since(killedAt)
						return
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			answered[i] = time.Hour
		}(i, id)
	}
	probes.Wait()
	var slowest time.Duration
	for _, d := range answered {
		slowest = max(slowest, d)
	}
	t.Logf("every conversation answered from a survivor within %.2fs of the kill (killed at %s)", slowest.Seconds(), killedAt.Format("15:04:05.000"))
	if slowest > 3*time.Second {
		a.mu.Lock()
		t.Logf("node A's log:\n%s", a.log.String())
		a.mu.Unlock()
	}
	require.LessOrEqual(t, slowest, 3*time.Second, "failover within 3 s")
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	var ackedCount int
	acked.Range(func(any, any) bool { ackedCount++; return true })
	require.Greater(t, ackedCount, 50, "the stream got going (%d sent)", sent.Load())

	// Every acknowledged webhook is stored exactly once (the sweeper finishes what B left).
	require.Eventually(t, func() bool {
		var pending int
		_ = db.PlatformTx(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events WHERE processed_at IS NULL`).Scan(&pending)
		})
		return pending == 0
	}, 30*time.Second, 100*time.Millisecond, "the inbox drains")
	stored := map[string]int{}
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT external_id FROM messages WHERE direction = 'inbound'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ext string
			if err := rows.Scan(&ext); err != nil {
				return err
			}
			stored[ext]++
		}
		return rows.Err()
	}))
	acked.Range(func(k, node any) bool {
		require.Equal(t, 1, stored[k.(string)], "%s, acknowledged by node %d, stored exactly once", k, node)
		return true
	})
	for ext, n := range stored {
		require.Equal(t, 1, n, "%s stored once", ext)
	}

	// The console that was on B reconnects to C, resumes, and misses nothing.
	resumed := dialConsole(t, c.http, wsTicket(t, "http://"+c.http, token), lastSeenOnB)
	var total int
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM tenant_events WHERE type = 'message.created'`).Scan(&total)
	}))
	require.Eventually(t, func() bool {
		seen := map[int64]bool{}
		for _, s := range consoleOnB.messageSeqs() {
			if s <= lastSeenOnB {
				seen[s] = true
			}
		}
		for _, s := range resumed.messageSeqs() {
			seen[s] = true
		}
		return len(seen) == total
	}, 15*time.Second, 100*time.Millisecond, "a resumed console sees every message event (%d)", total)
	t.Logf("acknowledged %d webhooks of %d sent; %d stored; kill detected and all conversations reachable in %.2fs",
		ackedCount, sent.Load(), len(stored), slowest.Seconds())
}

// grainActivations reads a node's count of grain activations of kind from
// its /metrics (0 before the first).
func grainActivations(addr, kind string) (float64, error) {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	prefix := fmt.Sprintf("crm_grain_activations_total{kind=%q} ", kind)
	for _, line := range strings.Split(string(raw), "\n") {
		if value, ok := strings.CutPrefix(line, prefix); ok {
			return strconv.ParseFloat(value, 64)
		}
	}
	return 0, nil
}

func mustKey() []byte {
	cfg, err := LoadConfig(func(k string) string {
		if k == "CRM_SECRET_KEY" {
			return "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
		}
		return ""
	})
	if err != nil {
		panic(err)
	}
	return cfg.SecretKey
}
