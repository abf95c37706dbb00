// Package meta is the adapter for Meta's APIs: the WhatsApp Business Cloud
// API, Messenger and Instagram messaging. One Provider serves one
// connection (one channel); the webhook format, signature and handshake are
// shared by the three channels.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"crm/channels"
	crmpb "crm/proto"
)

// ProviderName is the provider field of the events this package produces.
const ProviderName = "meta"

// SignatureHeader carries the HMAC-SHA256 of the raw body.
const SignatureHeader = "X-Hub-Signature-256"

// Config builds a Provider.
type Config struct {
	// Channel is whatsapp, messenger or instagram.
	Channel     crmpb.Channel
	Credentials channels.Credentials
	Settings    channels.Settings
	// HTTPClient defaults to a client with Settings.Timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Provider is one Meta connection.
type Provider struct {
	channel  crmpb.Channel
	creds    channels.Credentials
	settings channels.Settings
	client   *http.Client
	log      *slog.Logger
}

var _ channels.Provider = (*Provider)(nil)

// New validates cfg and fills its defaults.
func New(cfg Config) (*Provider, error) {
	switch cfg.Channel {
	case crmpb.Channel_CHANNEL_WHATSAPP, crmpb.Channel_CHANNEL_MESSENGER, crmpb.Channel_CHANNEL_INSTAGRAM:
	default:
		return nil, fmt.Errorf("meta: unknown channel %v", cfg.Channel)
	}
	settings := cfg.Settings.WithDefaults()
	if _, err := url.Parse(settings.GraphBaseURL); err != nil {
		return nil, fmt.Errorf("meta: graph base url: %w", err)
	}
	settings.GraphBaseURL = strings.TrimRight(settings.GraphBaseURL, "/")
	settings.APIVersion = strings.Trim(settings.APIVersion, "/")
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: settings.Timeout}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Provider{
		channel:  cfg.Channel,
		creds:    cfg.Credentials,
		settings: settings,
		client:   client,
		log:      logger.With("provider", ProviderName, "channel", cfg.Channel.String()),
	}, nil
}

// Channel implements channels.Provider.
func (p *Provider) Channel() crmpb.Channel { return p.channel }

// VerifyWebhook checks X-Hub-Signature-256 over the raw body with the app
// secret.
func (p *Provider) VerifyWebhook(req channels.WebhookRequest) error {
	return VerifySignature(p.creds.AppSecret, req.Header.Get(SignatureHeader), req.Body)
}

// VerifySignature checks header ("sha256=<hex>") against the HMAC-SHA256 of
// body under appSecret, in constant time. An empty secret rejects everything.
func VerifySignature(appSecret, header string, body []byte) error {
	if appSecret == "" {
		return fmt.Errorf("%w: connection has no app secret", channels.ErrInvalidSignature)
	}
	if header == "" {
		return fmt.Errorf("%w: missing %s", channels.ErrInvalidSignature, SignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("%w: not a sha256 signature", channels.ErrInvalidSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", channels.ErrInvalidSignature)
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: signature mismatch", channels.ErrInvalidSignature)
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value for body; the sandbox uses it
// to post webhooks the real verification accepts.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Handshake answers Meta's subscription check.
func (p *Provider) Handshake(query url.Values) (string, error) {
	return Handshake(p.creds.VerifyToken, query)
}

// Handshake returns hub.challenge when hub.mode is subscribe and
// hub.verify_token equals verifyToken (constant time); otherwise an error
// wrapping channels.ErrHandshakeRejected.
func Handshake(verifyToken string, query url.Values) (string, error) {
	if query.Get("hub.mode") != "subscribe" {
		return "", fmt.Errorf("%w: hub.mode is not subscribe", channels.ErrHandshakeRejected)
	}
	if !channels.SecretEqual(verifyToken, query.Get("hub.verify_token")) {
		return "", fmt.Errorf("%w: verify token mismatch", channels.ErrHandshakeRejected)
	}
	challenge := query.Get("hub.challenge")
	if challenge == "" {
		return "", fmt.Errorf("%w: no hub.challenge", channels.ErrHandshakeRejected)
	}
	return challenge, nil
}

// Parse implements channels.Provider; see ParseWebhook.
func (p *Provider) Parse(body []byte) ([]*crmpb.ChannelEvent, error) {
	return ParseWebhook(body)
}

// errNotMeta is returned for JSON that is not a Meta webhook envelope.
var errNotMeta = errors.New("not a meta webhook envelope")
