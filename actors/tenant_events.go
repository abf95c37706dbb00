package actors

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
	"crm/persistence"
)

// recordEvents is how the engine changes a tenant's data outside a
// conversation grain (notes, connection states, delivery statuses, media):
// change runs in one tenant transaction and returns the tenant events that
// tell of it; they are appended last, since appending takes the tenant's
// sequence lock, held until commit, and published once committed (never
// for a rolled-back change).
func (e *Engine) recordEvents(ctx context.Context, tenant uuid.UUID, change func(tx pgx.Tx) ([]crm.TenantEvent, error)) error {
	var events []crm.TenantEvent
	err := e.db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		var err error
		if events, err = change(tx); err != nil {
			return err
		}
		return persistence.AppendTenantEvents(ctx, tx, tenant, events)
	})
	if err != nil {
		return err
	}
	e.publish(tenant, events)
	return nil
}

// messageUpdated is message.updated with the conversation's visibility
// (assignee and team), so only those who may see it get it.
func messageUpdated(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, m *crm.Message) (crm.TenantEvent, error) {
	conv, err := persistence.LoadConversationByID(ctx, tx, tenant, m.ConversationID)
	if err != nil {
		return crm.TenantEvent{}, err
	}
	return messageEvent("message.updated", conv, m), nil
}

// connectionUpdated is connection.updated with the connection's stored
// state and what the caller adds (a QR code, a pairing code).
func connectionUpdated(state, extra map[string]any) crm.TenantEvent {
	for k, v := range extra {
		state[k] = v
	}
	raw, _ := json.Marshal(state)
	return crm.TenantEvent{Type: "connection.updated", Payload: raw}
}
