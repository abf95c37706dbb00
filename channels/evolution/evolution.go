// Package evolution is the adapter for Evolution API, a Baileys-based
// WhatsApp Web gateway like uazapi. Calls carry the instance's apikey
// header; webhooks carry the apikey in the payload and have no signature,
// so they are authenticated by a per-connection secret in the webhook URL
// plus that apikey (never logged, never copied into events).
package evolution

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
const ProviderName = "evolution"

// Config builds a Provider. Credentials.BaseURL (the Evolution server),
// InstanceName and InstanceToken (the instance apikey) are required.
type Config struct {
	Credentials channels.Credentials
	Settings    channels.Settings
	HTTPClient  *http.Client
	Logger      *slog.Logger
	// Now stamps events without a time of their own; defaults to time.Now.
	Now func() time.Time
}

// Provider is one Evolution instance.
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
		return nil, fmt.Errorf("evolution: base url %q is not an http(s) url", cfg.Credentials.BaseURL)
	}
	if cfg.Credentials.InstanceName == "" || cfg.Credentials.InstanceToken == "" {
		return nil, fmt.Errorf("evolution: instance name and apikey are required")
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

// VerifyWebhook checks the URL secret, then the payload's apikey.
func (p *Provider) VerifyWebhook(req channels.WebhookRequest) error {
	return VerifyWebhook(p.creds.WebhookSecret, p.creds.InstanceToken, req)
}

// VerifyWebhook: a wrong or missing secret or apikey wraps
// channels.ErrInvalidSignature (401); a body that is not JSON after a good
// secret is channels.ErrInvalidPayload (400).
func VerifyWebhook(webhookSecret, apikey string, req channels.WebhookRequest) error {
	return channels.VerifyURLSecret("evolution", webhookSecret, "apikey", apikey, req)
}

// Handshake: Evolution has no verification handshake.
func (p *Provider) Handshake(url.Values) (string, error) { return "", channels.ErrUnsupported }

// Parse implements channels.Provider; see ParseWebhook.
func (p *Provider) Parse(body []byte) ([]*crmpb.ChannelEvent, error) {
	return ParseWebhook(body, p.now())
}

// ListTemplates: WhatsApp Web has no templates.
func (p *Provider) ListTemplates(context.Context) ([]channels.Template, error) {
	return nil, channels.ErrUnsupported
}

func (p *Provider) header() http.Header { return http.Header{"Apikey": {p.creds.InstanceToken}} }

func (p *Provider) endpoint(path string) string {
	return p.base + path + "/" + url.PathEscape(p.creds.InstanceName)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
