package channels

import (
	"context"
	"net/http"
	"net/url"
	"time"

	crmpb "crm/proto"
)

// Provider is one connection's adapter. Implementations are safe for
// concurrent use.
type Provider interface {
	// Channel is the network this connection talks to.
	Channel() crmpb.Channel

	// VerifyWebhook authenticates a webhook POST before anything is parsed
	// or stored. It returns an error wrapping ErrInvalidSignature (→ 401)
	// when the request is not from the provider.
	VerifyWebhook(req WebhookRequest) error

	// Handshake answers a subscription check (Meta's GET with hub.*). It
	// returns the body to answer with 200 text/plain, or an error wrapping
	// ErrHandshakeRejected (→ 403). Providers without one return
	// ErrUnsupported.
	Handshake(query url.Values) (string, error)

	// Parse turns a raw, already verified body into events. Unknown message
	// types become unsupported messages; only a body that is not the
	// provider's JSON at all is an error (wrapping ErrInvalidPayload → 400).
	Parse(body []byte) ([]*crmpb.ChannelEvent, error)

	// Send delivers one message and returns the provider's id for it. Errors
	// are *SendError (see KindOf, RetryAfter).
	Send(ctx context.Context, msg *OutboundMessage) (*SendResult, error)

	// FetchMedia downloads inbound media and checks its SHA-256.
	FetchMedia(ctx context.Context, ref MediaRef) (*MediaContent, error)

	// ListTemplates lists the message templates of the account
	// (ErrUnsupported where the provider has none).
	ListTemplates(ctx context.Context) ([]Template, error)
}

// WebhookRequest is what VerifyWebhook needs from an HTTP request.
type WebhookRequest struct {
	Header http.Header
	Query  url.Values
	// PathSecret is the per-connection secret segment of the webhook URL
	// (/webhooks/uazapi/{connection_id}/{secret}); empty for Meta.
	PathSecret string
	// Body is the raw request body, exactly as received.
	Body []byte
}

// Credentials are a connection's secrets, decrypted. They are never logged:
// LogValue and String mask them.
type Credentials struct {
	// Meta.
	AccessToken   string
	AppSecret     string
	VerifyToken   string
	PhoneNumberID string
	WABAID        string
	PageID        string
	IGAccountID   string
	// Unofficial gateways (uazapi, Evolution).
	BaseURL       string
	InstanceName  string
	InstanceToken string
	AdminToken    string
	// WebhookSecret is the secret segment of our webhook URL.
	WebhookSecret string
}

// Settings are a connection's non-secret options.
type Settings struct {
	// GraphBaseURL defaults to DefaultGraphBaseURL; the sandbox and tests
	// point it at a local server.
	GraphBaseURL string
	// APIVersion defaults to DefaultGraphAPIVersion.
	APIVersion string
	// Timeout bounds every provider call; default 30s.
	Timeout time.Duration
	// MaxMediaBytes bounds a media download; default 100 MiB.
	MaxMediaBytes int64
}

const (
	DefaultGraphBaseURL    = "https://graph.facebook.com"
	DefaultGraphAPIVersion = "v21.0"
	DefaultTimeout         = 30 * time.Second
	DefaultMaxMediaBytes   = 100 << 20
)

// WithDefaults fills the zero fields.
func (s Settings) WithDefaults() Settings {
	if s.GraphBaseURL == "" {
		s.GraphBaseURL = DefaultGraphBaseURL
	}
	if s.APIVersion == "" {
		s.APIVersion = DefaultGraphAPIVersion
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MaxMediaBytes <= 0 {
		s.MaxMediaBytes = DefaultMaxMediaBytes
	}
	return s
}

// SendResult is what a provider answered to an accepted send. Acceptance
// is not delivery: that comes later as StatusUpdate events.
type SendResult struct {
	ExternalID string
	// RecipientID is the provider's id for the recipient (WhatsApp wa_id),
	// which may differ from the number typed (Brazil's ninth digit).
	RecipientID string
}

// MediaRef names inbound media to download.
type MediaRef struct {
	// ID is the provider's media id (WhatsApp) or message id (gateways).
	ID string
	// URL is a direct URL when the provider gave one (Messenger attachments).
	URL string
	// SHA256 is the checksum from the webhook, hex or base64; used when the
	// provider's media lookup has none.
	SHA256 string
	// MimeType from the webhook, used when the download has none.
	MimeType string
}

// MediaContent is downloaded media, checked.
type MediaContent struct {
	Data     []byte
	MimeType string
	// SHA256 is the hex SHA-256 of Data.
	SHA256   string
	Filename string
}

// Template is a message template as the provider lists it.
type Template struct {
	ID       string
	Name     string
	Language string
	Status   string
	Category string
	// Components is the provider's JSON, kept as-is for the template editor.
	Components []byte
}

// InstanceManager is implemented by the unofficial gateways (uazapi,
// Evolution), whose connections are WhatsApp Web sessions an admin pairs
// with a QR code or a pairing code.
type InstanceManager interface {
	// Connect starts pairing: with phone empty the answer carries a QR code,
	// with a phone number a pairing code to type on the phone.
	Connect(ctx context.Context, phone string) (*InstanceState, error)
	// Status polls the instance's state.
	Status(ctx context.Context) (*InstanceState, error)
	// ConfigureWebhook points the instance's webhook at url with the events
	// we parse (and without echoes of our own API sends where possible).
	ConfigureWebhook(ctx context.Context, url string) error
}

// InstanceState is a gateway instance's state as its API reports it.
type InstanceState struct {
	Status         crmpb.ConnectionStatus
	ProviderStatus string
	QRCode         string
	PairingCode    string
	// Owner is the phone number the instance is logged in with.
	Owner       string
	ProfileName string
	LoggedIn    bool
}

// RetriesFailedWebhooks reports whether a provider delivers a webhook again
// when we answer it with an error, so that refusing one under load loses
// nothing. Meta retries (and the sandbox speaks its protocol); the unofficial
// gateways (uazapi, Evolution) may not.
func RetriesFailedWebhooks(provider string) bool {
	return provider == "meta" || provider == "sandbox"
}

// InteractiveSender is a provider whose messages can carry reply buttons
// and lists (the WhatsApp Cloud API, and the sandbox speaking it). A chatbot
// numbers the options in the text for every other provider.
type InteractiveSender interface {
	SendsInteractive() bool
}
