package actors

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"crm"
	"crm/channels"
	"crm/persistence"
	crmpb "crm/proto"
)

// send stores an agent's (or bot's) message as pending under its idempotency
// key, then hands it to the connection grain. A repeat of the same key
// answers the message already stored; nothing is sent twice.
func (g *conversationGrain) send(req *crmpb.SendMessage) *crmpb.SendResult {
	res := &crmpb.SendResult{}
	now := g.engine.cfg.Now().UTC()
	var job *crmpb.SendRequest
	var refused *crmpb.ResultError
	err := g.write(func(ctx context.Context, tx pgx.Tx) (*crm.Conversation, []crm.TenantEvent, error) {
		if key := req.GetIdempotencyKey(); key != "" {
			existing, err := persistence.FindMessageByKey(ctx, tx, g.tenant, "idempotency", uuid.Nil, key)
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
		if conv == nil || (req.GetConversationId() != "" && conv.ID.String() != req.GetConversationId()) {
			refused = &crmpb.ResultError{Code: "not_found", Message: "conversation not found or already archived"}
			return nil, nil, errors.New(refused.Message)
		}
		msgType := req.GetType()
		if msgType == "" {
			msgType = "text"
		}
		if msgType != "template" && !conv.WindowOpen(now) {
			refused = &crmpb.ResultError{Code: "window_closed",
				Message: "the 24-hour window is closed: only an approved template may be sent"}
			return nil, nil, errors.New(refused.Message)
		}
		if req.GetMediaId() != "" {
			// Media of another tenant (hidden by RLS) or none at all: the
			// message would go out broken, so it is not stored.
			mediaID, err := uuid.Parse(req.GetMediaId())
			exists := false
			if err == nil {
				if exists, err = persistence.MediaExists(ctx, tx, g.tenant, mediaID); err != nil {
					return nil, nil, err
				}
			}
			if !exists {
				refused = &crmpb.ResultError{Code: "media_not_found", Message: "no media with this id; upload the file first"}
				return nil, nil, errors.New(refused.Message)
			}
		}
		to, err := persistence.ContactExternalID(ctx, tx, g.tenant, g.contact, conv.Channel)
		if err != nil {
			return nil, nil, err
		}
		m := &crm.Message{TenantID: g.tenant, ConnectionID: g.connection, ContactID: g.contact, ConversationID: conv.ID,
			Direction: "outbound", Type: msgType, Text: req.GetText(), Status: crm.DeliveryPending, CreatedAt: now, Via: "agent"}
		if key := req.GetIdempotencyKey(); key != "" {
			m.IdempotencyKey = &key
		}
		if uid, err := uuid.Parse(req.GetSenderUserId()); err == nil {
			m.SentBy = &uid
		} else {
			m.Via = "bot"
		}
		if req.GetMediaId() != "" {
			m.Media = rawJSON(map[string]any{"media_id": req.GetMediaId()})
		}
		if len(req.GetTemplateJson()) > 0 {
			m.Template = json.RawMessage(req.GetTemplateJson())
		}
		content, err := g.content(ctx, tx, conv, msgType, req.GetContentJson(), m)
		if err != nil {
			return nil, nil, err
		}
		replyExternal := ""
		if rid, err := uuid.Parse(req.GetReplyToId()); err == nil {
			target, err := persistence.MessageByID(ctx, tx, g.tenant, rid)
			if err != nil {
				return nil, nil, err
			}
			if target.ConversationID != conv.ID {
				return nil, nil, crm.NotFound("reply_to message")
			}
			m.ReplyToID = &rid
			if target.ExternalID != nil {
				replyExternal = *target.ExternalID
				m.ReplyToExternalID = replyExternal
			}
		}
		conv.LastSeq++
		m.Seq = conv.LastSeq
		conv.LastMessageAt, conv.LastActivityAt = &now, now
		conv.LastMessagePreview, conv.LastMessageDirection = preview(m), "outbound"
		conv.UnreadCount = 0
		if conv.FirstResponseAt == nil && m.SentBy != nil {
			conv.FirstResponseAt = &now
		}
		if next := conv.Status.AfterReply(); next != conv.Status {
			conv.Status, conv.ResolvedAt = next, nil
		}
		if existing, err := persistence.InsertMessage(ctx, tx, m); err != nil {
			return nil, nil, err
		} else if existing != nil {
			res.Duplicate, res.MessageId, res.Seq, res.ConversationId = true, existing.ID.String(), existing.Seq, existing.ConversationID.String()
			return nil, nil, nil
		}
		if err := persistence.SaveConversation(ctx, tx, conv); err != nil {
			return nil, nil, err
		}
		created, err := messageCreated(conv, m)
		if err != nil {
			return nil, nil, err
		}
		events := []crm.TenantEvent{created}
		if err := appendEvents(ctx, tx, g.tenant, events); err != nil {
			return nil, nil, err
		}
		res.ConversationId, res.MessageId, res.Seq, res.Status = conv.ID.String(), m.ID.String(), m.Seq, crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING
		job = &crmpb.SendRequest{TenantId: g.tenant.String(), ConnectionId: g.connection.String(), ConversationId: conv.ID.String(),
			MessageId: m.ID.String(), To: to, Type: msgType, Text: m.Text, MediaId: req.GetMediaId(),
			ReplyToExternalId: replyExternal, TemplateJson: req.GetTemplateJson(), ContentJson: content}
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

// handToConnection gives a stored send to its connection grain, retrying
// through membership changes.
func (e *Engine) handToConnection(job *crmpb.SendRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.request(ctx, job.GetTenantId()+"/"+job.GetConnectionId(), KindConnection, job); err != nil {
		e.log.Error("send not handed to its connection; it stays pending", "message_id", job.GetMessageId(), "error", err)
	}
}

// connectionGrain owns a connection's provider client and paces its sends
// (token bucket, default 80/s). Sends run concurrently under the limiter;
// retryable errors back off exponentially with jitter.
type connectionGrain struct {
	engine             *Engine
	tenant, connection uuid.UUID
	limiter            *rate.Limiter
}

func newConnectionGrain(e *Engine) *connectionGrain {
	return &connectionGrain{engine: e, limiter: rate.NewLimiter(rate.Limit(e.cfg.SendRate), max(1, int(e.cfg.SendRate)))}
}

func (g *connectionGrain) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		parts := splitTwo(msg.Identity.Identity)
		var err, err2 error
		g.tenant, err = uuid.Parse(parts[0])
		g.connection, err2 = uuid.Parse(parts[1])
		if err = errors.Join(err, err2); err != nil {
			g.engine.log.Error("connection grain with a bad identity", "identity", msg.Identity.Identity, "error", err)
			ctx.Stop(ctx.Self())
			return
		}
		g.engine.metrics.activations.WithLabelValues(KindConnection).Inc()
		ctx.SetReceiveTimeout(g.engine.cfg.PassivateAfter)
	case *actor.ReceiveTimeout:
		ctx.Poison(ctx.Self())
	case *crmpb.SendRequest:
		ctx.Respond(&crmpb.SendResponse{MessageId: msg.GetMessageId(), Status: crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING})
		go g.deliver(msg)
	}
}

func splitTwo(s string) [2]string {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return [2]string{s[:i], s[i+1:]}
		}
	}
	return [2]string{s, ""}
}

