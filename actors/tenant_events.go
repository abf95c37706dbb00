package actors

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"crm"
)

// recordEvents is how the engine changes a tenant's data outside a
// conversation grain (notes, connection states, delivery statuses, media):
// change runs in one tenant transaction and returns the tenant events that
// tell of it; they are appended last, since appending takes the tenant's
// sequence lock, held until commit, and published once committed (never
// for a rolled-back change).
func (e *Engine) recordEvents(ctx context.Context, tenant uuid.UUID, change func(tx TenantStore) ([]crm.TenantEvent, error)) error {
	var events []crm.TenantEvent
	err := e.store.InTenant(ctx, tenant, func(tx TenantStore) error {
		var err error
		if events, err = change(tx); err != nil {
			return err
		}
		return tx.AppendTenantEvents(ctx, events)
	})
	if err != nil {
		return err
	}
	e.publish(tenant, events)
	return nil
}

// messageUpdated is message.updated with the conversation's visibility
// (assignee and team), so only those who may see it get it.
func messageUpdated(ctx context.Context, tx TenantStore, m *crm.Message) (crm.TenantEvent, error) {
	conv, err := tx.ConversationByID(ctx, m.ConversationID)
	if err != nil {
		return crm.TenantEvent{}, err
	}
	return messageEvent("message.updated", conv, m)
}

// connectionUpdated is connection.updated with the connection's stored
// state and what the caller adds (a QR code, a pairing code).
func connectionUpdated(state, extra map[string]any) (crm.TenantEvent, error) {
	for k, v := range extra {
		state[k] = v
	}
	raw, err := json.Marshal(state)
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding connection.updated: %w", err)
	}
	return crm.TenantEvent{Type: "connection.updated", Payload: raw}, nil
}
