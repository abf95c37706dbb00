// Package providers is what the server knows about connections beyond the
// wire formats: which credentials and settings each provider and channel
// takes and what the sandbox generates (Prepare, Patch); how a stored
// connection becomes its channels.Provider (New, Registry: the one place
// that knows every adapter, so the engine depends on channels.Provider
// only); and the caches of built adapters (Cache for the engine,
// WebhookCache for the webhook routes). It reads connections through Store,
// which the database layer implements; it imports no database, and the
// database layer imports no channel package.
package providers

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"crm/channels"
	"crm/channels/evolution"
	"crm/channels/meta"
	"crm/channels/uazapi"
	crmpb "crm/proto"
)

// Provider names as stored on a connection.
const (
	Meta      = "meta"
	Sandbox   = "sandbox"
	UazAPI    = "uazapi"
	Evolution = "evolution"
)

// Config describes one connection. HTTPClient makes the provider calls:
// for a connection it is the egress-guarded client (Registry,
// channels.NewEgressTransport), since base URLs are tenant input; nil takes
// the adapter's plain default, which only the adapters' own tests use.
type Config struct {
	Provider    string
	Channel     crmpb.Channel
	Credentials channels.Credentials
	Settings    channels.Settings
	HTTPClient  *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
}

// New returns the adapter for cfg. The sandbox speaks Meta's wire format:
// it is the meta adapter pointed (by Settings.GraphBaseURL) at the sandbox's
// Graph-compatible endpoint, so the production code path is what runs; its
// events therefore say provider "meta".
func New(cfg Config) (channels.Provider, error) {
	switch cfg.Provider {
	case Meta, Sandbox:
		if cfg.Provider == Sandbox && cfg.Settings.GraphBaseURL == "" {
			return nil, fmt.Errorf("sandbox connection needs settings.graph_base_url")
		}
		channel := cfg.Channel
		if channel == crmpb.Channel_CHANNEL_UNSPECIFIED && cfg.Provider == Sandbox {
			channel = crmpb.Channel_CHANNEL_WHATSAPP
		}
		return meta.New(meta.Config{Channel: channel, Credentials: cfg.Credentials, Settings: cfg.Settings,
			HTTPClient: cfg.HTTPClient, Logger: cfg.Logger})
	case UazAPI:
		if err := whatsappOnly(cfg); err != nil {
			return nil, err
		}
		return uazapi.New(uazapi.Config{Credentials: cfg.Credentials, Settings: cfg.Settings,
			HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Now: cfg.Now})
	case Evolution:
		if err := whatsappOnly(cfg); err != nil {
			return nil, err
		}
		return evolution.New(evolution.Config{Credentials: cfg.Credentials, Settings: cfg.Settings,
			HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Now: cfg.Now})
	}
	return nil, fmt.Errorf("unknown provider %q", cfg.Provider)
}

func whatsappOnly(cfg Config) error {
	if cfg.Channel != crmpb.Channel_CHANNEL_WHATSAPP && cfg.Channel != crmpb.Channel_CHANNEL_UNSPECIFIED {
		return fmt.Errorf("provider %s serves whatsapp only, not %v", cfg.Provider, cfg.Channel)
	}
	return nil
}

// ChannelFromName maps the connection's channel name to the enum.
func ChannelFromName(name string) (crmpb.Channel, error) {
	switch name {
	case "whatsapp":
		return crmpb.Channel_CHANNEL_WHATSAPP, nil
	case "messenger":
		return crmpb.Channel_CHANNEL_MESSENGER, nil
	case "instagram":
		return crmpb.Channel_CHANNEL_INSTAGRAM, nil
	}
	return crmpb.Channel_CHANNEL_UNSPECIFIED, fmt.Errorf("unknown channel %q", name)
}
