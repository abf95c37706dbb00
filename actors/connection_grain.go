package actors

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

// connectionGrain owns a connection's provider client and paces its sends
// (token bucket, default 80/s). Sends run concurrently under the limiter;
// retryable errors back off exponentially with jitter.
type connectionGrain struct {
	engine             *Engine
	tenant, connection uuid.UUID
	limiter            *rate.Limiter
	// lanes keep each conversation's sends in the order they were handed
	// over (a bot's greeting before its menu, an agent's two quick lines):
	// a send starts once the one before it in its conversation is done.
	lanesMu sync.Mutex
	lanes   map[string]chan struct{}
	// campaigns are the lanes of the connection's running campaigns.
	campaigns campaignLanes
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
		if !g.campaigns.busy() {
			ctx.Poison(ctx.Self())
		}
	case *crmpb.CampaignWake:
		g.wakeCampaign(ctx, msg)
	case *crmpb.SendRequest:
		ctx.Respond(&crmpb.SendResponse{MessageId: msg.GetMessageId(), Status: crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING})
		g.deliverInOrder(msg)
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
// deliverInOrder delivers job after the conversation's earlier sends.
func (g *connectionGrain) deliverInOrder(job *crmpb.SendRequest) {
	lane := job.GetConversationId()
	done := make(chan struct{})
	g.lanesMu.Lock()
	if g.lanes == nil {
		g.lanes = map[string]chan struct{}{}
	}
	before := g.lanes[lane]
	g.lanes[lane] = done
	g.lanesMu.Unlock()
	go func() {
		if before != nil {
			<-before
		}
		g.deliver(job)
		close(done)
		g.lanesMu.Lock()
		if g.lanes[lane] == done {
			delete(g.lanes, lane)
		}
		g.lanesMu.Unlock()
	}()
}

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
	err := e.recordEvents(ctx, g.tenant, func(tx TenantStore) ([]crm.TenantEvent, error) {
		m, err := tx.MessageByID(ctx, messageID)
		if err != nil {
			return nil, err
		}
		updated, err := tx.UpdateOutbound(ctx, m, externalID, status, errJSON, e.cfg.Now().UTC())
		if err != nil {
			return nil, err
		}
		var se *channels.SendError
		if errors.As(sendErr, &se) && se.Code == optOutCode {
			if _, err := tx.SetContactOptOut(ctx, m.ContactID, true, "whatsapp 131050"); err != nil {
				return nil, err
			}
		}
		if externalID != "" {
			if err := applyParkedTo(ctx, tx, g.connection, externalID); err != nil {
				return nil, err
			}
			if updated, err = tx.MessageByID(ctx, messageID); err != nil {
				return nil, err
			}
		}
		ev, err := messageUpdated(ctx, tx, updated)
		return []crm.TenantEvent{ev}, err
	})
	if err != nil {
		e.log.Error("recording a send outcome failed", "message_id", messageID, "error", err)
	}
}
