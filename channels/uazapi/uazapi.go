// Package uazapi is the adapter for UaiZap (uazapi), an unofficial WhatsApp
// Web gateway. An instance lives on https://{subdomain}.uazapi.com and is
// authenticated by its token; it posts webhooks without a signature, so we
// authenticate them by a per-connection secret in the webhook URL plus the
// instance token the payload carries. The token is a secret: it is never
// logged and never copied into an event.
package uazapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"crm/channels"
	crmpb "crm/proto"
)

// ProviderName is the provider field of our events.
const ProviderName = "uazapi"

// Config builds a Provider. Credentials.BaseURL (https://x.uazapi.com),
// InstanceToken and WebhookSecret are required; AdminToken only for admin
// calls.
type Config struct {
	Credentials channels.Credentials
	Settings    channels.Settings
	HTTPClient  *http.Client
	Logger      *slog.Logger
	// Now is the clock stamped on events without a time of their own
	// (connection changes); defaults to time.Now.
	Now func() time.Time
}

// Provider is one uazapi instance.
type Provider struct {
	creds    channels.Credentials
	base     string
	settings channels.Settings
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
}

var (
	_ channels.Provider        = (*Provider)(nil)
	_ channels.InstanceManager = (*Provider)(nil)
)

// New validates cfg.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Credentials.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("uazapi: base url %q is not an http(s) url", cfg.Credentials.BaseURL)
	}
	if cfg.Credentials.InstanceToken == "" {
		return nil, fmt.Errorf("uazapi: instance token is required")
	}
	settings := cfg.Settings.WithDefaults()
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: settings.Timeout}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Provider{
		creds:    cfg.Credentials,
		base:     strings.TrimRight(cfg.Credentials.BaseURL, "/"),
		settings: settings,
		client:   client,
		log:      logger.With("provider", ProviderName),
		now:      now,
	}, nil
}

// Channel implements channels.Provider.
func (p *Provider) Channel() crmpb.Channel { return crmpb.Channel_CHANNEL_WHATSAPP }

// VerifyWebhook checks the URL secret, then the payload's token against the
// instance token, both in constant time.
func (p *Provider) VerifyWebhook(req channels.WebhookRequest) error {
	return VerifyWebhook(p.creds.WebhookSecret, p.creds.InstanceToken, req)
}

// VerifyWebhook is the check behind Provider.VerifyWebhook: a wrong or
// missing secret or token wraps channels.ErrInvalidSignature (401); a body
// that is not JSON after a good secret is channels.ErrInvalidPayload (400).
func VerifyWebhook(webhookSecret, instanceToken string, req channels.WebhookRequest) error {
	return channels.VerifyURLSecret("uazapi", webhookSecret, "token", instanceToken, req)
}

// Handshake: uazapi has no verification handshake.
func (p *Provider) Handshake(url.Values) (string, error) { return "", channels.ErrUnsupported }

// Parse implements channels.Provider; see ParseWebhook.
func (p *Provider) Parse(body []byte) ([]*crmpb.ChannelEvent, error) {
	return ParseWebhook(body, p.now())
}

// ListTemplates: WhatsApp Web has no templates.
func (p *Provider) ListTemplates(context.Context) ([]channels.Template, error) {
	return nil, channels.ErrUnsupported
}

func (p *Provider) header() http.Header {
	return http.Header{"Token": {p.creds.InstanceToken}}
}
