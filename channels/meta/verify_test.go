package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

type signatureExample struct {
	AppSecret string `json:"app_secret"`
	File      string `json:"file"`
	Signature string `json:"X-Hub-Signature-256"`
}

func loadSignatureExample(t *testing.T) (signatureExample, []byte) {
	t.Helper()
	var ex signatureExample
	if err := json.Unmarshal(fixture(t, "whatsapp", "_signature_and_handshake.json"), &ex); err != nil {
		t.Fatal(err)
	}
	return ex, fixture(t, "whatsapp", ex.File)
}

func newTestProvider(t *testing.T, channel crmpb.Channel, creds channels.Credentials, graph string) *Provider {
	t.Helper()
	p, err := New(Config{Channel: channel, Credentials: creds, Settings: channels.Settings{GraphBaseURL: graph}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignatureWorkedExample(t *testing.T) {
	t.Parallel()
	ex, body := loadSignatureExample(t)
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AppSecret: ex.AppSecret}, "")
	req := func(sig string, body []byte) channels.WebhookRequest {
		h := http.Header{}
		if sig != "" {
			h.Set(SignatureHeader, sig)
		}
		return channels.WebhookRequest{Header: h, Body: body}
	}
	if err := p.VerifyWebhook(req(ex.Signature, body)); err != nil {
		t.Fatalf("worked example must verify: %v", err)
	}
	eq(t, "Sign", Sign(ex.AppSecret, body), ex.Signature)

	// The same JSON re-serialised (compacted) is different bytes: rejected.
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatal(err)
	}
	var decoded any
	_ = json.Unmarshal(body, &decoded)
	reencoded, _ := json.Marshal(decoded)
	wrongSecret := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AppSecret: "other"}, "")
	noSecret := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{}, "")
	bad := []struct {
		name string
		p    *Provider
		req  channels.WebhookRequest
	}{
		{"compacted body", p, req(ex.Signature, compact.Bytes())},
		{"re-marshalled body", p, req(ex.Signature, reencoded)},
		{"missing header", p, req("", body)},
		{"no sha256= prefix", p, req(ex.Signature[len("sha256="):], body)},
		{"not hex", p, req("sha256=zz", body)},
		{"one byte off", p, req(ex.Signature[:len(ex.Signature)-1]+"0", body)},
		{"wrong secret", wrongSecret, req(ex.Signature, body)},
		{"no secret configured", noSecret, req(ex.Signature, body)},
	}
	for _, tc := range bad {
		err := tc.p.VerifyWebhook(tc.req)
		if !errors.Is(err, channels.ErrInvalidSignature) {
			t.Errorf("%s: want ErrInvalidSignature, got %v", tc.name, err)
		}
		if !errors.Is(err, crm.ErrUnauthenticated) {
			t.Errorf("%s: must map to 401 (crm.ErrUnauthenticated), got %v", tc.name, err)
		}
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{VerifyToken: "meu-token-de-verificacao"}, "")
	good := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {"meu-token-de-verificacao"}}
	got, err := p.Handshake(good)
	if err != nil || got != "1158201444" {
		t.Fatalf("good handshake: %q %v", got, err)
	}
	bad := map[string]url.Values{
		"wrong token":  {"hub.mode": {"subscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {"nope"}},
		"no token":     {"hub.mode": {"subscribe"}, "hub.challenge": {"1"}},
		"wrong mode":   {"hub.mode": {"unsubscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {"meu-token-de-verificacao"}},
		"no challenge": {"hub.mode": {"subscribe"}, "hub.verify_token": {"meu-token-de-verificacao"}},
	}
	for name, q := range bad {
		_, err := p.Handshake(q)
		if !errors.Is(err, channels.ErrHandshakeRejected) || !errors.Is(err, crm.ErrForbidden) {
			t.Errorf("%s: want ErrHandshakeRejected (403), got %v", name, err)
		}
	}
	// A connection without a verify token accepts no handshake, not even an
	// empty token.
	empty := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{}, "")
	if _, err := empty.Handshake(url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}, "hub.verify_token": {""}}); err == nil {
		t.Error("empty verify token must not match")
	}
}
