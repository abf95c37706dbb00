package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"crm"
	"crm/actors"
	"crm/channels"
	"crm/channels/providers"
	"crm/persistence"
	crmpb "crm/proto"
)

// maxWebhookBody bounds a provider webhook. Meta sends up to 3 MB.
const maxWebhookBody = 5 << 20

// InboundDispatch is one durable inbox event handed to the engine.
type InboundDispatch = actors.InboxItem

// Dispatcher hands durable events to their conversation grains. It must not
// block the webhook: events it cannot take now are found again by the sweeper.
type Dispatcher interface {
	Dispatch(ctx context.Context, events []InboundDispatch)
}

// LoadShedder is a Dispatcher that can tell when processing is too far
// behind to take more: webhooks from providers that retry are then answered
// 503 with Retry-After instead of being stored faster than they can be
// processed (the engine implements it).
type LoadShedder interface {
	Overloaded() bool
}

// shedRetryAfter is the Retry-After of a shed webhook, in seconds.
const shedRetryAfter = "2"

// webhookState is the webhook routes' connection cache and metrics.
type webhookState struct {
	connections *providers.WebhookCache

	received *prometheus.CounterVec
	ackTime  prometheus.Histogram
	shed     prometheus.Counter
}

func (s *Server) webhookRoutes() {
	s.hooks = &webhookState{connections: providers.NewWebhookCache(providers.WebhookCacheConfig{
		Lookup: s.cfg.WebhookConnections, TTL: 10 * time.Second, Now: s.now}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_webhook_events_total",
			Help: "Provider events received by webhook, by provider and outcome (stored, duplicate)."}, []string{"provider", "outcome"}),
		ackTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crm_webhook_ack_seconds",
			Help:    "Time from a webhook's arrival to its 200, including the durable inbox write.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1}}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_webhook_shed_total",
			Help: "Webhooks answered 503 (Retry-After) because processing was too far behind; the provider retries them."}),
	}
	s.cfg.Registry.MustRegister(s.hooks.received, s.hooks.ackTime, s.hooks.shed)

	s.raw(op{Method: http.MethodGet, Path: "/webhooks/meta/:connection_id", Summary: "Meta webhook verification handshake (hub.challenge)",
		Tag: "webhooks", Raw: "text/plain"}, s.webhookHandshake)
	s.raw(op{Method: http.MethodPost, Path: "/webhooks/meta/:connection_id", Summary: "Meta webhook (WhatsApp, Messenger, Instagram), X-Hub-Signature-256",
		Tag: "webhooks", Raw: "application/json"}, s.webhookPost(false))
	s.raw(op{Method: http.MethodGet, Path: "/webhooks/sandbox/:connection_id", Summary: "Sandbox webhook verification handshake",
		Tag: "webhooks", Raw: "text/plain"}, s.webhookHandshake)
	s.raw(op{Method: http.MethodPost, Path: "/webhooks/sandbox/:connection_id", Summary: "Sandbox webhook (Meta's wire format, signed)",
		Tag: "webhooks", Raw: "application/json"}, s.webhookPost(false))
	s.raw(op{Method: http.MethodPost, Path: "/webhooks/uazapi/:connection_id/:secret", Summary: "uazapi webhook, authenticated by the URL secret",
		Tag: "webhooks", Raw: "application/json"}, s.webhookPost(true))
	s.raw(op{Method: http.MethodPost, Path: "/webhooks/evolution/:connection_id/:secret", Summary: "Evolution API webhook, authenticated by the URL secret",
		Tag: "webhooks", Raw: "application/json"}, s.webhookPost(true))
}

// webhookConnection finds the connection a webhook URL names, through the
// cache.
func (s *Server) webhookConnection(ctx context.Context, raw string) (*providers.WebhookConnection, error) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, crm.NotFound("connection")
	}
	return s.hooks.connections.Get(ctx, id)
}

// ForgetWebhookConnection drops a cached connection (after an update or delete).
func (s *Server) ForgetWebhookConnection(id uuid.UUID) {
	s.hooks.connections.Forget(id)
}

