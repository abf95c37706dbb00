// Package evolution is the adapter for Evolution API, a Baileys-based
// WhatsApp Web gateway like uazapi. Calls carry the instance's apikey
// header; webhooks carry the apikey in the payload and have no signature,
// so they are authenticated by a per-connection secret in the webhook URL
// plus that apikey (never logged, never copied into events).
package evolution

import (
	"fmt"
	"net/http"
	"net/url"

	"crm/channels"
	crmpb "crm/proto"
)

// ProviderName is the provider field of our events.
const ProviderName = "evolution"

// Config builds a Provider. Credentials.BaseURL (the Evolution server),
// InstanceName and InstanceToken (the instance apikey) are required.
type Config = channels.GatewayConfig

// Provider is one Evolution instance.
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
	if cfg.Credentials.InstanceName == "" || cfg.Credentials.InstanceToken == "" {
		return nil, fmt.Errorf("evolution: instance name and apikey are required")
	}
	return &Provider{Gateway: g}, nil
}

// VerifyWebhook checks the URL secret, then the payload's apikey.
func (p *Provider) VerifyWebhook(req channels.WebhookRequest) error {
	return VerifyWebhook(p.Creds.WebhookSecret, p.Creds.InstanceToken, req)
}

// VerifyWebhook: a wrong or missing secret or apikey wraps
// channels.ErrInvalidSignature (401); a body that is not JSON after a good
// secret is channels.ErrInvalidPayload (400).
func VerifyWebhook(webhookSecret, apikey string, req channels.WebhookRequest) error {
	return channels.VerifyURLSecret("evolution", webhookSecret, "apikey", apikey, req)
}

// Parse implements channels.Provider; see ParseWebhook.
func (p *Provider) Parse(body []byte) ([]*crmpb.ChannelEvent, error) {
	return ParseWebhook(body, p.Now())
}

func (p *Provider) header() http.Header { return http.Header{"Apikey": {p.Creds.InstanceToken}} }

func (p *Provider) endpoint(path string) string {
	return p.Base + path + "/" + url.PathEscape(p.Creds.InstanceName)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
