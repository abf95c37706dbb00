package actors

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// applyStatus moves an outbound message's status forward, or parks it when
// the message is not stored yet. Statuses touch only the message row, so they
// skip the conversation grain; the forward-only rule is enforced by the update.
func (e *Engine) applyStatus(ctx context.Context, in InboxItem, st *crmpb.StatusUpdate) error {
	status := deliveryFromProto(st.GetStatus())
	at := e.cfg.Now().UTC()
	if st.GetTimestampMs() > 0 {
		at = time.UnixMilli(st.GetTimestampMs()).UTC()
	}
	var statusErr json.RawMessage
	if len(st.GetErrors()) > 0 {
		errs := make([]json.RawMessage, 0, len(st.GetErrors()))
		for _, pe := range st.GetErrors() {
			errs = append(errs, rawProto(pe))
		}
		statusErr = rawJSON(map[string]any{"errors": errs})
	}
	var events []crm.TenantEvent
	err := e.db.TenantTx(ctx, in.TenantID, func(tx pgx.Tx) error {
		if err := persistence.MarkInboxProcessed(ctx, tx, in.TenantID, in.InboxID); err != nil {
			return err
		}
		m, changed, err := persistence.ApplyStatus(ctx, tx, in.TenantID, in.ConnectionID, st.GetExternalMessageId(), status, at, statusErr)
		if err != nil {
			return err
		}
		if m == nil {
			return persistence.ParkStatus(ctx, tx, in.TenantID, in.ConnectionID, st.GetExternalMessageId(), status, at, statusErr)
		}
		if changed { // last: the tenant's sequence lock is held until commit
			ev, err := messageUpdatedEvent(ctx, tx, in.TenantID, m)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.metrics.processed.WithLabelValues("status").Inc()
	e.publish(in.TenantID, events)
	return nil
}

// messageUpdatedEvent records message.updated with the conversation's
// visibility (assignee and team) so only those who may see it get it.
func messageUpdatedEvent(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, m *crm.Message) (crm.TenantEvent, error) {
	conv, err := persistence.LoadConversationByID(ctx, tx, tenant, m.ConversationID)
	if err != nil {
		return crm.TenantEvent{}, err
	}
	ev := messageEvent("message.updated", conv, m)
	err = persistence.AppendTenantEvent(ctx, tx, tenant, &ev)
	return ev, err
}

// applyParkedTo applies the statuses parked for a message that now exists.
func applyParkedTo(ctx context.Context, tx pgx.Tx, tenant, connection uuid.UUID, externalID string) error {
	parked, err := persistence.TakeParkedStatuses(ctx, tx, tenant, connection, externalID)
	if err != nil {
		return err
	}
	for _, p := range parked {
		if _, _, err := persistence.ApplyStatus(ctx, tx, tenant, connection, externalID, p.Status, p.OccurredAt, p.Error); err != nil {
			return err
		}
	}
	return nil
}

// applyParked catches statuses parked in a race with the store of their
// message (each transaction saw nothing of the other).
func (e *Engine) applyParked(ctx context.Context) {
	ready, err := e.db.ParkedWithMessage(ctx, 500)
	if err != nil {
		return
	}
	for _, r := range ready {
		var events []crm.TenantEvent
		err := e.db.TenantTx(ctx, r.TenantID, func(tx pgx.Tx) error {
			parked, err := persistence.TakeParkedStatuses(ctx, tx, r.TenantID, r.ConnectionID, r.ExternalID)
			if err != nil {
				return err
			}
			var last *crm.Message
			for _, p := range parked {
				m, changed, err := persistence.ApplyStatus(ctx, tx, r.TenantID, r.ConnectionID, r.ExternalID, p.Status, p.OccurredAt, p.Error)
				if err != nil {
					return err
				}
				if changed {
					last = m
				}
			}
			if last != nil {
				ev, err := messageUpdatedEvent(ctx, tx, r.TenantID, last)
				if err != nil {
					return err
				}
				events = append(events, ev)
			}
			return nil
		})
		if err == nil {
			e.publish(r.TenantID, events)
		}
	}
}

// applyWatermark marks outbound messages read (or delivered) up to a
// Messenger/Instagram watermark.
func (e *Engine) applyWatermark(ctx context.Context, in InboxItem, w *crmpb.ReadWatermark) error {
	key := contactKey(w.GetContact())
	status := deliveryFromProto(w.GetStatus())
	if status != crm.DeliveryDelivered && status != crm.DeliveryRead {
		status = crm.DeliveryRead
	}
	upTo := time.UnixMilli(w.GetWatermarkMs()).UTC()
	if w.GetWatermarkMs() <= 0 {
		upTo = e.cfg.Now().UTC()
	}
	var events []crm.TenantEvent
	err := e.db.TenantTx(ctx, in.TenantID, func(tx pgx.Tx) error {
		updated, err := persistence.ApplyWatermark(ctx, tx, in.TenantID, in.ConnectionID, ChannelName(in.Event.GetChannel()), key,
			w.GetExternalMessageId(), status, upTo)
		if err != nil {
			return err
		}
		for _, m := range updated {
			ev, err := messageUpdatedEvent(ctx, tx, in.TenantID, m)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		return persistence.MarkInboxProcessed(ctx, tx, in.TenantID, in.InboxID)
	})
	if err != nil {
		return err
	}
	e.publish(in.TenantID, events)
	return nil
}

// connectionEvent records a connection's state change or account error and
// tells the tenant's consoles.
func (e *Engine) connectionEvent(ctx context.Context, in InboxItem) error {
	var events []crm.TenantEvent
	err := e.db.TenantTx(ctx, in.TenantID, func(tx pgx.Tx) error {
		var status, lastError string
		switch body := in.Event.GetEvent().(type) {
		case *crmpb.ChannelEvent_ConnectionState:
			switch body.ConnectionState.GetStatus() {
			case crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED:
				status = "connected"
			case crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING:
				status = "connecting"
			default:
				status = "disconnected"
			}
			lastError = body.ConnectionState.GetReason()
		case *crmpb.ChannelEvent_AccountError:
			status = "error"
			if errs := body.AccountError.GetErrors(); len(errs) > 0 {
				lastError = errs[0].GetTitle() + ": " + errs[0].GetMessage()
			}
		}
		payload, err := persistence.RecordConnectionState(ctx, tx, in.TenantID, in.ConnectionID, status, lastError, e.cfg.Now())
		if err != nil {
			return err
		}
		if qr := in.Event.GetConnectionState().GetQrCode(); qr != "" {
			payload["qr_code"] = qr
		}
		if code := in.Event.GetConnectionState().GetPairingCode(); code != "" {
			payload["pairing_code"] = code
		}
		raw, _ := json.Marshal(payload)
		ev := crm.TenantEvent{Type: "connection.updated", Payload: raw}
		if err := persistence.AppendTenantEvent(ctx, tx, in.TenantID, &ev); err != nil {
			return err
		}
		events = append(events, ev)
		return persistence.MarkInboxProcessed(ctx, tx, in.TenantID, in.InboxID)
	})
	if err != nil {
		return err
	}
	e.publish(in.TenantID, events)
	return nil
}
