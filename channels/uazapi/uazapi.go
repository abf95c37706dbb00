// Package uazapi is the adapter for UaiZap (uazapi), an unofficial WhatsApp
// Web gateway. An instance lives on https://{subdomain}.uazapi.com and is
// authenticated by its token; it posts webhooks without a signature, so we
// authenticate them by a per-connection secret in the webhook URL plus the
// instance token the payload carries. The token is a secret: it is never
// logged and never copied into an event.
package uazapi

import (
	"fmt"
	"net/http"

	"crm/channels"
	crmpb "crm/proto"
)

// ProviderName is the provider field of our events.
const ProviderName = "uazapi"

// Config builds a Provider. Credentials.BaseURL (https://x.uazapi.com),
// InstanceToken and WebhookSecret are required; AdminToken only for admin
// calls.
type Config = channels.GatewayConfig

// Provider is one uazapi instance.
type Provider struct {
	channels.Gateway
}

var (
	_ channels.Provider        = (*Provider)(nil)
	_ channels.InstanceManager = (*Provider)(nil)
)

// New validates cfg.
func New(cfg Config) (*Provider, error) {
	g, err := channels.NewGateway(ProviderName, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Credentials.InstanceToken == "" {
		return nil, fmt.Errorf("uazapi: instance token is required")
	}
	return &Provider{Gateway: g}, nil
}

// VerifyWebhook checks the URL secret, then the payload's token against the
// instance token, both in constant time.
func (p *Provider) VerifyWebhook(req channels.WebhookRequest) error {
	return VerifyWebhook(p.Creds.WebhookSecret, p.Creds.InstanceToken, req)
}

// VerifyWebhook is the check behind Provider.VerifyWebhook: a wrong or
// missing secret or token wraps channels.ErrInvalidSignature (401); a body
// that is not JSON after a good secret is channels.ErrInvalidPayload (400).
func VerifyWebhook(webhookSecret, instanceToken string, req channels.WebhookRequest) error {
	return channels.VerifyURLSecret("uazapi", webhookSecret, "token", instanceToken, req)
}

// Parse implements channels.Provider; see ParseWebhook.
func (p *Provider) Parse(body []byte) ([]*crmpb.ChannelEvent, error) {
	return ParseWebhook(body, p.Now())
}

func (p *Provider) header() http.Header {
	return http.Header{"Token": {p.Creds.InstanceToken}}
}
