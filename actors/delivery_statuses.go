package actors

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"crm"
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
	err := e.recordEvents(ctx, in.TenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
		if err := tx.MarkInboxProcessed(ctx, in.InboxID); err != nil {
			return nil, err
		}
		m, changed, err := tx.ApplyStatus(ctx, in.ConnectionID, st.GetExternalMessageId(), status, at, statusErr)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return nil, tx.ParkStatus(ctx, in.ConnectionID, st.GetExternalMessageId(), status, at, statusErr)
		}
		for _, pe := range st.GetErrors() {
			if pe.GetCode() == optOutCode { // the customer stopped marketing messages
				if _, err := tx.SetContactOptOut(ctx, m.ContactID, true, "whatsapp 131050"); err != nil {
					return nil, err
				}
			}
		}
		if !changed {
			return nil, nil
		}
		ev, err := messageUpdated(ctx, tx, m)
		return []crm.TenantEvent{ev}, err
	})
	if err != nil {
		return err
	}
	e.metrics.processed.WithLabelValues("status").Inc()
	return nil
}

// applyParkedTo applies the statuses parked for a message that now exists.
func applyParkedTo(ctx context.Context, tx TenantStore, connection uuid.UUID, externalID string) error {
	parked, err := tx.TakeParkedStatuses(ctx, connection, externalID)
	if err != nil {
		return err
	}
	for _, p := range parked {
		if _, _, err := tx.ApplyStatus(ctx, connection, externalID, p.Status, p.OccurredAt, p.Error); err != nil {
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
		// A failure leaves the statuses parked for the next sweep.
		_ = e.recordEvents(ctx, r.TenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
			parked, err := tx.TakeParkedStatuses(ctx, r.ConnectionID, r.ExternalID)
			if err != nil {
				return nil, err
			}
			var last *crm.Message
			for _, p := range parked {
				m, changed, err := tx.ApplyStatus(ctx, r.ConnectionID, r.ExternalID, p.Status, p.OccurredAt, p.Error)
				if err != nil {
					return nil, err
				}
				if changed {
					last = m
				}
			}
			if last == nil {
				return nil, nil
			}
			ev, err := messageUpdated(ctx, tx, last)
			return []crm.TenantEvent{ev}, err
		})
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
	return e.recordEvents(ctx, in.TenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
		updated, err := tx.ApplyWatermark(ctx, in.ConnectionID, ChannelName(in.Event.GetChannel()), key,
			w.GetExternalMessageId(), status, upTo)
		if err != nil {
			return nil, err
		}
		events := make([]crm.TenantEvent, 0, len(updated))
		for _, m := range updated {
			ev, err := messageUpdated(ctx, tx, m)
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		}
		return events, tx.MarkInboxProcessed(ctx, in.InboxID)
	})
}

// connectionEvent records a connection's state change or account error and
// tells the tenant's consoles.
func (e *Engine) connectionEvent(ctx context.Context, in InboxItem) error {
	return e.recordEvents(ctx, in.TenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
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
		state, err := tx.RecordConnectionState(ctx, in.ConnectionID, status, lastError, e.cfg.Now())
		if err != nil {
			return nil, err
		}
		extra := map[string]any{}
		if qr := in.Event.GetConnectionState().GetQrCode(); qr != "" {
			extra["qr_code"] = qr
		}
		if code := in.Event.GetConnectionState().GetPairingCode(); code != "" {
			extra["pairing_code"] = code
		}
		ev, err := connectionUpdated(state, extra)
		if err != nil {
			return nil, err
		}
		return []crm.TenantEvent{ev}, tx.MarkInboxProcessed(ctx, in.InboxID)
	})
}
