package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// schedule inserts the request row for key and its job in one tenant
// transaction, the way a store puts a scheduled message and its send.
func schedule(ctx context.Context, db *persistence.DB, jobs persistence.JobInserter, args effectArgs, at time.Time) error {
	return db.TenantTx(ctx, args.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO test_job_requests (tenant_id, key) VALUES ($1, $2)`, args.TenantID, args.Key); err != nil {
			return err
		}
		return jobs.InsertTx(ctx, tx, args, persistence.JobOpts{RunAt: at})
	})
}

// TestScheduledJobRunsOnceOnTime: a job scheduled 2 s ahead, inserted with
// its row in a tenant transaction (under the tenant role and RLS), runs once,
// not before its time and soon after it.
func TestScheduledJobRunsOnceOnTime(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	c := newEffectClient(t, url, db, "a", Config{})
	require.NoError(t, c.Start(ctx))

	tenant := crm.NewID()
	due := time.Now().Add(2 * time.Second)
	require.NoError(t, schedule(ctx, db, c, effectArgs{TenantID: tenant, Key: "later"}, due))

	require.Eventually(t, func() bool { return jobStates(t, db)["completed"] == 1 }, 30*time.Second, 20*time.Millisecond,
		"the job completes")
	runs := runsOf(t, db, "later")
	require.Len(t, runs, 1, "it ran once")
	late := runs[0].At.Sub(due)
	t.Logf("ran %s after its time", late)
	require.GreaterOrEqual(t, late, time.Duration(0), "not before its time")
	// River's nodes poll for due jobs every second; 3 s more for a loaded
	// machine.
	require.Less(t, late, 4*time.Second, "soon after its time")
	require.Equal(t, 1, count(t, db, `SELECT count(*) FROM test_job_effects WHERE key = 'later'`))
}

// TestJobCommitsWithItsRow: a job inserted in a transaction that rolls back
// is gone with its row; inserting the same job again keeps one.
func TestJobCommitsWithItsRow(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	c := newEffectClient(t, url, db, "a", Config{}) // not started: nothing runs the jobs
	tenant := crm.NewID()

	failed := errors.New("the request failed after its job was inserted")
	err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO test_job_requests (tenant_id, key) VALUES ($1, 'gone')`, tenant); err != nil {
			return err
		}
		if err := c.InsertTx(ctx, tx, effectArgs{TenantID: tenant, Key: "gone"}, persistence.JobOpts{}); err != nil {
			return err
		}
		return failed
	})
	require.ErrorIs(t, err, failed)
	require.Empty(t, jobStates(t, db), "the job rolled back with its row")

	kept := effectArgs{TenantID: tenant, Key: "kept"}
	require.NoError(t, schedule(ctx, db, c, kept, time.Time{}))
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return c.InsertTx(ctx, tx, kept, persistence.JobOpts{})
	}), "a duplicate is skipped, not an error")
	require.Equal(t, map[string]int{"available": 1}, jobStates(t, db))
	require.Equal(t, 1, count(t, db, `SELECT count(*) FROM river_job WHERE args->>'key' = 'kept'`))
	require.ErrorContains(t, c.Insert(ctx, unregistered{}, persistence.JobOpts{}), `no kind "test_unregistered"`)
}

type unregistered struct{}

func (unregistered) Kind() string { return "test_unregistered" }

