package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"crm/actors"
	"crm/persistence/pgtest"
)

// TestInboundRefusedByItsGrainIsStoredOnceBySweeper: a grain that refuses
// an inbound event with an error that is not transient (ask does not ask
// again) leaves it to the sweeper: its failed attempt is counted, its inbox
// row pending, and once its claim is stale the sweeper takes the row back
// and the event is stored, once: one message, one conversation, one
// message.created event, the inbox row processed (DESIGN §5.1, §5.2).
func TestInboundRefusedByItsGrainIsStoredOnceBySweeper(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	// The first two inserts of a message fail, with an error PostgreSQL will
	// not take back (raise_exception): the group commit's, then the grain's
	// own transaction's. A sequence counts them, as it is not rolled back.
	_, err := db.Pool.Exec(ctx, `CREATE SEQUENCE refusals;
		CREATE FUNCTION refuse_twice() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF nextval('refusals') <= 2 THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_twice BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_twice()`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `GRANT USAGE ON SEQUENCE refusals TO PUBLIC`)
	require.NoError(t, err)

	reg := prometheus.NewRegistry()
	claim := 500 * time.Millisecond
	e, _ := startEngine(t, db, actors.EngineConfig{Registry: reg, ClaimTimeout: claim, SweepAfter: 50 * time.Millisecond}, "refused")
	tenant, conn := seedTenant(t, db, "refused")
	items := inboxTexts(t, db, tenant, conn, "5511900008888")(0, 1)
	e.Start(ctx)
	start := time.Now()
	e.Dispatch(ctx, items)

	type state struct{ messages, conversations, created, inbox, attempts int }
	read := func() state {
		var s state
		require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM conversations),
				(SELECT count(*) FROM tenant_events WHERE type = 'message.created'),
				(SELECT count(*) FROM inbound_events),
				(SELECT coalesce(max(attempts), 0) FROM inbound_events)`).
				Scan(&s.messages, &s.conversations, &s.created, &s.inbox, &s.attempts)
		}))
		return s
	}
	// The refusal is an attempt that failed, recorded on the row.
	require.Eventually(t, func() bool { return counter(t, reg, "crm_inbox_processed_total", "error") == 1 },
		10*time.Second, 10*time.Millisecond)
	require.Equal(t, state{inbox: 1, attempts: 1}, read(), "nothing stored, the row left pending for the sweeper")
	var lastError string
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT last_error FROM inbound_events`).Scan(&lastError)
	}))
	require.Contains(t, lastError, "conversation grain: internal", "the grain's own refusal, not a failed request")
	require.Contains(t, lastError, "refused for the test")

	// The sweeper takes it back once its claim is stale, and the grain
	// stores it; the row, processed, leaves the inbox.
	var s state
	require.Eventually(t, func() bool { s = read(); return s.inbox == 0 }, 20*time.Second, 20*time.Millisecond,
		"the sweeper took the row back and the event was stored")
	require.GreaterOrEqual(t, time.Since(start), claim, "taken back by the sweeper, not at once")
	require.Equal(t, state{messages: 1, conversations: 1, created: 1}, s, "stored exactly once")
	require.EqualValues(t, 1, counter(t, reg, "crm_inbox_processed_total", "stored"))
	require.EqualValues(t, 1, counter(t, reg, "crm_inbox_swept_total", ""), "the take-back is counted")
	require.Zero(t, counter(t, reg, "crm_dispatch_deferred_total", ""), "not a deferral: the queue had room")

	// Later sweeps find nothing more to take, and store nothing twice.
	require.Zero(t, e.Sweep(ctx))
	require.Equal(t, s, read())
	var inserts int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT last_value FROM refusals`).Scan(&inserts))
	require.Equal(t, 3, inserts, "refused by the group commit and by the grain alone, not asked again; stored on the sweeper's try")
}
