package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// SendInput is an agent's message to send.
type SendInput struct {
	Type           string
	Text           string
	MediaID        *uuid.UUID
	Template       json.RawMessage
	ReplyToID      *uuid.UUID
	IdempotencyKey string
	// Content is the location, contacts, reaction or interactive content.
	Content json.RawMessage
}

// Send asks the conversation's grain to store and send a message. A repeat
// of the idempotency key returns the message stored the first time.
func (e *Engine) Send(ctx context.Context, p crm.Principal, conv *crm.Conversation, in SendInput) (*crmpb.SendResult, error) {
	req := &crmpb.SendMessage{
		Conversation:   ref(conv),
		ConversationId: conv.ID.String(),
		IdempotencyKey: in.IdempotencyKey,
		SenderUserId:   p.UserID.String(),
		Type:           in.Type,
		Text:           in.Text,
		TemplateJson:   in.Template,
		ContentJson:    in.Content,
	}
	if in.MediaID != nil {
		req.MediaId = in.MediaID.String()
	}
	if in.ReplyToID != nil {
		req.ReplyToId = in.ReplyToID.String()
	}
	res, err := ask[*crmpb.SendResult](ctx, e, identityOf(conv), KindConversation, req)
	if err != nil {
		return nil, err
	}
	if res.GetError() != nil {
		return nil, commandError(res.GetError())
	}
	return res, nil
}

// Assign changes a conversation's assignee and team.
func (e *Engine) Assign(ctx context.Context, p crm.Principal, conv *crm.Conversation, assignee, team *uuid.UUID, unassign, clearTeam bool) (*crmpb.CommandResult, error) {
	req := &crmpb.Assign{Conversation: ref(conv), ActorUserId: p.UserID.String(), Unassign: unassign, ClearTeam: clearTeam}
	if assignee != nil {
		req.AssigneeId = assignee.String()
	}
	if team != nil {
		req.TeamId = team.String()
	}
	return e.command(ctx, conv, req)
}

// ChangeStatus moves a conversation to another status.
func (e *Engine) ChangeStatus(ctx context.Context, p crm.Principal, conv *crm.Conversation, status string) (*crmpb.CommandResult, error) {
	st, err := crm.ParseConversationStatus(status)
	if err != nil {
		return nil, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{"status": "must be open, in_progress, waiting, resolved or archived"}})
	}
	return e.command(ctx, conv, &crmpb.ChangeStatus{Conversation: ref(conv), ActorUserId: p.UserID.String(), Status: statusToProto(st)})
}

// MarkRead clears a conversation's unread count.
func (e *Engine) MarkRead(ctx context.Context, p crm.Principal, conv *crm.Conversation) (*crmpb.CommandResult, error) {
	return e.command(ctx, conv, &crmpb.MarkRead{Conversation: ref(conv), UserId: p.UserID.String()})
}

func (e *Engine) command(ctx context.Context, conv *crm.Conversation, msg any) (*crmpb.CommandResult, error) {
	res, err := ask[*crmpb.CommandResult](ctx, e, identityOf(conv), KindConversation, msg)
	if err != nil {
		return nil, err
	}
	if res.GetError() != nil {
		return nil, commandError(res.GetError())
	}
	return res, nil
}

// AddNote stores an internal note and tells the consoles that see the conversation.
func (e *Engine) AddNote(ctx context.Context, p crm.Principal, conv *crm.Conversation, text string) (*persistence.Note, error) {
	note := &persistence.Note{ConversationID: conv.ID, AuthorID: &p.UserID, Text: text}
	err := e.recordEvents(ctx, conv.TenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
		if err := tx.InsertNote(ctx, note); err != nil {
			return nil, err
		}
		ev, err := noteCreated(conv, note)
		if err != nil {
			return nil, err
		}
		return []crm.TenantEvent{ev}, nil
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// noteCreated is the tenant event of an internal note.
func noteCreated(conv *crm.Conversation, note *persistence.Note) (crm.TenantEvent, error) {
	payload, err := json.Marshal(note)
	if err != nil {
		return crm.TenantEvent{}, fmt.Errorf("encoding note.created: %w", err)
	}
	id := conv.ID
	return crm.TenantEvent{Type: "note.created", ConversationID: &id, AssigneeID: conv.AssigneeID, TeamID: conv.TeamID, Payload: payload}, nil
}

func ref(c *crm.Conversation) *crmpb.ConversationRef {
	return &crmpb.ConversationRef{TenantId: c.TenantID.String(), ConnectionId: c.ConnectionID.String(), ContactId: c.ContactID.String()}
}

func identityOf(c *crm.Conversation) string {
	return ConversationIdentity(c.TenantID, c.ConnectionID, c.ContactID)
}

// commandError turns a grain's refusal into the API's coded error.
func commandError(e *crmpb.ResultError) error {
	switch e.GetCode() {
	case "window_closed":
		return crm.NewError(crm.ErrUnprocessable, "window_closed", e.GetMessage(), nil)
	case "invalid_transition", "bot_active", "bot_not_active":
		return crm.NewError(crm.ErrConflict, e.GetCode(), e.GetMessage(), nil)
	case "not_found":
		return crm.NotFound("conversation")
	case "invalid_assignee", "invalid_team", "invalid_reference", "invalid_input":
		return crm.NewError(crm.ErrInvalid, e.GetCode(), e.GetMessage(), nil)
	case "validation_failed":
		// "field: message", as the grain words it.
		field, msg, ok := strings.Cut(e.GetMessage(), ": ")
		if !ok {
			return crm.NewError(crm.ErrInvalid, e.GetCode(), e.GetMessage(), nil)
		}
		return crm.NewError(crm.ErrUnprocessable, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{field: msg}})
	case "no_channel_identity", "media_not_found":
		return crm.NewError(crm.ErrUnprocessable, e.GetCode(), e.GetMessage(), nil)
	}
	return fmt.Errorf("conversation grain: %s: %s", e.GetCode(), e.GetMessage())
}

// SetLabels replaces a conversation's labels, through its grain.
func (e *Engine) SetLabels(ctx context.Context, p crm.Principal, conv *crm.Conversation, labelIDs []uuid.UUID) error {
	req := &crmpb.SetLabels{Conversation: ref(conv), ActorUserId: p.UserID.String(), ConversationId: conv.ID.String(),
		LabelIds: make([]string, len(labelIDs))}
	for i, id := range labelIDs {
		req.LabelIds[i] = id.String()
	}
	_, err := e.command(ctx, conv, req)
	return err
}

// RecordConnectionState stores a connection's health and tells the consoles.
func (e *Engine) RecordConnectionState(ctx context.Context, tenantID, connectionID uuid.UUID, status, lastError string, extra map[string]any) error {
	return e.recordEvents(ctx, tenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
		state, err := tx.RecordConnectionState(ctx, connectionID, status, lastError, e.cfg.Now())
		if err != nil {
			return nil, err
		}
		ev, err := connectionUpdated(state, extra)
		if err != nil {
			return nil, err
		}
		return []crm.TenantEvent{ev}, nil
	})
}

