package meta

import (
	"testing"

	crmpb "crm/proto"
)

const (
	fixturePhoneNumberID = "109876543210987"
	fixtureWABA          = "203040506070809"
	maria                = "5511987654321"
)

func mariaProfile() *crmpb.ContactProfile {
	return &crmpb.ContactProfile{ExternalId: maria, Name: "Maria Souza", WaId: maria, Phone: maria}
}

func TestWhatsAppFixtureMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		want *crmpb.Message
	}{
		{"text.json", &crmpb.Message{
			ExternalId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD01AA==",
			Type:       crmpb.MessageType_MESSAGE_TYPE_TEXT, ProviderType: "text", From: maria,
			TimestampMs: 1767000001000, Text: "Olá, vocês entregam em Campinas?",
		}},
		{"image.json", &crmpb.Message{
			ExternalId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD03AA==",
			Type:       crmpb.MessageType_MESSAGE_TYPE_IMAGE, ProviderType: "image", From: maria,
			TimestampMs: 1767000003000, Text: "Foto do produto",
			Media: &crmpb.Media{Id: "1122334455667788", MimeType: "image/jpeg", Caption: "Foto do produto",
				Sha256: "q1W0m7oJ2b3Y6cXyV0mYl0x3pJjz9XQf0Qk2sT8vA1U=",
				Url:    "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1122334455667788&ext=1767000003&hash=EXAMPLE"},
		}},
		{"audio_voice.json", &crmpb.Message{
			ExternalId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD04AA==",
			Type:       crmpb.MessageType_MESSAGE_TYPE_AUDIO, ProviderType: "audio", From: maria,
			TimestampMs: 1767000004000,
			Media: &crmpb.Media{Id: "2233445566778899", MimeType: "audio/ogg; codecs=opus", Voice: true,
				Sha256: "3mZbq0y8o6d1PjX7fXQm1b0y3V6r4o2eXk9cKZ1u8sE="},
		}},
		{"document.json", &crmpb.Message{
			ExternalId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD07AA==",
			Type:       crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, ProviderType: "document", From: maria,
			TimestampMs: 1767000007000, Text: "Segue o comprovante",
			Media: &crmpb.Media{Id: "4455667788990011", MimeType: "application/pdf", Caption: "Segue o comprovante",
				Filename: "comprovante-pix.pdf", Sha256: "pQ2rS4tU6vW8xY0zA2bC4dE6fG8hI0jK2lM4nO6pQ8r="},
		}},
		{"location.json", &crmpb.Message{
			ExternalId: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDAwMDAwMDAwMDAwMDAwMD09AA==",
			Type:       crmpb.MessageType_MESSAGE_TYPE_LOCATION, ProviderType: "location", From: maria,
			TimestampMs: 1767000009000,
			Location: &crmpb.Location{Latitude: -23.561684, Longitude: -46.655981, Name: "MASP",
				Address: "Av. Paulista, 1578 - Bela Vista, São Paulo - SP"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			ev := parseOne(t, fixture(t, "whatsapp", tc.file))
			eq(t, "provider", ev.Provider, ProviderName)
			eq(t, "channel", ev.Channel, crmpb.Channel_CHANNEL_WHATSAPP)
			eq(t, "account", ev.AccountId, fixturePhoneNumberID)
			eq(t, "business account", ev.BusinessAccountId, fixtureWABA)
			eq(t, "dedupe key", ev.DedupeKey, tc.want.ExternalId)
			eq(t, "timestamp", ev.TimestampMs, tc.want.TimestampMs)
			contact, msg := inbound(t, ev)
			protoEq(t, "contact", contact, mariaProfile())
			protoEq(t, "message", msg, tc.want)
		})
	}
}

func TestWhatsAppFixtureStatuses(t *testing.T) {
	t.Parallel()
	const out = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjc3Nzc3Nzc3Nzc3Nzc3NzcA"
	cases := []struct {
		file string
		want *crmpb.StatusUpdate
	}{
		{"status_sent.json", &crmpb.StatusUpdate{ExternalMessageId: out, Status: crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
			ProviderStatus: "sent", TimestampMs: 1767000100000, RecipientId: maria,
			ConversationId: "4f1c2b3a5d6e7f8091a2b3c4d5e6f708", ConversationOrigin: "service",
			ConversationExpiresMs: 1767086500000, PricingCategory: "service"}},
		{"status_delivered.json", &crmpb.StatusUpdate{ExternalMessageId: out, Status: crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
			ProviderStatus: "delivered", TimestampMs: 1767000105000, RecipientId: maria, PricingCategory: "service"}},
		{"status_read.json", &crmpb.StatusUpdate{ExternalMessageId: out, Status: crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
			ProviderStatus: "read", TimestampMs: 1767000160000, RecipientId: maria}},
		{"status_failed_131047.json", &crmpb.StatusUpdate{ExternalMessageId: out, Status: crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
			ProviderStatus: "failed", TimestampMs: 1767000200000, RecipientId: maria,
			Errors: []*crmpb.ProviderError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
				Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
				Href:    "/documentation/business-messaging/whatsapp/support/error-codes"}}}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		ev := parseOne(t, fixture(t, "whatsapp", tc.file))
		eq(t, tc.file+" account", ev.AccountId, fixturePhoneNumberID)
		protoEq(t, tc.file, ev.GetStatusUpdate(), tc.want)
		eq(t, tc.file+" dedupe", ev.DedupeKey, out+":"+tc.want.ProviderStatus)
		if seen[ev.DedupeKey] {
			t.Errorf("dedupe key %s repeats across statuses", ev.DedupeKey)
		}
		seen[ev.DedupeKey] = true
	}
}