// TestTwoNodesRunEachJobOnce: two nodes on one database share the jobs, and
// each job runs and takes effect exactly once.
func TestTwoNodesRunEachJobOnce(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	a := newEffectClient(t, url, db, "a", Config{Workers: 4})
	b := newEffectClient(t, url, db, "b", Config{Workers: 4})
	require.NoError(t, a.Start(ctx))
	require.NoError(t, b.Start(ctx))

	const n = 300
	tenant := crm.NewID()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		for i := range n {
			if err := a.InsertTx(ctx, tx, effectArgs{TenantID: tenant, Key: fmt.Sprint(i)}, persistence.JobOpts{}); err != nil {
				return err
			}
		}
		return nil
	}))
	require.Eventually(t, func() bool { return jobStates(t, db)["completed"] == n }, 60*time.Second, 50*time.Millisecond,
		"every job completes")
	require.Equal(t, map[string]int{"completed": n}, jobStates(t, db))
	require.Equal(t, n, count(t, db, `SELECT count(*) FROM test_job_effects`))
	require.Equal(t, n, count(t, db, `SELECT count(*) FROM test_job_runs`), "no job ran twice")
	require.Equal(t, n, count(t, db, `SELECT count(DISTINCT key) FROM test_job_runs`))
	byNode := map[string]int{}
	rows, err := db.Pool.Query(ctx, `SELECT node, count(*) FROM test_job_runs GROUP BY node`)
	require.NoError(t, err)
	for rows.Next() {
		var node string
		var k int
		require.NoError(t, rows.Scan(&node, &k))
		byNode[node] = k
	}
	require.NoError(t, rows.Err())
	t.Logf("jobs run per node: %v", byNode)
	require.Positive(t, byNode["a"], "node a did work")
	require.Positive(t, byNode["b"], "node b did work")
}

// TestKilledNodesJobRunsAgainElsewhere: a node SIGKILLed in the middle of a
// job (after its effect, before it told River) loses it for no longer than
// the rescue delay: another node runs it again, and the effect stays single.
func TestKilledNodesJobRunsAgainElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	// The job times out after 10 s and is rescued after 12 s on either node;
	// node a is killed well before its timeout.
	cfg := Config{JobTimeout: 10 * time.Second, RescueAfter: 12 * time.Second}
	b := newEffectClient(t, url, db, "b", cfg) // started once a holds the job
	tenant := crm.NewID()
	require.NoError(t, schedule(ctx, db, b, effectArgs{TenantID: tenant, Key: "held", Hold: true}, time.Time{}))

	logs, err := os.Create(filepath.Join(t.TempDir(), "node-a.log"))
	require.NoError(t, err)
	a := exec.Command(os.Args[0], "-test.run=^$")
	a.Env = append(os.Environ(), "CRM_JOBS_TEST_NODE="+url, "CRM_JOBS_TEST_NODE_NAME=a",
		"CRM_JOB_TIMEOUT="+cfg.JobTimeout.String(), "CRM_JOB_RESCUE_AFTER="+cfg.RescueAfter.String())
	a.Stdout, a.Stderr = logs, logs
	require.NoError(t, a.Start())
	t.Cleanup(func() {
		_ = a.Process.Kill()
		_ = a.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logs.Name())
			t.Logf("node a's log:\n%s", out)
		}
	})
	require.Eventually(t, func() bool {
		var n int
		err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM test_job_effects WHERE key = 'held' AND node = 'a'`).Scan(&n)
		})
		return err == nil && n == 1
	}, 30*time.Second, 20*time.Millisecond, "node a took the job and did its effect")
	require.Equal(t, map[string]int{"running": 1}, jobStates(t, db), "node a still holds the job")

	require.NoError(t, b.Start(ctx)) // two nodes now; a holds the job
	require.NoError(t, a.Process.Signal(syscall.SIGKILL))
	_ = a.Wait()
	killed := time.Now()

	// b becomes the leader once a's lease lapses (River: up to 15 s), its
	// rescuer finds the job running for longer than 12 s and retries it.
	require.Eventually(t, func() bool { return jobStates(t, db)["completed"] == 1 }, 90*time.Second, 100*time.Millisecond,
		"node b runs the job again")
	t.Logf("run again %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	runs := runsOf(t, db, "held")
	require.Len(t, runs, 2)
	require.Equal(t, []string{"a", "b"}, []string{runs[0].Node, runs[1].Node})
	require.Equal(t, []int{1, 2}, []int{runs[0].Attempt, runs[1].Attempt})
	var effects []string
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT node FROM test_job_effects WHERE key = 'held'`)
		if err != nil {
			return err
		}
		effects, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	require.Equal(t, []string{"a"}, effects, "the effect happened once, on the node that died")
}
