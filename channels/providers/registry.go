package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"crm"
	"crm/channels"
)

// RegistryConfig builds a Registry.
type RegistryConfig struct {
	// SelfURL is where this node's own listener answers (httpapi's
	// Config.SelfURL), e.g. http://127.0.0.1:8080: a sandbox connection's
	// adapter talks to the sandbox there. Required.
	SelfURL string
	// AllowPrivate (CRM_ALLOW_PRIVATE_PROVIDER_URLS) lets provider calls and
	// the sandbox simulator's media fetch reach loopback, private and
	// link-local addresses: for tests and self-hosted gateways on a LAN.
	AllowPrivate bool
}

// Registry builds connections' adapters, for the engine (sends, media),
// the webhook ingest and the connection routes alike. Every call to an
// address a tenant configured (Graph, uazapi, Evolution base URLs) goes
// through one egress transport that refuses loopback, private, link-local,
// multicast and unspecified addresses when it dials
// (channels.NewEgressTransport). The sandbox is this server: a sandbox
// connection's adapter ignores whatever graph_base_url is stored and talks
// to this node's own sandbox at SelfURL, a URL no tenant chooses, so it needs
// no exemption from the guard.
type Registry struct {
	allowPrivate bool
	sandboxGraph string
	egress       *http.Transport
	self         *http.Transport
}

// NewRegistry builds the shared transports.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	u, err := url.Parse(cfg.SelfURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("providers: the registry needs this node's own URL, got %q", cfg.SelfURL)
	}
	self := http.DefaultTransport.(*http.Transport).Clone()
	self.Proxy = nil // our own listener, never through a proxy
	self.MaxIdleConnsPerHost = 64
	return &Registry{allowPrivate: cfg.AllowPrivate, sandboxGraph: SandboxGraphURL(cfg.SelfURL),
		egress: channels.NewEgressTransport(channels.EgressConfig{AllowPrivate: cfg.AllowPrivate}), self: self}, nil
}

// AllowPrivate reports whether private addresses are allowed.
func (r *Registry) AllowPrivate() bool { return r.allowPrivate }

// For builds a connection's channel adapter from its secrets.
func (r *Registry) For(sec crm.ConnectionSecrets) (channels.Provider, error) {
	channel, err := ChannelFromName(sec.Channel)
	if err != nil {
		return nil, err
	}
	settings := SettingsOf(sec)
	transport := r.egress
	if sec.Provider == Sandbox {
		settings.GraphBaseURL = r.sandboxGraph
		transport = r.self
	}
	client := &http.Client{Transport: transport, Timeout: settings.WithDefaults().Timeout}
	return New(Config{Provider: sec.Provider, Channel: channel,
		Credentials: CredentialsOf(sec), Settings: settings, HTTPClient: client})
}

// CheckURLs refuses, when a connection is saved, a base URL that names a
// non-public address outright (an IP literal, localhost), so a tenant admin
// learns at once what the dial-time guard would refuse later.
func (r *Registry) CheckURLs(credentials map[string]string) error {
	raw := strings.TrimSpace(credentials["base_url"])
	if r.allowPrivate || raw == "" {
		return nil
	}
	if channels.CheckPublicURL(raw) != nil {
		fields := crm.FieldErrors{}
		fields.Add("credentials.base_url", "must be a public address: loopback, private and link-local ones are refused")
		return fields.Err()
	}
	return nil
}
