package actors

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"crm"
	crmpb "crm/proto"
)

// send stores an agent's (or an integration's) message as pending under its
// idempotency key, then hands it to the connection grain. A repeat of the
// same key answers the message already stored; nothing is sent twice. A
// person's message stops a chatbot running on the conversation.
func (g *conversationGrain) send(req *crmpb.SendMessage) *crmpb.SendResult {
	res := &crmpb.SendResult{}
	now := g.engine.cfg.Now().UTC()
	var job *crmpb.SendRequest
	var refused *crmpb.ResultError
	err := g.write(func(ctx context.Context, tx TenantStore) (*crm.Conversation, []crm.TenantEvent, error) {
		if key := req.GetIdempotencyKey(); key != "" {
			existing, err := tx.FindMessageByKey(ctx, "idempotency", uuid.Nil, key)
			if err != nil {
				return nil, nil, err
			}
			if existing != nil {
				res.Duplicate, res.MessageId, res.Seq, res.ConversationId = true, existing.ID.String(), existing.Seq, existing.ConversationID.String()
				return nil, nil, nil
			}
		}
		conv, err := g.current(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		isNew := false
		if conv == nil && req.GetOpenConversation() && req.GetConversationId() == "" {
			// The first message of a conversation opened from our side.
			if conv, err = g.opened(ctx, now); err != nil {
				return nil, nil, err
			}
			if req.GetVia() == "campaign" {
				// Not a conversation for the agents' queue until the
				// customer answers (an inbound message reopens it).
				conv.Status, conv.ResolvedAt = crm.ConversationResolved, &now
			}
			if err := tx.InsertConversation(ctx, conv); err != nil {
				return nil, nil, err
			}
			isNew = true
		}
		if conv == nil || (req.GetConversationId() != "" && conv.ID.String() != req.GetConversationId()) {
			refused = &crmpb.ResultError{Code: "not_found", Message: "conversation not found or already archived"}
			return nil, nil, errors.New(refused.Message)
		}
		// A campaign's message, like a bot's, leaves the conversation's
		// status and unread count as they are: no person answered.
		out, err := g.storeOutbound(ctx, tx, conv, req, now, req.GetVia() == "campaign")
		if err != nil {
			return nil, nil, err
		}
		if out.refused != nil {
			refused = out.refused
			return nil, nil, errors.New(refused.Message)
		}
		if out.existing != nil {
			existing := out.existing
			res.Duplicate, res.MessageId, res.Seq, res.ConversationId = true, existing.ID.String(), existing.Seq, existing.ConversationID.String()
			return nil, nil, nil
		}
		if id, err := uuid.Parse(req.GetCampaignId()); err == nil {
			if err := tx.LinkCampaignRecipient(ctx, id, g.contact, out.message.ID, conv.ID); err != nil {
				return nil, nil, err
			}
		}
		if conv.BotActive && out.message.SentBy != nil {
			// A person answers: the bot steps aside.
			if err := g.endBot(ctx, tx, conv, botStopped, now); err != nil {
				return nil, nil, err
			}
		}
		if err := tx.SaveConversation(ctx, conv); err != nil {
			return nil, nil, err
		}
		created, err := messageCreated(conv, out.message)
		if err != nil {
			return nil, nil, err
		}
		events := []crm.TenantEvent{created}
		if isNew {
			opened, err := conversationEvent("conversation.created", conv)
			if err != nil {
				return nil, nil, err
			}
			events = []crm.TenantEvent{opened, created}
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return nil, nil, err
		}
		m := out.message
		res.ConversationId, res.MessageId, res.Seq, res.Status = conv.ID.String(), m.ID.String(), m.Seq, crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING
		job = out.job
		return conv, events, nil
	})
	switch {
	case refused != nil:
		res.Error = refused
	case err != nil:
		res.Error = resultError(err)
	}
	if job != nil {
		go g.engine.handToConnection(job)
	}
	return res
}

// opened is a new conversation for a message from our side: on the
// connection's channel, open, its 24-hour window closed (only a template
// may open it on WhatsApp).
func (g *conversationGrain) opened(ctx context.Context, now time.Time) (*crm.Conversation, error) {
	if g.engine.cfg.Connections == nil {
		return nil, errors.New("no connection source: a conversation cannot be opened here")
	}
	p, err := g.engine.cfg.Connections.Provider(ctx, g.tenant, g.connection)
	if err != nil {
		return nil, err
	}
	conv, _ := g.openFor(nil, p.Channel(), nil) // ours to start: no team queue (a campaign would flood it)
	conv.LastActivityAt = now
	return conv, nil
}

// outbound is one message from our side stored in a transaction: the
// message and the connection grain's request, or the message already
// stored under its idempotency key, or why it was refused.
type outbound struct {
	message  *crm.Message
	job      *crmpb.SendRequest
	existing *crm.Message
	refused  *crmpb.ResultError
}

// storeOutbound checks and stores one message from our side in tx, as
// pending, and moves conv past it (the caller saves conv and appends the
// events). A bot's message leaves the conversation's unread count and
// status as they are: no person has answered yet.
func (g *conversationGrain) storeOutbound(ctx context.Context, tx TenantStore, conv *crm.Conversation, req *crmpb.SendMessage, now time.Time, byBot bool) (outbound, error) {
	msgType := req.GetType()
	if msgType == "" {
		msgType = "text"
	}
	if msgType != "template" && !conv.WindowOpen(now) {
		return outbound{refused: &crmpb.ResultError{Code: "window_closed",
			Message: "the 24-hour window is closed: only an approved template may be sent"}}, nil
	}
	if req.GetMediaId() != "" {
		// Media of another tenant (hidden by RLS) or none at all: the
		// message would go out broken, so it is not stored.
		mediaID, err := uuid.Parse(req.GetMediaId())
		exists := false
		if err == nil {
			if exists, err = tx.MediaExists(ctx, mediaID); err != nil {
				return outbound{}, err
			}
		}
		if !exists {
			return outbound{refused: &crmpb.ResultError{Code: "media_not_found", Message: "no media with this id; upload the file first"}}, nil
		}
	}
	to, err := tx.ContactExternalID(ctx, g.contact, conv.Channel)
	if err != nil {
		return outbound{}, err
	}
	m := &crm.Message{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact, ConversationID: conv.ID,
		Direction: "outbound", Type: msgType, Text: req.GetText(), Status: crm.DeliveryPending, CreatedAt: now, Via: "agent"}
	if key := req.GetIdempotencyKey(); key != "" {
		m.IdempotencyKey = &key
	}
	if uid, err := uuid.Parse(req.GetSenderUserId()); err == nil && !byBot {
		m.SentBy = &uid
	} else {
		m.Via = "bot"
	}
	if req.GetVia() != "" {
		m.Via = req.GetVia()
	}
	if req.GetMediaId() != "" {
		m.Media = rawJSON(map[string]any{"media_id": req.GetMediaId()})
	}
	if len(req.GetTemplateJson()) > 0 {
		m.Template = json.RawMessage(req.GetTemplateJson())
	}
	content, err := g.content(ctx, tx, conv, msgType, req.GetContentJson(), m)
	if err != nil {
		return outbound{}, err
	}
	replyExternal := ""
	if rid, err := uuid.Parse(req.GetReplyToId()); err == nil {
		target, err := tx.MessageByID(ctx, rid)
		if err != nil {
			return outbound{}, err
		}
		if target.ConversationID != conv.ID {
			return outbound{}, crm.NotFound("reply_to message")
		}
		m.ReplyToID = &rid
		if target.ExternalID != nil {
			replyExternal = *target.ExternalID
			m.ReplyToExternalID = replyExternal
		}
	}
	if byBot {
		applyBotOutbound(conv, m, now)
	} else {
		applyOutbound(conv, m, now)
	}
	if existing, err := tx.InsertMessage(ctx, m); err != nil {
		return outbound{}, err
	} else if existing != nil {
		return outbound{existing: existing}, nil
	}
	job := &crmpb.SendRequest{TenantId: g.tenant.String(), ConnectionId: g.connection.String(), ConversationId: conv.ID.String(),
		MessageId: m.ID.String(), To: to, Type: msgType, Text: m.Text, MediaId: req.GetMediaId(),
		ReplyToExternalId: replyExternal, TemplateJson: req.GetTemplateJson(), ContentJson: content}
	return outbound{message: m, job: job}, nil
}

// handToConnection gives a stored send to its connection grain, retrying
// through membership changes.
func (e *Engine) handToConnection(job *crmpb.SendRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.request(ctx, job.GetTenantId()+"/"+job.GetConnectionId(), KindConnection, job); err != nil {
		e.log.Error("send not handed to its connection; it stays pending", "message_id", job.GetMessageId(), "error", err)
	}
}

// handInOrder gives a step's sends to their connection one after the other,
// so the customer reads a bot's messages in the order the flow wrote them.
func (e *Engine) handInOrder(jobs []*crmpb.SendRequest) {
	if len(jobs) == 0 {
		return
	}
	go func() {
		for _, job := range jobs {
			e.handToConnection(job)
		}
	}()
}

// resendStale hands again to their connection the sends left pending by a
// node that died after storing them (guarantee 5: a send is never lost).
// A message is taken only long after any attempt could still be retrying,
// so a live send is not doubled; one accepted by the provider just before its
// node died, before the answer was recorded, can be (the provider has no
// idempotency key to stop it).
func (e *Engine) resendStale(ctx context.Context) {
	stale, err := e.db.TakeStaleSends(ctx, e.cfg.Now().Add(-e.cfg.StaleSendAfter), 200)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("looking for stale sends", "error", err)
		}
		return
	}
	for _, m := range stale {
		job, err := e.sendJob(ctx, m)
		if err != nil {
			e.log.Warn("stale send not rebuilt", "message_id", m.ID, "error", err)
			continue
		}
		e.metrics.sends.WithLabelValues("resent_stale").Inc()
		go e.handToConnection(job)
	}
}

