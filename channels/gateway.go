package channels

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	crmpb "crm/proto"
)

// GatewayConfig configures an adapter of an unofficial WhatsApp gateway
// (uazapi, Evolution): a WhatsApp Web session behind an HTTP API of its own.
type GatewayConfig struct {
	Credentials Credentials
	Settings    Settings
	HTTPClient  *http.Client
	Logger      *slog.Logger
	// Now stamps events without a time of their own (connection changes);
	// defaults to time.Now.
	Now func() time.Time
}

// Gateway is what such an adapter holds, with the defaults filled, and the
// parts of channels.Provider that are the same for every gateway (embed it).
type Gateway struct {
	Creds    Credentials
	Base     string // BaseURL without a trailing slash
	Settings Settings
	Client   *http.Client
	Log      *slog.Logger
	Now      func() time.Time
}

// NewGateway checks the base URL and fills the defaults; provider names the
// adapter in errors and logs.
func NewGateway(provider string, cfg GatewayConfig) (Gateway, error) {
	u, err := url.Parse(cfg.Credentials.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Gateway{}, fmt.Errorf("%s: base url %q is not an http(s) url", provider, cfg.Credentials.BaseURL)
	}
	g := Gateway{Creds: cfg.Credentials, Base: strings.TrimRight(cfg.Credentials.BaseURL, "/"),
		Settings: cfg.Settings.WithDefaults(), Client: cfg.HTTPClient, Log: cfg.Logger, Now: cfg.Now}
	if g.Client == nil {
		g.Client = &http.Client{Timeout: g.Settings.Timeout}
	}
	if g.Log == nil {
		g.Log = slog.New(slog.DiscardHandler)
	}
	g.Log = g.Log.With("provider", provider)
	if g.Now == nil {
		g.Now = time.Now
	}
	return g, nil
}

// Channel implements Provider: a gateway speaks WhatsApp.
func (Gateway) Channel() crmpb.Channel { return crmpb.Channel_CHANNEL_WHATSAPP }

// Handshake: the gateways have no verification handshake.
func (Gateway) Handshake(url.Values) (string, error) { return "", ErrUnsupported }

// ListTemplates: WhatsApp Web has no templates.
func (Gateway) ListTemplates(context.Context) ([]Template, error) { return nil, ErrUnsupported }