func TestWhatsAppStatusPlayedAndOrder(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, testdata(t, "whatsapp_status_played.json"))
	eq(t, "status", ev.GetStatusUpdate().GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED)
	// The enum order is the forward order the engine relies on.
	order := []crmpb.DeliveryStatus{crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING, crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
		crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, crmpb.DeliveryStatus_DELIVERY_STATUS_READ, crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Errorf("%v should sort after %v", order[i], order[i-1])
		}
	}
}

func TestWhatsAppMessageTypes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file  string
		check func(t *testing.T, msg *crmpb.Message)
	}{
		{"whatsapp_video.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_VIDEO)
			protoEq(t, "media", m.Media, &crmpb.Media{Id: "5566", MimeType: "video/mp4", Sha256: "abc=", Caption: "Veja"})
		}},
		{"whatsapp_sticker.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_STICKER)
			protoEq(t, "media", m.Media, &crmpb.Media{Id: "7788", MimeType: "image/webp", Sha256: "st=", Animated: true})
		}},
		{"whatsapp_contacts.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_CONTACTS)
			if len(m.Contacts) != 1 {
				t.Fatalf("contacts: %v", m.Contacts)
			}
			protoEq(t, "card", m.Contacts[0], &crmpb.ContactCard{
				Name: &crmpb.ContactName{FormattedName: "João Silva", FirstName: "João", LastName: "Silva"},
				Phones: []*crmpb.ContactPhone{{Phone: "+55 11 91234-5678", WaId: "5511912345678", Type: "CELL"},
					{Phone: "+55 11 3333-4444", Type: "WORK"}},
				Emails: []*crmpb.ContactEmail{{Email: "joao@example.com", Type: "WORK"}},
				Orgs:   []*crmpb.ContactOrg{{Company: "Loja Exemplo", Department: "Vendas", Title: "Gerente"}},
				Urls:   []*crmpb.ContactUrl{{Url: "https://example.com", Type: "WORK"}},
				Addresses: []*crmpb.ContactAddress{{Street: "Av. Paulista, 1578", City: "São Paulo", State: "SP",
					Zip: "01310-200", Country: "Brasil", CountryCode: "BR", Type: "WORK"}},
				Birthday: "1990-05-17",
			})
		}},
		{"whatsapp_reaction.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_REACTION)
			protoEq(t, "reaction", m.Reaction, &crmpb.Reaction{TargetExternalId: "wamid.OURS", Emoji: "👍"})
		}},
		{"whatsapp_reaction_removed.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_REACTION)
			protoEq(t, "reaction", m.Reaction, &crmpb.Reaction{TargetExternalId: "wamid.OURS", Removed: true})
		}},
		{"whatsapp_interactive_button_reply.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY)
			protoEq(t, "button", m.ButtonReply, &crmpb.ButtonReply{Id: "confirmar-pedido", Title: "Confirmar"})
			protoEq(t, "context", m.ReplyTo, &crmpb.ReplyContext{ExternalId: "wamid.BUTTONS", From: "5511940001000"})
		}},
		{"whatsapp_interactive_list_reply.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY)
			protoEq(t, "list", m.ListReply, &crmpb.ListReply{Id: "sp", Title: "São Paulo", Description: "Capital"})
			eq(t, "context", m.ReplyTo.GetExternalId(), "wamid.LIST")
		}},
		{"whatsapp_template_button.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON)
			protoEq(t, "button", m.TemplateButton, &crmpb.TemplateButton{Payload: "PARAR", Text: "Parar promoções"})
			eq(t, "context", m.ReplyTo.GetExternalId(), "wamid.TEMPLATE")
		}},
		{"whatsapp_text_reply_context.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_TEXT)
			protoEq(t, "context", m.ReplyTo, &crmpb.ReplyContext{ExternalId: "wamid.ORIGINAL", From: "5511940001000"})
			eq(t, "forwarded", m.Forwarded, false)
		}},
		{"whatsapp_text_forwarded.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "forwarded", m.Forwarded, true)
			eq(t, "frequently forwarded", m.FrequentlyForwarded, true)
			if m.ReplyTo != nil {
				t.Errorf("forwarded message is not a reply: %v", m.ReplyTo)
			}
		}},
		{"whatsapp_text_referral.json", func(t *testing.T, m *crmpb.Message) {
			protoEq(t, "referral", m.Referral, &crmpb.Referral{SourceUrl: "https://fb.me/abc", SourceId: "120000000000",
				SourceType: "ad", Headline: "Promoção", Body: "Só hoje", MediaType: "image",
				ImageUrl: "https://example.com/ad.jpg", CtwaClid: "ARAkLkA"})
		}},
		{"whatsapp_unsupported.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
			eq(t, "provider type", m.ProviderType, "unsupported")
			if len(m.Errors) != 1 || m.Errors[0].Code != 131051 || m.Errors[0].Details == "" {
				t.Errorf("errors: %v", m.Errors)
			}
		}},
		{"whatsapp_unknown_type.json", func(t *testing.T, m *crmpb.Message) {
			eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
			eq(t, "provider type", m.ProviderType, "hologram")
			eq(t, "id", m.ExternalId, "wamid.HOLO")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			ev := parseOne(t, testdata(t, tc.file))
			contact, msg := inbound(t, ev)
			protoEq(t, "contact", contact, mariaProfile())
			eq(t, "dedupe key", ev.DedupeKey, msg.ExternalId)
			eq(t, "timestamp", msg.TimestampMs, int64(1767000010000))
			tc.check(t, msg)
		})
	}
}

