package channels

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"crm"
)

func TestUnixMillis(t *testing.T) {
	t.Parallel()
	cases := map[int64]int64{
		0:                0,
		-5:               0,
		1767000001:       1767000001000, // seconds (WhatsApp, Evolution)
		1767000299000:    1767000299000, // milliseconds (Messenger, uazapi)
		1767000299000123: 1767000299000, // microseconds
	}
	for in, want := range cases {
		if got := UnixMillis(in); got != want {
			t.Errorf("UnixMillis(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestFlexString(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D, E FlexString
	}
	if err := json.Unmarshal([]byte(`{"A":"1767000001","B":1767000299000,"C":true,"D":{"x":1},"E":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Int64() != 1767000001 || v.B.Int64() != 1767000299000 || !v.C.Bool() || v.D != "" || v.E != "" {
		t.Errorf("%+v", v)
	}
	if FlexString("-23.5").Float() != -23.5 || FlexString("NaN").Float() != 0 || FlexString("1e400").Int64() != 0 {
		t.Error("float parsing")
	}
}

func TestSecretEqual(t *testing.T) {
	t.Parallel()
	if !SecretEqual("a", "a") || SecretEqual("a", "b") || SecretEqual("", "") || SecretEqual("a", "") {
		t.Error("SecretEqual")
	}
}

func TestSendErrorHelpers(t *testing.T) {
	t.Parallel()
	rl := &SendError{Kind: RateLimited, RetryAfter: 2 * time.Second, Code: 130429}
	wrapped := fmt.Errorf("sending: %w", rl)
	if !IsRetryable(wrapped) || KindOf(wrapped) != RateLimited || !errors.Is(wrapped, ErrSendRateLimited) {
		t.Error("rate limited helpers")
	}
	if d, ok := RetryAfter(wrapped); !ok || d != 2*time.Second {
		t.Errorf("RetryAfter = %v %v", d, ok)
	}
	wc := &SendError{Kind: WindowClosed, Code: 131047}
	if IsRetryable(wc) || !errors.Is(wc, ErrWindowClosed) || errors.Is(wc, ErrUnreachable) {
		t.Error("window closed helpers")
	}
	if _, ok := RetryAfter(&SendError{Kind: Permanent}); ok {
		t.Error("permanent must not be retried")
	}
	if IsRetryable(nil) {
		t.Error("nil is not retryable")
	}
	if !strings.Contains(wc.Error(), "window_closed") || !strings.Contains(wc.Error(), "131047") {
		t.Errorf("message: %s", wc.Error())
	}
	for _, e := range []error{ErrInvalidSignature, ErrHandshakeRejected, ErrInvalidPayload} {
		var ce *crm.Error
		if !errors.As(e, &ce) {
			t.Errorf("%v is not a crm.Error", e)
		}
	}
	if !errors.Is(InvalidPayload(errors.New("x")), crm.ErrInvalid) {
		t.Error("InvalidPayload → 400")
	}
}

func TestCredentialsMasked(t *testing.T) {
	t.Parallel()
	c := Credentials{AccessToken: "EAAG-secret", AppSecret: "app-secret", VerifyToken: "verify-secret",
		InstanceToken: "inst-secret", AdminToken: "admin-secret", WebhookSecret: "hook-secret", PhoneNumberID: "109876543210987"}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("connection", "credentials", c)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", c, c, c, c)
	for _, secret := range []string{"EAAG-secret", "app-secret", "verify-secret", "inst-secret", "admin-secret", "hook-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("%s printed: %s", secret, out)
		}
	}
	if !strings.Contains(out, "109876543210987") {
		t.Error("non-secret ids should stay visible")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	rows := make([]ListRow, 11)
	bad := []*OutboundMessage{
		nil,
		{Type: OutText, Text: &OutboundText{Body: "x"}},
		{To: "1", Type: OutText},
		{To: "1", Type: OutImage, Media: &OutboundMedia{}},
		{To: "1", Type: OutLocation},
		{To: "1", Type: OutContacts},
		{To: "1", Type: OutReaction, Reaction: &OutboundReaction{}},
		{To: "1", Type: OutInteractive, Interactive: &Interactive{Kind: InteractiveButtons, Body: "b"}},
		{To: "1", Type: OutInteractive, Interactive: &Interactive{Kind: InteractiveList, Body: "b", ListButton: "x",
			Sections: []ListSection{{Rows: rows}}}},
		{To: "1", Type: OutTemplate, Template: &TemplateMessage{Name: "x"}},
		{To: "1", Type: "x"},
	}
	for i, m := range bad {
		if err := m.Validate(); KindOf(err) != Permanent || err == nil {
			t.Errorf("case %d: want permanent, got %v", i, err)
		}
	}
	ok := &OutboundMessage{To: "1", Type: OutReaction, Reaction: &OutboundReaction{MessageID: "wamid.X"}} // removal
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseVCardAndJID(t *testing.T) {
	t.Parallel()
	card := ParseVCard("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Silva;João;;;\r\nFN:João Silva\r\nitem1.TEL;waid=5511912345678:+55 11 91234-5678\r\n" +
		"EMAIL;type=INTERNET:joao@example.com\r\nORG:Loja;\r\nTITLE:Gerente\r\nURL:https://example.com\r\nEND:VCARD")
	if card.Name.FormattedName != "João Silva" || card.Name.FirstName != "João" || card.Phones[0].WaId != "5511912345678" ||
		card.Emails[0].Email != "joao@example.com" || card.Orgs[0].Company != "Loja" || card.Orgs[0].Title != "Gerente" || card.Urls[0].Url != "https://example.com" {
		t.Errorf("%v", card)
	}
	if JIDUser("5511987654321:12@s.whatsapp.net") != "5511987654321" || !IsGroupJID("1@g.us") || !IsLIDJID("1@lid") {
		t.Error("jid helpers")
	}
	if DigitsOnly("+55 (11) 98765-4321") != "5511987654321" {
		t.Error("DigitsOnly")
	}
}

func TestParseTemplateJSON(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplateJSON([]byte(`{"name":"boleto","language":{"code":"pt_BR"},"components":[
		{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/y.jpg"}}]},
		{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"P"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Name != "boleto" || tpl.LanguageCode != "pt_BR" || tpl.Components[0].Parameters[0].Media.Link != "https://x/y.jpg" ||
		*tpl.Components[1].Index != 1 || tpl.Components[1].Parameters[0].Payload != "P" {
		t.Errorf("%+v", tpl)
	}
	if _, err := ParseTemplateJSON([]byte(`{"name":"x"}`)); err == nil {
		t.Error("language required")
	}
}

// TestOnlyRetryingProvidersMayBeRefused: load shedding refuses webhooks
// only from providers that deliver them again.
func TestOnlyRetryingProvidersMayBeRefused(t *testing.T) {
	for provider, retries := range map[string]bool{"meta": true, "sandbox": true, "uazapi": false, "evolution": false, "": false} {
		if got := RetriesFailedWebhooks(provider); got != retries {
			t.Errorf("RetriesFailedWebhooks(%q) = %v, want %v", provider, got, retries)
		}
	}
}

// FuzzFlexString: a quoted JSON string decodes to exactly what
// encoding/json makes of it, whether or not it takes the no-escape fast
// path (escapes, control characters, invalid UTF-8 included).
func FuzzFlexString(f *testing.F) {
	for _, s := range []string{`"1767000001"`, `"Olá, tudo bem?"`, `"a\"b"`, `"\u00e9\n"`, "\"\xff\xfe\"", `"tab	here"`, `""`, `"😀"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			return // not a JSON string
		}
		var got FlexString
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if string(got) != want {
			t.Fatalf("%q: got %q, encoding/json %q", b, got, want)
		}
	})
}
