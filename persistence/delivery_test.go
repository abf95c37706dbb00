package persistence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// TestDeliveryStatusesMoveAsCrmSays drives every status a message can hold
// through each way a status is written (a provider's report, our own send's
// outcome, a read watermark) and checks that the database moves it exactly
// when crm's rules say so: the SQL carries no ranking of its own.
func TestDeliveryStatusesMoveAsCrmSays(t *testing.T) {
	t.Parallel()
	f := newConvFixture(t)
	ctx := context.Background()
	convID := insertConversation(t, f)
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	n := 0
	// store keeps an outbound message at status from and returns it.
	store := func(tx pgx.Tx, from crm.DeliveryStatus) *crm.Message {
		n++
		ext := fmt.Sprintf("wamid.rule.%d", n)
		m := &crm.Message{TenantID: f.tenant, ConversationID: convID, ConnectionID: f.conn, ContactID: f.contact, Seq: int64(n),
			Direction: "outbound", Type: "text", Text: "x", ExternalID: &ext, Status: from, CreatedAt: base.Add(time.Duration(n) * time.Second)}
		existing, err := persistence.InsertMessage(ctx, tx, m)
		require.NoError(t, err)
		require.Nil(t, existing)
		return m
	}
	statusOf := func(tx pgx.Tx, id uuid.UUID) crm.DeliveryStatus {
		m, err := persistence.MessageByID(ctx, tx, f.tenant, id)
		require.NoError(t, err)
		return m.Status
	}
	want := func(from, next crm.DeliveryStatus, moves bool) crm.DeliveryStatus {
		if moves {
			return next
		}
		return from
	}

	require.NoError(t, f.db.TenantTx(ctx, f.tenant, func(tx pgx.Tx) error {
		for _, from := range crm.DeliveryStatuses() {
			for _, next := range crm.DeliveryStatuses() {
				m := store(tx, from)
				_, changed, err := persistence.ApplyStatus(ctx, tx, f.tenant, f.conn, *m.ExternalID, next, base, nil)
				require.NoError(t, err)
				require.Equal(t, from.CanAdvance(next), changed, "report %s → %s", from, next)
				require.Equal(t, want(from, next, from.CanAdvance(next)), statusOf(tx, m.ID), "report %s → %s", from, next)
			}
			for _, outcome := range []crm.DeliveryStatus{crm.DeliverySent, crm.DeliveryFailed} {
				m := store(tx, from)
				updated, err := persistence.UpdateOutbound(ctx, tx, m, "", outcome, nil, base)
				require.NoError(t, err)
				require.Equal(t, want(from, outcome, from.CanSettle(outcome)), updated.Status, "send %s → %s", from, outcome)
			}
			for _, seen := range []crm.DeliveryStatus{crm.DeliveryDelivered, crm.DeliveryRead} {
				m := store(tx, from)
				moves := (from == crm.DeliverySent || from == crm.DeliveryDelivered) && from.CanAdvance(seen)
				_, err := persistence.ApplyWatermark(ctx, tx, f.tenant, f.conn, "whatsapp", "5511987654321", "", seen, m.CreatedAt)
				require.NoError(t, err)
				require.Equal(t, want(from, seen, moves), statusOf(tx, m.ID), "watermark %s → %s", from, seen)
			}
		}
		return nil
	}))
}
