package meta

import (
	"testing"

	crmpb "crm/proto"
)

const (
	page  = "112233445566778"
	psid  = "7012345678901234"
	igID  = "17841400000000001"
	igsid = "1234567890123456"
)

func TestMessengerFixtures(t *testing.T) {
	t.Parallel()

	ev := parseOne(t, fixture(t, "messenger", "text.json"))
	eq(t, "channel", ev.Channel, crmpb.Channel_CHANNEL_MESSENGER)
	eq(t, "account", ev.AccountId, page)
	eq(t, "dedupe", ev.DedupeKey, "m_AbCdEf0123456789text")
	eq(t, "timestamp (already ms)", ev.TimestampMs, int64(1767000299000))
	contact, msg := inbound(t, ev)
	protoEq(t, "contact", contact, &crmpb.ContactProfile{ExternalId: psid, UserId: psid})
	protoEq(t, "message", msg, &crmpb.Message{ExternalId: "m_AbCdEf0123456789text", Type: crmpb.MessageType_MESSAGE_TYPE_TEXT,
		ProviderType: "text", From: psid, To: page, TimestampMs: 1767000299000, Text: "Oi, qual o horário de funcionamento?"})

	// An echo is outbound only, addressed to the user, never inbound.
	ev = parseOne(t, fixture(t, "messenger", "echo.json"))
	if ev.GetInboundMessage() != nil {
		t.Fatal("echo parsed as inbound")
	}
	echo := ev.GetOutboundEcho()
	if echo == nil {
		t.Fatalf("want OutboundEcho, got %T", ev.GetEvent())
	}
	eq(t, "echo dedupe is the mid", ev.DedupeKey, "m_AbCdEf0123456789echo")
	eq(t, "echo contact is the recipient", echo.Contact.ExternalId, psid)
	eq(t, "echo text", echo.Message.Text, "Abrimos às 9h.")
	eq(t, "echo app", echo.AppId, "1517776481860111")
	eq(t, "echo metadata", echo.Metadata, "crm-msg-42")
	// The send response's message_id is the echo's mid: the engine matches
	// them, so the message is stored once.
	eq(t, "echo mid matches send response", echo.Message.ExternalId, "m_AbCdEf0123456789echo")

	ev = parseOne(t, fixture(t, "messenger", "read.json"))
	protoEq(t, "read", ev.GetReadWatermark(), &crmpb.ReadWatermark{
		Contact: &crmpb.ContactProfile{ExternalId: psid, UserId: psid},
		Status:  crmpb.DeliveryStatus_DELIVERY_STATUS_READ, WatermarkMs: 1767000299400})
	again := parseOne(t, fixture(t, "messenger", "read.json"))
	eq(t, "read dedupe stable", again.DedupeKey, ev.DedupeKey)
}

func TestInstagramFixture(t *testing.T) {
	t.Parallel()
	ev := parseOne(t, fixture(t, "instagram", "text.json"))
	eq(t, "channel", ev.Channel, crmpb.Channel_CHANNEL_INSTAGRAM)
	eq(t, "account", ev.AccountId, igID)
	contact, msg := inbound(t, ev)
	eq(t, "igsid", contact.ExternalId, igsid)
	eq(t, "text", msg.Text, "Ainda tem no tamanho M?")
	eq(t, "type", msg.Type, crmpb.MessageType_MESSAGE_TYPE_TEXT)
	eq(t, "dedupe", ev.DedupeKey, "aWdfZAG1faXRlbToxOklHTWVzc2FnZUlEOjEyMzQ1")
}