func (s *Server) webhookHandshake(c *gin.Context) {
	conn, err := s.webhookConnection(c, c.Param("connection_id"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	body, err := conn.Adapter.Handshake(c.Request.URL.Query())
	if err != nil {
		writeError(c, s.log, crm.NewError(crm.ErrForbidden, "handshake_rejected", "verify token does not match", nil))
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(body))
}

// webhookPost verifies, parses and durably stores a webhook's events, answers
// 200 only once they are in the inbox, then hands them to the engine.
func (s *Server) webhookPost(pathSecret bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		conn, err := s.webhookConnection(c, c.Param("connection_id"))
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		if shedder, ok := s.cfg.Dispatcher.(LoadShedder); ok && channels.RetriesFailedWebhooks(conn.Provider) && shedder.Overloaded() {
			// Only a provider that delivers again may be refused.
			s.hooks.shed.Inc()
			c.Header("Retry-After", shedRetryAfter)
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "overloaded",
				Message: "processing is behind; retry after " + shedRetryAfter + " s"}})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(c, s.log, crm.NewError(crm.ErrTooLarge, "body_too_large", "webhook body is too large",
					map[string]any{"limit_bytes": maxWebhookBody}))
				return
			}
			writeError(c, s.log, crm.NewError(crm.ErrInvalid, "invalid_body", "could not read the body", nil))
			return
		}
		req := channels.WebhookRequest{Header: c.Request.Header, Query: c.Request.URL.Query(), Body: body}
		if pathSecret {
			req.PathSecret = c.Param("secret")
		}
		if err := conn.Adapter.VerifyWebhook(req); err != nil {
			// Don't say more than "no": the caller may be probing.
			writeError(c, s.log, crm.NewError(crm.ErrUnauthenticated, "invalid_signature", "webhook signature is missing or wrong", nil))
			return
		}
		events, err := conn.Adapter.Parse(body)
		if err != nil {
			writeError(c, s.log, crm.NewError(crm.ErrInvalid, "invalid_payload", "webhook body is not a valid provider payload", nil))
			return
		}
		inbox := make([]persistence.InboxEvent, 0, len(events))
		kept := make([]*crmpb.ChannelEvent, 0, len(events))
		for _, ev := range events {
			if conn.ExternalID != "" && ev.GetAccountId() != "" && ev.GetAccountId() != conn.ExternalID {
				// One Meta app can post several numbers' events to one callback:
				// only this connection's account belongs here.
				s.log.Warn("webhook event for another account ignored", "connection_id", conn.ID, "account_id", ev.GetAccountId())
				continue
			}
			// A customer may send a NUL character; PostgreSQL stores none.
			channels.MakeStorable(ev)
			payload, err := proto.Marshal(ev)
			if err != nil {
				writeError(c, s.log, err)
				return
			}
			key := ev.GetDedupeKey()
			if key == "" {
				key = crm.NewID().String()
			}
			inbox = append(inbox, persistence.InboxEvent{TenantID: conn.TenantID, ConnectionID: conn.ID,
				Provider: ev.GetProvider(), Kind: eventKind(ev), DedupeKey: key, Event: payload})
			kept = append(kept, ev)
		}
		var receipts []persistence.InboxReceipt
		if len(inbox) > 0 {
			if s.cfg.Inbox == nil {
				writeError(c, s.log, errors.New("webhook received but no inbox is configured"))
				return
			}
			receipts, err = s.cfg.Inbox.Append(c, inbox)
			if err != nil {
				// Not durable: answer 5xx so the provider retries.
				s.log.Error("webhook not stored", "connection_id", conn.ID, "error", err)
				c.AbortWithStatusJSON(http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "unavailable", Message: "try again"}})
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"received": len(inbox)})
		s.hooks.ackTime.Observe(time.Since(start).Seconds())

		var dispatch []InboundDispatch
		for i, r := range receipts {
			outcome := "stored"
			if r.Duplicate {
				outcome = "duplicate"
			} else {
				dispatch = append(dispatch, InboundDispatch{InboxID: r.ID, TenantID: conn.TenantID, ConnectionID: conn.ID,
					Event: kept[i], ReceivedAt: start})
			}
			s.hooks.received.WithLabelValues(inbox[i].Provider, outcome).Inc()
		}
		if len(dispatch) > 0 && s.cfg.Dispatcher != nil {
			s.cfg.Dispatcher.Dispatch(context.WithoutCancel(c.Request.Context()), dispatch)
		}
	}
}

// eventKind names an event for the inbox's kind column.
func eventKind(ev *crmpb.ChannelEvent) string {
	switch ev.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage:
		if ev.GetInboundMessage().GetMessage().GetType() == crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED {
			return "unsupported"
		}
		return "message"
	case *crmpb.ChannelEvent_OutboundEcho:
		return "echo"
	case *crmpb.ChannelEvent_StatusUpdate, *crmpb.ChannelEvent_ReadWatermark:
		return "status"
	case *crmpb.ChannelEvent_Reaction:
		return "message"
	case *crmpb.ChannelEvent_ConnectionState:
		return "connection"
	case *crmpb.ChannelEvent_AccountError:
		return "error"
	}
	return "unsupported"
}
