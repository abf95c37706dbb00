package persistence_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestInboxGroupCommitDeduplicatesConcurrentDeliveries, as the engine role
// (one statement for every tenant of a batch) and as a login that is the
// tenant role itself (CRM_DB_TENANT_ROLE=-: one statement per tenant).
func TestInboxGroupCommitDeduplicatesConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	t.Run("engine role", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDB(t)
		testInboxDeduplicates(t, db, db)
	})
	t.Run("tenant role login", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		dbURL := pgtest.NewDatabase(t)
		db, err := persistence.Open(ctx, persistence.Config{URL: dbURL}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(db.Close)
		role := "crm_login_" + strings.ReplaceAll(crm.NewID().String(), "-", "")[:12]
		_, err = db.Pool.Exec(ctx, `CREATE ROLE `+role+` LOGIN IN ROLE crm_app`)
		require.NoError(t, err)
		u, err := url.Parse(dbURL)
		require.NoError(t, err)
		u.User = url.User(role)
		login, err := persistence.Open(ctx, persistence.Config{URL: u.String(), TenantRole: "-"}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(func() {
			login.Close()
			_, _ = db.Pool.Exec(context.Background(), `DROP ROLE IF EXISTS `+role)
		})
		require.False(t, login.EngineBatches())
		testInboxDeduplicates(t, db, login)
	})
}

// testInboxDeduplicates appends through writerDB's inbox and checks through db.
func testInboxDeduplicates(t *testing.T, db, writerDB *persistence.DB) {
	ctx := context.Background()
	tenantA, tenantB := createTenant(t, db, "a"), createTenant(t, db, "b")
	connA, connB := crm.NewID(), crm.NewID()
	w := persistence.NewInboxWriter(writerDB, persistence.InboxConfig{MaxBatch: 64, MaxDelay: 3 * time.Millisecond}, slog.New(slog.DiscardHandler))
	defer w.Close()

	// 200 distinct events, each delivered 3 times concurrently, across two tenants.
	const distinct, copies = 200, 3
	var fresh atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < distinct; i++ {
		for c := 0; c < copies; c++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				tenant, conn := tenantA, connA
				if i%2 == 1 {
					tenant, conn = tenantB, connB
				}
				receipts, err := w.Append(ctx, []persistence.InboxEvent{{TenantID: tenant, ConnectionID: conn, Provider: "meta",
					Kind: "message", DedupeKey: fmt.Sprintf("wamid.%d", i), Event: []byte(fmt.Sprintf(`{"n":%d}`, i))}})
				require.NoError(t, err)
				require.Len(t, receipts, 1)
				if !receipts[0].Duplicate {
					require.NotEqual(t, uuid.Nil, receipts[0].ID)
					fresh.Add(1)
				}
			}(i)
		}
	}
	wg.Wait()
	require.EqualValues(t, distinct, fresh.Load(), "exactly one delivery of each event is stored as new")

	count := func(tenant uuid.UUID) int {
		var n int
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events`).Scan(&n)
		}))
		return n
	}
	require.Equal(t, distinct/2, count(tenantA))
	require.Equal(t, distinct/2, count(tenantB))

	// A batch in one call with an internal duplicate.
	receipts, err := w.Append(ctx, []persistence.InboxEvent{
		{TenantID: tenantA, ConnectionID: connA, Provider: "meta", DedupeKey: "x1", Event: []byte(`{}`)},
		{TenantID: tenantA, ConnectionID: connA, Provider: "meta", DedupeKey: "x1", Event: []byte(`{}`)},
		{TenantID: tenantA, ConnectionID: connA, Provider: "meta", DedupeKey: "wamid.0", Event: []byte(`{}`)},
	})
	require.NoError(t, err)
	require.False(t, receipts[0].Duplicate)
	require.True(t, receipts[1].Duplicate)
	require.True(t, receipts[2].Duplicate)

	pending, err := db.ClaimPendingInbox(ctx, time.Now().Add(time.Minute), 1000)
	require.NoError(t, err)
	require.Len(t, pending, distinct+1)
	depth, err := db.InboxDepth(ctx)
	require.NoError(t, err)
	require.EqualValues(t, distinct+1, depth)

	require.NoError(t, db.TenantTx(ctx, tenantA, func(tx pgx.Tx) error {
		return persistence.MarkInboxProcessed(ctx, tx, tenantA, receipts[0].ID)
	}))
	depth, err = db.InboxDepth(ctx)
	require.NoError(t, err)
	require.EqualValues(t, distinct, depth)
}

func TestInboxRejectsIncompleteEventsAndClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	w := persistence.NewInboxWriter(db, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
	_, err := w.Append(ctx, []persistence.InboxEvent{{TenantID: crm.NewID(), ConnectionID: crm.NewID()}})
	require.Error(t, err)
	w.Close()
	w.Close()
	_, err = w.Append(ctx, []persistence.InboxEvent{{TenantID: crm.NewID(), ConnectionID: crm.NewID(), DedupeKey: "k", Event: []byte(`{}`)}})
	require.ErrorIs(t, err, persistence.ErrInboxClosed)
}

// BenchmarkInboxAppend measures durable, group-committed appends of
// webhook-sized events from many concurrent callers.
func BenchmarkInboxAppend(b *testing.B) {
	ctx := context.Background()
	db := pgtest.NewDB(b)
	tenant := crm.NewID()
	require.NoError(b, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		planID := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO plans (id, name) VALUES ($1, 'bench')`, planID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, plan_id) VALUES ($1, 'b', 'bench', 'b@b', $2)`, tenant, planID)
		return err
	}))
	conn := crm.NewID()
	w := persistence.NewInboxWriter(db, persistence.InboxConfig{}, slog.New(slog.DiscardHandler))
	defer w.Close()
	payload := []byte(`{"from":"5511987654321","id":"wamid.HBgLNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEQ0QjM2RjY0QjYwQzdBRTgA","timestamp":"1732800000","type":"text","text":{"body":"Olá, gostaria de saber o preço do produto"}}`)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := w.Append(ctx, []persistence.InboxEvent{{TenantID: tenant, ConnectionID: conn, Provider: "meta",
				Kind: "message", DedupeKey: fmt.Sprintf("wamid.%d", i), Event: payload}})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
