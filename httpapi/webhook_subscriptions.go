package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/channels"
	"crm/persistence"
)

// Outbound webhooks: a tenant admin subscribes URLs to event types; the
// jobs package delivers (see jobs/webhooks.go).

type createWebhookSubscriptionRequest struct {
	URL    string   `json:"url" required:"true"`
	Events []string `json:"events" required:"true"`
	// Secret signs the deliveries; omitted, one is generated and answered
	// once, in the create's answer.
	Secret *string `json:"secret"`
}

type updateWebhookSubscriptionRequest struct {
	URL     *string  `json:"url"`
	Events  []string `json:"events"`
	Secret  *string  `json:"secret"`
	Enabled *bool    `json:"enabled"` // true re-enables a disabled subscription, false disables it
}

// createdWebhookSubscription is the create's answer: the only one that
// carries the secret.
type createdWebhookSubscription struct {
	persistence.WebhookSubscription
	Secret string `json:"secret"`
}

type listPageQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

const webhookSignatureDescription = "Each delivery is a POST of `{id, type, tenant_id, created_at, data}` (`id` is the event's, " +
	"the same in every attempt and replay; `data` the event's payload) with the headers `X-CRM-Event` (the type), " +
	"`X-CRM-Delivery` (the delivery's id) and `X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" " +
	"keyed by the subscription's secret>`. Receivers recompute the HMAC over the raw body, compare in constant time and " +
	"refuse timestamps older than a few minutes. A 2xx answer within 10 s is a success; anything else is retried with " +
	"exponential backoff (30 s doubling up to 4 h, 15 attempts, about 24 h). A subscription whose deliveries fail for 24 h " +
	"without a success is disabled (`status: disabled`, `disabled_reason: failing`, event `webhook_subscription.disabled`); " +
	"PATCH `{\"enabled\": true}` turns it back on for the events from then on. The URL must be https (and public)."

func (s *Server) webhookSubscriptionRoutes() {
	const tag = "webhook-subscriptions"
	perm := crm.PermWebhooksManage
	s.route(op{Method: http.MethodGet, Path: "/api/v1/webhook-subscriptions", Summary: "List outbound webhook subscriptions",
		Tag: tag, Access: accessTenant, Perm: perm, Query: listPageQuery{}, Response: crm.Page[persistence.WebhookSubscription]{},
		Description: webhookSignatureDescription}, s.listWebhookSubscriptions)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/webhook-subscriptions",
		Summary: "Subscribe a URL to tenant events (the secret is answered only here)", Tag: tag, Access: accessTenant, Perm: perm,
		Request: createWebhookSubscriptionRequest{}, Response: createdWebhookSubscription{}, Status: http.StatusCreated,
		Description: webhookSignatureDescription + " Event types: " + strings.Join(crm.WebhookEventTypes, ", ") + ", or \"*\" for all.",
		Errors:      []opError{{Status: http.StatusUnprocessableEntity, Code: "webhook_subscription_limit", Summary: "the tenant has the most subscriptions it may"}},
	}, s.createWebhookSubscription)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/webhook-subscriptions/:id", Summary: "Get a webhook subscription",
		Tag: tag, Access: accessTenant, Perm: perm, Response: persistence.WebhookSubscription{}}, s.getWebhookSubscription)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/webhook-subscriptions/:id",
		Summary: "Update a webhook subscription (only the fields given; enabled re-enables or disables it)", Tag: tag,
		Access: accessTenant, Perm: perm, Request: updateWebhookSubscriptionRequest{}, Response: persistence.WebhookSubscription{}},
		s.updateWebhookSubscription)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/webhook-subscriptions/:id", Summary: "Delete a webhook subscription and its log",
		Tag: tag, Access: accessTenant, Perm: perm, Status: http.StatusNoContent}, s.deleteWebhookSubscription)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/webhook-subscriptions/:id/deliveries",
		Summary: "A subscription's delivery log, newest first, each delivery with its attempts", Tag: tag, Access: accessTenant,
		Perm: perm, Query: listPageQuery{}, Response: crm.Page[persistence.WebhookDelivery]{}}, s.listWebhookDeliveries)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/webhook-subscriptions/:id/deliveries/:delivery_id/replay",
		Summary: "Send a delivery's event again, as a new delivery with the same event id", Tag: tag, Access: accessTenant,
		Perm: perm, Response: persistence.WebhookDelivery{}, Status: http.StatusAccepted,
		Errors: []opError{{Status: http.StatusConflict, Code: "webhook_subscription_disabled", Summary: "enable the subscription first"}},
	}, s.replayWebhookDelivery)
}

const webhookURLMax = 2048