// deliver calls the provider until the send is accepted, refused for good,
// or out of attempts, and records the outcome on the message.
func (g *connectionGrain) deliver(job *crmpb.SendRequest) {
	e := g.engine
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	messageID, err := uuid.Parse(job.GetMessageId())
	if err != nil {
		e.log.Error("send with a bad message id not delivered", "message_id", job.GetMessageId(), "error", err)
		return
	}
	out, err := g.outbound(ctx, job)
	if err != nil {
		g.record(ctx, messageID, "", err)
		return
	}
	// A tenant suspended or unlicensed since the message was accepted: its
	// sends are refused with the reason, never half-sent.
	if err := e.MayI(ctx, g.tenant, ActionSend); err != nil {
		g.record(ctx, messageID, "", &channels.SendError{Kind: channels.Permanent, Message: "not sent: " + err.Error()})
		return
	}
	provider, err := e.cfg.Connections.Provider(ctx, g.tenant, g.connection)
	if err != nil {
		g.record(ctx, messageID, "", &channels.SendError{Kind: channels.Permanent, Message: "connection unavailable: " + err.Error()})
		return
	}
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if err := g.limiter.Wait(ctx); err != nil {
			g.record(ctx, messageID, "", &channels.SendError{Kind: channels.Retryable, Message: "gave up waiting for the rate limit", Err: err})
			return
		}
		result, err := provider.Send(ctx, out)
		if err == nil {
			e.metrics.sends.WithLabelValues("sent").Inc()
			g.record(ctx, messageID, result.ExternalID, nil)
			return
		}
		if !channels.IsRetryable(err) || attempt >= e.cfg.SendAttempts {
			e.metrics.sends.WithLabelValues(channels.KindOf(err).String()).Inc()
			g.record(ctx, messageID, "", err)
			return
		}
		e.metrics.sends.WithLabelValues("retry").Inc()
		wait := backoff + time.Duration(rand.Int64N(int64(backoff)))
		if after, ok := channels.RetryAfter(err); ok && after > wait {
			wait = after
		}
		select {
		case <-ctx.Done():
			g.record(ctx, messageID, "", err)
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// outbound builds the provider message from the send request.
func (g *connectionGrain) outbound(ctx context.Context, job *crmpb.SendRequest) (*channels.OutboundMessage, error) {
	out := &channels.OutboundMessage{To: job.GetTo(), Type: channels.OutboundType(job.GetType()), ReplyTo: job.GetReplyToExternalId()}
	switch out.Type {
	case channels.OutText:
		out.Text = &channels.OutboundText{Body: job.GetText()}
	case channels.OutImage, channels.OutAudio, channels.OutVideo, channels.OutDocument, channels.OutSticker:
		link := job.GetMediaUrl()
		if link == "" && job.GetMediaId() != "" && g.engine.cfg.MediaLink != nil {
			mediaID, err := uuid.Parse(job.GetMediaId())
			if err != nil {
				return nil, &channels.SendError{Kind: channels.Permanent, Message: "bad media id"}
			}
			if link, err = g.engine.cfg.MediaLink(ctx, g.tenant, mediaID); err != nil {
				return nil, &channels.SendError{Kind: channels.Permanent, Message: "media unavailable: " + err.Error()}
			}
		}
		out.Media = &channels.OutboundMedia{Link: link, Caption: job.GetText()}
	case channels.OutTemplate:
		tpl, err := channels.ParseTemplateJSON(job.GetTemplateJson())
		if err != nil {
			return nil, &channels.SendError{Kind: channels.Permanent, Message: "bad template: " + err.Error()}
		}
		out.Template = tpl
	case channels.OutLocation, channels.OutContacts, channels.OutReaction, channels.OutInteractive:
		if err := decodeContent(out, job.GetContentJson()); err != nil {
			return nil, &channels.SendError{Kind: channels.Permanent, Message: "bad " + job.GetType() + ": " + err.Error()}
		}
	default:
		return nil, &channels.SendError{Kind: channels.Permanent, Message: "unsupported message type " + job.GetType()}
	}
	return out, nil
}

// record stores a send's outcome and tells the consoles.
func (g *connectionGrain) record(ctx context.Context, messageID uuid.UUID, externalID string, sendErr error) {
	e := g.engine
	status := crm.DeliverySent
	// The id and the error's text are the provider's: made storable, as
	// its webhooks are, so that recording the outcome cannot fail on them.
	externalID = crm.StorableText(externalID)
	var errJSON json.RawMessage
	if sendErr != nil {
		status = crm.DeliveryFailed
		detail := map[string]any{"message": crm.StorableText(sendErr.Error())}
		var se *channels.SendError
		if errors.As(sendErr, &se) {
			detail["kind"] = se.Kind.String()
			detail["code"] = se.Code
			detail["message"] = crm.StorableText(se.Message)
			if se.Kind == channels.WindowClosed {
				detail["code_name"] = "window_closed"
			}
		}
		errJSON = rawJSON(detail)
	}
	var events []crm.TenantEvent
	err := e.db.TenantTx(ctx, g.tenant, func(tx pgx.Tx) error {
		m, err := persistence.MessageByID(ctx, tx, g.tenant, messageID)
		if err != nil {
			return err
		}
		updated, err := persistence.UpdateOutbound(ctx, tx, m, externalID, status, errJSON, e.cfg.Now().UTC())
		if err != nil {
			return err
		}
		if externalID != "" {
			if err := applyParkedTo(ctx, tx, g.tenant, g.connection, externalID); err != nil {
				return err
			}
			if updated, err = persistence.MessageByID(ctx, tx, g.tenant, messageID); err != nil {
				return err
			}
		}
		ev, err := messageUpdatedEvent(ctx, tx, g.tenant, updated)
		if err != nil {
			return err
		}
		events = append(events, ev)
		return nil
	})
	if err != nil {
		e.log.Error("recording a send outcome failed", "message_id", messageID, "error", err)
		return
	}
	e.publish(g.tenant, events)
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
	err := e.db.TenantTx(ctx, m.TenantID, func(tx pgx.Tx) error {
		conv, err := persistence.LoadConversationByID(ctx, tx, m.TenantID, m.ConversationID)
		if err != nil {
			return err
		}
		job.To, err = persistence.ContactExternalID(ctx, tx, m.TenantID, m.ContactID, conv.Channel)
		return err
	})
	return job, err
}
