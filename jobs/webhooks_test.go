package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// webhookTenant makes a tenant with one subscription to every event, and
// appends n events after it.
func webhookTenant(t *testing.T, db *persistence.DB, n int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	tenant := crm.NewID()
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		plan := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO plans (id, name) VALUES ($1, $2)`, plan, "p-"+tenant.String()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, plan_id) VALUES ($1, 'T', $2, 't@example.com', $3)`,
			tenant, "t-"+tenant.String(), plan)
		return err
	}))
	sealer, err := crm.NewSealer(bytes.Repeat([]byte{'s'}, 32))
	require.NoError(t, err)
	_, err = db.CreateWebhookSubscription(ctx, tenant, persistence.AuditEntry{}, sealer, persistence.NewWebhookSubscription{
		URL: "https://hooks.example.com/x", Events: []string{"*"}, Secret: "whsec_0123456789abcdef"})
	require.NoError(t, err)
	appendEvents(t, db, tenant, n)
	return tenant
}

func appendEvents(t *testing.T, db *persistence.DB, tenant uuid.UUID, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		events := make([]crm.TenantEvent, n)
		for i := range events {
			events[i] = crm.TenantEvent{Type: "contact.created", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		}
		return persistence.AppendTenantEvents(ctx, tx, tenant, events)
	}))
}

func webhookCounts(t *testing.T, db *persistence.DB, tenant uuid.UUID) (deliveries, distinct, jobs int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_seq) FROM webhook_deliveries`).Scan(&deliveries, &distinct)
	}))
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'webhook_send' AND args->>'tenant_id' = $1`,
		tenant.String()).Scan(&jobs))
	return deliveries, distinct, jobs
}

// failingInserter is the real job client, made to fail after some inserts:
// a node that dies in the middle of a fan-out.
type failingInserter struct {
	next persistence.JobInserter
	left atomic.Int32
}

var errNodeDied = errors.New("the node died mid-way")

func (f *failingInserter) InsertTx(ctx context.Context, tx pgx.Tx, args persistence.JobArgs, opts persistence.JobOpts) error {
	if f.left.Add(-1) < 0 {
		return errNodeDied
	}
	return f.next.InsertTx(ctx, tx, args, opts)
}

// TestWebhookFanOutLosesNothingWhenItDies: a fan-out that fails half-way
// leaves no delivery, no job and the cursor where it was; the next one
// gives every event once.
func TestWebhookFanOutLosesNothingWhenItDies(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	c := newEffectClient(t, url, db, "a", Config{}) // not started: the jobs stay queued
	tenant := webhookTenant(t, db, 30)

	dying := &failingInserter{next: c}
	dying.left.Store(12)
	db.SetJobInserter(dying)
	_, err := db.FanOutWebhooks(ctx, tenant, 500)
	require.ErrorIs(t, err, errNodeDied)
	d, _, j := webhookCounts(t, db, tenant)
	require.Zero(t, d, "no delivery without its job")
	require.Zero(t, j)

	db.SetJobInserter(c)
	n, err := db.FanOutWebhooks(ctx, tenant, 500)
	require.NoError(t, err)
	require.Equal(t, 30, n)
	d, distinct, j := webhookCounts(t, db, tenant)
	require.Equal(t, []int{30, 30, 30}, []int{d, distinct, j})

	n, err = db.FanOutWebhooks(ctx, tenant, 500)
	require.NoError(t, err)
	require.Zero(t, n, "the cursor moved past them")
	behind, err := db.WebhookTenantsBehind(ctx)
	require.NoError(t, err)
	require.NotContains(t, behind, tenant)
}

// TestWebhookFanOutConcurrentNodes: nodes fanning out one tenant at once
// take turns on the subscriptions' lock; every event is given once.
func TestWebhookFanOutConcurrentNodes(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	c := newEffectClient(t, url, db, "a", Config{})
	db.SetJobInserter(c)
	tenant := webhookTenant(t, db, 0)

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for round := range 5 {
		appendEvents(t, db, tenant, 40)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.FanOutWebhooks(ctx, tenant, 25); err != nil {
					errs <- fmt.Errorf("round %d: %w", round, err)
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for {
		n, err := db.FanOutWebhooks(ctx, tenant, 500)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	d, distinct, j := webhookCounts(t, db, tenant)
	require.Equal(t, []int{200, 200, 200}, []int{d, distinct, j}, "deliveries, events, jobs")
}

// TestWebhookDeliveryPurge: finished deliveries past the retention go with
// their attempts; recent ones and pending ones stay.
func TestWebhookDeliveryPurge(t *testing.T) {
	t.Parallel()
	url, db := effectDB(t)
	ctx := context.Background()
	c := newEffectClient(t, url, db, "a", Config{})
	db.SetJobInserter(c)
	tenant := webhookTenant(t, db, 3)
	_, err := db.FanOutWebhooks(ctx, tenant, 500)
	require.NoError(t, err)
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET created_at = now() - interval '40 days',
			status = CASE WHEN event_seq = 1 THEN 'pending' ELSE 'succeeded' END WHERE event_seq < 3`)
		return err
	}))
	n, err := db.PurgeWebhookDeliveries(ctx, time.Now().Add(-WebhookDeliveryRetention))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	d, _, _ := webhookCounts(t, db, tenant)
	require.Equal(t, 2, d)
}

// TestWebhookErrorText: the logged error names neither the URL (its query
// may hold the receiver's token) nor the server's resolver.
func TestWebhookErrorText(t *testing.T) {
	t.Parallel()
	err := &url.Error{Op: "Post", URL: "https://x.invalid/hook?token=abc", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "x.invalid", Server: "10.0.0.53:53"}}}
	require.Equal(t, "lookup x.invalid: no such host", webhookErrorText(err))
	err = &url.Error{Op: "Post", URL: "https://x.example/hook?token=abc", Err: errors.New("connection refused")}
	require.Equal(t, "connection refused", webhookErrorText(err))
	require.Equal(t, "timed out", webhookErrorText(&url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}))
}