// webhookURL checks a subscription's URL: https with a host and no user
// information (it would be stored in the clear). Plain http is accepted only
// for loopback, and only where the operator allows private addresses
// (CRM_ALLOW_PRIVATE_PROVIDER_URLS: tests, development). Non-public
// addresses are refused here when they are literal, and by the egress guard
// at every delivery otherwise.
func (s *Server) webhookURL(fields crm.FieldErrors, raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	switch {
	case raw == "" || err != nil || u.Host == "" || u.Hostname() == "":
		fields.Add("url", "must be an absolute https URL")
		return raw
	case len(raw) > webhookURLMax:
		fields.Add("url", "must have at most %d characters", webhookURLMax)
		return raw
	case u.User != nil:
		fields.Add("url", "must not hold a user name or password")
		return raw
	case u.Fragment != "":
		fields.Add("url", "must not have a fragment")
		return raw
	}
	allowPrivate := s.cfg.Providers.AllowPrivate()
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate || !loopbackHost(u.Hostname()) {
			fields.Add("url", "must be https")
			return raw
		}
	default:
		fields.Add("url", "must be https")
		return raw
	}
	if !allowPrivate {
		if err := channels.CheckPublicURL(raw); err != nil {
			fields.Add("url", "must reach a public address (not loopback, private or link-local)")
		}
	}
	return raw
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// webhookEvents checks and de-duplicates the event types.
func webhookEvents(fields crm.FieldErrors, events []string) []string {
	if len(events) == 0 {
		fields.Add("events", "must name at least one event type, or \"*\"")
		return nil
	}
	if len(events) > 50 {
		fields.Add("events", "must name at most 50 event types")
		return nil
	}
	out := make([]string, 0, len(events))
	seen := map[string]bool{}
	var unknown []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		if !crm.KnownWebhookEvent(e) {
			unknown = append(unknown, e)
			continue
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	if len(unknown) > 0 {
		fields.Add("events", "unknown event types: %s (known: %s, or \"*\")", strings.Join(unknown, ", "),
			strings.Join(crm.WebhookEventTypes, ", "))
	}
	return out
}

// webhookSecret checks a secret the admin chose: 16 to 128 printable ASCII
// characters without spaces.
func webhookSecret(fields crm.FieldErrors, secret string) string {
	if len(secret) < 16 || len(secret) > 128 {
		fields.Add("secret", "must have 16 to 128 characters")
		return secret
	}
	for _, r := range secret {
		if r <= ' ' || r > '~' {
			fields.Add("secret", "must be printable ASCII without spaces")
			break
		}
	}
	return secret
}

func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) listWebhookSubscriptions(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListWebhookSubscriptions(c, p.TenantID, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createWebhookSubscription(c *gin.Context, p crm.Principal) error {
	var req createWebhookSubscriptionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewWebhookSubscription{URL: s.webhookURL(fields, req.URL), Events: webhookEvents(fields, req.Events)}
	if req.Secret != nil {
		in.Secret = webhookSecret(fields, *req.Secret)
	} else {
		in.Secret = newWebhookSecret()
	}
	if err := fields.Err(); err != nil {
		return err
	}
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	sub, err := s.db.CreateWebhookSubscription(c, p.TenantID, directoryActor(c, p), sealer, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, createdWebhookSubscription{WebhookSubscription: sub, Secret: in.Secret})
	return nil
}

func (s *Server) getWebhookSubscription(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sub, err := s.db.GetWebhookSubscription(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sub)
	return nil
}

func (s *Server) updateWebhookSubscription(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateWebhookSubscriptionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.WebhookSubscriptionPatch{Enabled: req.Enabled}
	if req.URL != nil {
		u := s.webhookURL(fields, *req.URL)
		patch.URL = &u
	}
	if req.Events != nil {
		patch.Events = webhookEvents(fields, req.Events)
	}
	if req.Secret != nil {
		secret := webhookSecret(fields, *req.Secret)
		patch.Secret = &secret
	}
	if err := fields.Err(); err != nil {
		return err
	}
	sub, err := s.db.UpdateWebhookSubscription(c, p.TenantID, id, directoryActor(c, p), s.cfg.Sealer, patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sub)
	return nil
}

func (s *Server) deleteWebhookSubscription(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.DeleteWebhookSubscription(c, p.TenantID, id, directoryActor(c, p)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listWebhookDeliveries(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListWebhookDeliveries(c, p.TenantID, id, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) replayWebhookDelivery(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	deliveryID, err := pathID(c, "delivery_id")
	if err != nil {
		return err
	}
	d, err := s.db.ReplayWebhookDelivery(c, p.TenantID, id, deliveryID, directoryActor(c, p))
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, d)
	return nil
}
