package meta

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"crm/channels"
	crmpb "crm/proto"
)

// The engine stores templates in WhatsApp's JSON (SendRequest.template_json):
// parsed and sent again, they must come out as Meta expects them.
func TestTemplateJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, want := range [][]byte{fixture(t, "whatsapp", "send", "template.json"), testdata(t, "send/template_media_buttons.json")} {
		var req struct {
			Template json.RawMessage `json:"template"`
		}
		if err := json.Unmarshal(want, &req); err != nil {
			t.Fatal(err)
		}
		tpl, err := channels.ParseTemplateJSON(req.Template)
		if err != nil {
			t.Fatal(err)
		}
		srv := newGraphServer(t, http.StatusOK, fixture(t, "whatsapp", "send", "response_success.json"))
		p := newTestProvider(t, crmpb.Channel_CHANNEL_WHATSAPP, channels.Credentials{AccessToken: "t", PhoneNumberID: "1"}, srv.URL)
		if _, err := p.Send(context.Background(), &channels.OutboundMessage{To: to, Type: channels.OutTemplate, Template: tpl}); err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, tpl.Name, srv.last(t).body, want)
	}
}

func BenchmarkParseWhatsAppText(b *testing.B) {
	body := fixture(b, "whatsapp", "text.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseWhatsAppBatch(b *testing.B) {
	body := testdata(b, "whatsapp_batch.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	body := fixture(b, "whatsapp", "text.json")
	sig := Sign("test_app_secret_123", body)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature("test_app_secret_123", sig, body); err != nil {
			b.Fatal(err)
		}
	}
}