// BotInput hands the end of a chatbot wait (a delay, a question's answer
// time, a webhook's answer) to the conversation's grain. It implements
// jobs.BotWaker: a late or repeated input changes nothing.
func (e *Engine) BotInput(ctx context.Context, w crm.BotWaitRef, kind string, status int, body []byte) error {
	req := &crmpb.BotInput{Conversation: &crmpb.ConversationRef{TenantId: w.TenantID.String(), ConnectionId: w.ConnectionID.String(),
		ContactId: w.ContactID.String()}, ConversationId: w.ConversationID.String(), SessionId: w.SessionID.String(),
		WaitId: int32(w.WaitID), Kind: kind, Status: int32(status), Body: body}
	res, err := ask[*crmpb.CommandResult](ctx, e, ConversationIdentity(w.TenantID, w.ConnectionID, w.ContactID), KindConversation, req)
	if err != nil {
		return err
	}
	if re := res.GetError(); re != nil {
		return fmt.Errorf("chatbot %s input of session %s: %s: %s", kind, w.SessionID, re.GetCode(), re.GetMessage())
	}
	return nil
}

// StopBot stops the chatbot running on a conversation (409 bot_not_active
// when none runs).
func (e *Engine) StopBot(ctx context.Context, p crm.Principal, conv *crm.Conversation) (*crmpb.CommandResult, error) {
	return e.command(ctx, conv, &crmpb.BotControl{Conversation: ref(conv), ActorUserId: p.UserID.String(),
		ConversationId: conv.ID.String(), Stop: true})
}

// StartBot hands a conversation to a published flow, from its start (409
// bot_active when a bot already runs, 422 when the flow is not published).
func (e *Engine) StartBot(ctx context.Context, p crm.Principal, conv *crm.Conversation, flowID uuid.UUID) (*crmpb.CommandResult, error) {
	return e.command(ctx, conv, &crmpb.BotControl{Conversation: ref(conv), ActorUserId: p.UserID.String(),
		ConversationId: conv.ID.String(), StartFlowId: flowID.String()})
}

// SendScheduled sends a scheduled message through its conversation's grain,
// once: the message's id is the send's idempotency key, so a job run twice
// answers the message stored the first time. Without a conversation, or
// when the one it named was archived meanwhile, it goes to the contact's
// live conversation on the connection, or opens one. A refusal that will
// not change (the window closed, the media gone) is crm's coded error;
// other errors are worth retrying.
func (e *Engine) SendScheduled(ctx context.Context, tenantID uuid.UUID, m crm.ScheduledMessage) (uuid.UUID, error) {
	req := &crmpb.SendMessage{
		Conversation:     &crmpb.ConversationRef{TenantId: tenantID.String(), ConnectionId: m.ConnectionID.String(), ContactId: m.ContactID.String()},
		IdempotencyKey:   "scheduled:" + m.ID.String(),
		Type:             m.Message.Type,
		Text:             m.Message.Text,
		TemplateJson:     m.Message.Template,
		Via:              "schedule",
		OpenConversation: true,
	}
	if m.CreatedBy != nil {
		req.SenderUserId = m.CreatedBy.String()
	}
	if m.Message.MediaID != nil {
		req.MediaId = m.Message.MediaID.String()
	}
	res, err := ask[*crmpb.SendResult](ctx, e, ConversationIdentity(tenantID, m.ConnectionID, m.ContactID), KindConversation, req)
	if err != nil {
		return uuid.Nil, err
	}
	if res.GetError() != nil {
		return uuid.Nil, commandError(res.GetError())
	}
	id, err := uuid.Parse(res.GetMessageId())
	if err != nil {
		return uuid.Nil, fmt.Errorf("scheduled message %s: the grain answered message id %q", m.ID, res.GetMessageId())
	}
	return id, nil
}