func TestMessagingEventTypes(t *testing.T) {
	t.Parallel()
	inboundCase := func(typ crmpb.MessageType, check func(t *testing.T, m *crmpb.Message)) func(t *testing.T, ev *crmpb.ChannelEvent) {
		return func(t *testing.T, ev *crmpb.ChannelEvent) {
			_, m := inbound(t, ev)
			eq(t, "type", m.Type, typ)
			eq(t, "dedupe is the mid", ev.DedupeKey, m.ExternalId)
			if check != nil {
				check(t, m)
			}
		}
	}
	cases := []struct {
		file  string
		n     int
		check func(t *testing.T, ev *crmpb.ChannelEvent)
	}{
		{"messenger_attachments.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_IMAGE, func(t *testing.T, m *crmpb.Message) {
			if len(m.Attachments) != 2 || m.Attachments[1].Type != crmpb.AttachmentType_ATTACHMENT_TYPE_FILE ||
				m.Attachments[1].Url != "https://cdn.example.com/b.pdf" {
				t.Errorf("attachments: %v", m.Attachments)
			}
			eq(t, "media url", m.Media.GetUrl(), "https://cdn.example.com/a.jpg")
		})},
		{"messenger_audio.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_AUDIO, nil)},
		{"messenger_video.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_VIDEO, nil)},
		{"messenger_fallback.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_SHARE, func(t *testing.T, m *crmpb.Message) {
			eq(t, "fallback type", m.Attachments[0].Type, crmpb.AttachmentType_ATTACHMENT_TYPE_FALLBACK)
			eq(t, "fallback url", m.Attachments[0].Url, "https://example.com/x")
			eq(t, "fallback title", m.Attachments[0].Title, "Link")
		})},
		{"instagram_reel.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_SHARE, func(t *testing.T, m *crmpb.Message) {
			eq(t, "reel", m.Attachments[0].Type, crmpb.AttachmentType_ATTACHMENT_TYPE_IG_REEL)
			eq(t, "reel url", m.Attachments[0].Url, "https://lookaside.example.com/reel")
		})},
		{"instagram_post.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_SHARE, func(t *testing.T, m *crmpb.Message) {
			eq(t, "post", m.Attachments[0].Type, crmpb.AttachmentType_ATTACHMENT_TYPE_IG_POST)
		})},
		{"messenger_quick_reply.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_QUICK_REPLY, func(t *testing.T, m *crmpb.Message) {
			eq(t, "payload", m.QuickReplyPayload, "confirmar-pedido")
			eq(t, "text", m.Text, "Confirmar")
		})},
		{"messenger_reply_to.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_TEXT, func(t *testing.T, m *crmpb.Message) {
			eq(t, "reply to", m.ReplyTo.GetExternalId(), "m_ORIGINAL")
		})},
		{"messenger_postback.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_POSTBACK, func(t *testing.T, m *crmpb.Message) {
			protoEq(t, "postback", m.Postback, &crmpb.Postback{Title: "Começar", Payload: "GET_STARTED"})
		})},
		{"messenger_standby.json", 1, inboundCase(crmpb.MessageType_MESSAGE_TYPE_TEXT, func(t *testing.T, m *crmpb.Message) {
			eq(t, "text", m.Text, "via outro app")
		})},
		{"messenger_reaction.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			protoEq(t, "reaction", ev.GetReaction(), &crmpb.ReactionEvent{
				Contact: &crmpb.ContactProfile{ExternalId: psid, UserId: psid}, TargetExternalId: "m_OURS",
				Emoji: "❤️", Reaction: "love"})
		}},
		{"messenger_unreaction.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			eq(t, "removed", ev.GetReaction().GetRemoved(), true)
			eq(t, "target", ev.GetReaction().GetTargetExternalId(), "m_OURS")
		}},
		{"instagram_reaction.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			eq(t, "emoji", ev.GetReaction().GetEmoji(), "❤")
			eq(t, "contact", ev.GetReaction().GetContact().GetExternalId(), igsid)
		}},
		{"messenger_delivery.json", 2, func(t *testing.T, ev *crmpb.ChannelEvent) {
			st := ev.GetStatusUpdate()
			eq(t, "status", st.GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED)
			eq(t, "dedupe", ev.DedupeKey, st.GetExternalMessageId()+":delivered")
		}},
		{"instagram_seen.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			rw := ev.GetReadWatermark()
			eq(t, "status", rw.GetStatus(), crmpb.DeliveryStatus_DELIVERY_STATUS_READ)
			eq(t, "mid", rw.GetExternalMessageId(), "ig_OURS")
			eq(t, "watermark = event time", rw.GetWatermarkMs(), int64(1767000299000))
		}},
		{"instagram_messaging_seen.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			eq(t, "watermark", ev.GetReadWatermark().GetWatermarkMs(), int64(1767000299999))
		}},
		{"instagram_echo.json", 1, func(t *testing.T, ev *crmpb.ChannelEvent) {
			if ev.GetOutboundEcho() == nil {
				t.Fatalf("want echo, got %T", ev.GetEvent())
			}
			eq(t, "recipient", ev.GetOutboundEcho().GetContact().GetExternalId(), igsid)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			events := parse(t, testdata(t, tc.file))
			if len(events) != tc.n {
				t.Fatalf("want %d events, got %d", tc.n, len(events))
			}
			for _, ev := range events {
				if ev.DedupeKey == "" || ev.Provider != ProviderName {
					t.Errorf("event without dedupe key or provider: %v", ev)
				}
				tc.check(t, ev)
			}
		})
	}
}

func TestMessagingUnknownContentIsUnsupported(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object":"page","entry":[{"id":"1","messaging":[
		{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1767000000,"message":{"mid":"m_X","attachments":[{"type":"hologram","payload":{"url":"https://x"}}]}},
		{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1767000000,"message":{"mid":"m_Y","is_unsupported":true}},
		{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1767000000,"optin":{"ref":"x"}},
		"garbage"]}]}`)
	events := parse(t, body)
	if len(events) != 2 {
		t.Fatalf("want 2 events, got %d", len(events))
	}
	for _, ev := range events {
		_, m := inbound(t, ev)
		eq(t, "type", m.Type, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED)
		eq(t, "seconds normalised", m.TimestampMs, int64(1767000000000))
	}
}
