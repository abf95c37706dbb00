package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"crm"
	"crm/channels"
	"crm/channels/providers"
)

// ProvidersConfig builds Providers.
type ProvidersConfig struct {
	// SelfURL is where this node's own listener answers (Config.SelfURL),
	// e.g. http://127.0.0.1:8080: a sandbox connection's adapter talks to
	// the sandbox there. Required.
	SelfURL string
	// AllowPrivate (CRM_ALLOW_PRIVATE_PROVIDER_URLS) lets provider calls and
	// the sandbox simulator's media fetch reach loopback, private and
	// link-local addresses: for tests and self-hosted gateways on a LAN.
	AllowPrivate bool
}

// Providers builds connections' adapters, for the engine (sends, media),
// the webhook ingest and the connection routes alike. Every call to an
// address a tenant configured (Graph, uazapi, Evolution base URLs) goes
// through one egress transport that refuses loopback, private, link-local,
// multicast and unspecified addresses when it dials
// (channels.NewEgressTransport). The sandbox is this server: a sandbox
// connection's adapter ignores whatever graph_base_url is stored and talks
// to this node's own sandbox at SelfURL, a URL no tenant chooses, so it needs
// no exemption from the guard.
type Providers struct {
	allowPrivate bool
	sandboxGraph string
	egress       *http.Transport
	self         *http.Transport
}

// NewProviders builds the shared transports.
func NewProviders(cfg ProvidersConfig) (*Providers, error) {
	u, err := url.Parse(cfg.SelfURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpapi: providers need this node's own URL, got %q", cfg.SelfURL)
	}
	self := http.DefaultTransport.(*http.Transport).Clone()
	self.Proxy = nil // our own listener, never through a proxy
	self.MaxIdleConnsPerHost = 64
	return &Providers{allowPrivate: cfg.AllowPrivate, sandboxGraph: strings.TrimRight(cfg.SelfURL, "/") + "/sandbox/graph",
		egress: channels.NewEgressTransport(channels.EgressConfig{AllowPrivate: cfg.AllowPrivate}), self: self}, nil
}

// AllowPrivate reports whether private addresses are allowed.
func (p *Providers) AllowPrivate() bool { return p.allowPrivate }

// For builds a connection's channel adapter from its secrets.
func (p *Providers) For(sec crm.ConnectionSecrets) (channels.Provider, error) {
	channel, err := providers.ChannelFromName(sec.Channel)
	if err != nil {
		return nil, err
	}
	settings := providers.SettingsOf(sec)
	transport := p.egress
	if sec.Provider == providers.Sandbox {
		settings.GraphBaseURL = p.sandboxGraph
		transport = p.self
	}
	client := &http.Client{Transport: transport, Timeout: settings.WithDefaults().Timeout}
	return providers.New(providers.Config{Provider: sec.Provider, Channel: channel,
		Credentials: providers.CredentialsOf(sec), Settings: settings, HTTPClient: client})
}

// checkProviderURLs refuses, when a connection is saved, a base URL that
// names a non-public address outright (an IP literal, localhost), so a
// tenant admin learns at once what the dial-time guard would refuse later.
func (p *Providers) checkProviderURLs(credentials map[string]string) error {
	raw := strings.TrimSpace(credentials["base_url"])
	if p.allowPrivate || raw == "" {
		return nil
	}
	if channels.CheckPublicURL(raw) != nil {
		fields := crm.FieldErrors{}
		fields.Add("credentials.base_url", "must be a public address: loopback, private and link-local ones are refused")
		return fields.Err()
	}
	return nil
}