// sendJob rebuilds the connection grain's request from a stored message.
func (e *Engine) sendJob(ctx context.Context, m *crm.Message) (*crmpb.SendRequest, error) {
	job := &crmpb.SendRequest{TenantId: m.TenantID.String(), ConnectionId: m.ConnectionID.String(),
		ConversationId: m.ConversationID.String(), MessageId: m.ID.String(), Type: m.Type, Text: m.Text,
		ReplyToExternalId: m.ReplyToExternalID, TemplateJson: m.Template}
	var media struct {
		MediaID string `json:"media_id"`
	}
	if len(m.Media) > 0 && json.Unmarshal(m.Media, &media) == nil {
		job.MediaId = media.MediaID
	}
	switch m.Type {
	case "location":
		job.ContentJson = m.Location
	case "contacts":
		job.ContentJson = m.Contacts
	case "reaction":
		job.ContentJson = m.Reaction
	case "interactive":
		job.ContentJson = m.Interactive
	}
	err := e.store.InTenant(ctx, m.TenantID, func(tx TenantStore) error {
		conv, err := tx.ConversationByID(ctx, m.ConversationID)
		if err != nil {
			return err
		}
		job.To, err = tx.ContactExternalID(ctx, m.ContactID, conv.Channel)
		return err
	})
	return job, err
}