func TestWhatsAppValueErrorsBecomeAccountError(t *testing.T) {
	t.Parallel()
	body := testdata(t, "whatsapp_value_errors.json")
	ev := parseOne(t, body)
	ae := ev.GetAccountError()
	if ae == nil || len(ae.Errors) != 1 || ae.Errors[0].Code != 131045 {
		t.Fatalf("want account error 131045, got %v", ev)
	}
	eq(t, "account", ev.AccountId, fixturePhoneNumberID)
	again := parseOne(t, body)
	eq(t, "stable dedupe key", again.DedupeKey, ev.DedupeKey)
}

func TestWhatsAppContactKeyedOnUserIDWithoutWaID(t *testing.T) {
	t.Parallel()
	contact, msg := inbound(t, parseOne(t, testdata(t, "whatsapp_user_id_only.json")))
	protoEq(t, "contact", contact, &crmpb.ContactProfile{ExternalId: "BR.1234567890ABCDEF",
		UserId: "BR.1234567890ABCDEF", Name: "Sem Número"})
	eq(t, "text", msg.Text, "oi")
}

func TestWhatsAppBatch(t *testing.T) {
	t.Parallel()
	events := parse(t, testdata(t, "whatsapp_batch.json"))
	if len(events) != 6 {
		t.Fatalf("want 6 events (3 messages, 2 statuses, 1 from the second entry), got %d", len(events))
	}
	c1, m1 := inbound(t, events[0])
	eq(t, "first from", c1.WaId, maria)
	eq(t, "first text", m1.Text, "um")
	c2, m2 := inbound(t, events[1])
	eq(t, "second contact", c2.Name, "José")
	eq(t, "second text", m2.Text, "dois")
	_, m3 := inbound(t, events[2])
	eq(t, "malformed kept as unsupported", m3.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
	eq(t, "malformed id", m3.ExternalId, "wamid.B3")
	// Out of order statuses are all reported; the engine only moves forward.
	eq(t, "read first", events[3].GetStatusUpdate().GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_READ)
	eq(t, "delivered after", events[4].GetStatusUpdate().GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED)
	eq(t, "second entry account", events[5].AccountId, "222")
	eq(t, "second entry waba", events[5].BusinessAccountId, "999")
}

func TestParseRejectsNonMetaBodies(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "not json", `{"entry": [`, `[]`, `{"foo": 1}`, `"x"`} {
		if _, err := ParseWebhook([]byte(body)); err == nil {
			t.Errorf("%q: want an error", body)
		}
	}
	// Another Meta object subscribed to the same app: valid, no events.
	events, err := ParseWebhook([]byte(`{"object":"permissions","entry":[{"id":"1"}]}`))
	if err != nil || len(events) != 0 {
		t.Errorf("unknown object: %v %v", events, err)
	}
}

// Coexistence: a message the business typed in the WhatsApp Business app is
// an outbound echo for the customer it went to, never inbound.
func TestWhatsAppBusinessAppEcho(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, testdata(t, "whatsapp_smb_echo.json"))
	echo := ev.GetOutboundEcho()
	if echo == nil {
		t.Fatalf("want OutboundEcho, got %T", ev.GetEvent())
	}
	eq(t, "contact", echo.GetContact().GetExternalId(), maria)
	eq(t, "text", echo.GetMessage().GetText(), "Respondi pelo app")
	eq(t, "dedupe", ev.DedupeKey, "wamid.ECHO")
}
