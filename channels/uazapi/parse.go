package uazapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"crm/channels"
	crmpb "crm/proto"
)

// ParseWebhook turns a uazapi webhook into events. received stamps events
// that carry no time of their own (connection changes), so two "connected"
// events an hour apart stay two events.
//
//   - messages: a message from the customer → InboundMessage; fromMe (sent
//     from the phone) → OutboundEcho; wasSentByApi → skipped (we sent it and
//     already have it).
//   - messages_update: shape UNCONFIRMED; read into StatusUpdates when it
//     names message ids and a status we know, otherwise ignored.
//   - connection → ConnectionState.
//
// Other event types give no events. Only a body that is not a JSON object
// with an EventType is an error.
func ParseWebhook(body []byte, received time.Time) ([]*crmpb.ChannelEvent, error) {
	payload := channels.ParseLoose(body)
	if payload == nil {
		return nil, channels.InvalidPayload(fmt.Errorf("not a JSON object"))
	}
	eventType := payload.Str("EventType", "event", "type")
	if eventType == "" {
		return nil, channels.InvalidPayload(fmt.Errorf("no EventType"))
	}
	instance := payload.Str("instanceName")
	if instance == "" {
		instance = payload.Obj("instance").Str("name")
	}
	base := func() *crmpb.ChannelEvent {
		return &crmpb.ChannelEvent{
			Provider:          ProviderName,
			Channel:           crmpb.Channel_CHANNEL_WHATSAPP,
			AccountId:         instance,
			BusinessAccountId: payload.Str("owner"),
		}
	}
	events := []*crmpb.ChannelEvent{}
	switch strings.ToLower(eventType) {
	case "messages":
		if ev := parseMessage(payload, base()); ev != nil {
			events = append(events, ev)
		}
	case "messages_update":
		events = append(events, parseUpdate(payload, base)...)
	case "connection":
		events = append(events, parseConnection(payload, base(), received))
	}
	return events, nil
}

func parseMessage(payload channels.Loose, ev *crmpb.ChannelEvent) *crmpb.ChannelEvent {
	m := payload.Obj("message")
	if m == nil {
		return nil
	}
	if m.Bool("wasSentByApi") {
		return nil
	}
	chat := payload.Obj("chat")
	msg := ParseMessage(m)
	ev.DedupeKey = msg.ExternalId
	if ev.DedupeKey == "" {
		ev.DedupeKey = channels.DedupeKey("uazapi-msg", m.Str("chatid"), m.Str("messageTimestamp"), msg.Text)
	}
	ev.TimestampMs = msg.TimestampMs

	chatID := m.Str("chatid")
	if chatID == "" {
		chatID = chat.Str("wa_chatid")
	}
	isGroup := m.Bool("isGroup") || channels.IsGroupJID(chatID)
	if m.Bool("fromMe") {
		// Typed on the phone (or by another tool): ours, stored as outbound.
		contact := chatContact(chatID, chat)
		msg.To = chatID
		ev.Event = &crmpb.ChannelEvent_OutboundEcho{OutboundEcho: &crmpb.OutboundEcho{Contact: contact, Message: msg}}
		return ev
	}
	var contact *crmpb.ContactProfile
	if isGroup {
		contact = senderContact(m)
		contact.GroupId = chatID
	} else {
		contact = chatContact(chatID, chat)
		if name := m.Str("senderName"); name != "" {
			contact.Name = name
		}
		if lid := m.Str("sender_lid"); lid != "" && contact.Lid == "" {
			contact.Lid = lid
		}
	}
	ev.Event = &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{Contact: contact, Message: msg}}
	return ev
}

// chatContact is the other person of a one-to-one chat, keyed on the phone
// number (the wa_id of the Cloud API, so one person stays one contact).
func chatContact(chatID string, chat channels.Loose) *crmpb.ContactProfile {
	phone := ""
	if !channels.IsLIDJID(chatID) {
		phone = channels.JIDUser(chatID)
	}
	if phone == "" {
		phone = channels.DigitsOnly(chat.Str("phone"))
	}
	c := &crmpb.ContactProfile{ExternalId: phone, WaId: phone, Phone: phone,
		Name: chat.Str("wa_name", "name", "wa_contactName")}
	if lid := chat.Str("wa_chatlid"); lid != "" {
		c.Lid = lid
	}
	if channels.IsLIDJID(chatID) {
		c.Lid = chatID
		if c.ExternalId == "" {
			c.ExternalId = chatID
		}
	}
	return c
}

// senderContact is the author of a group message.
func senderContact(m channels.Loose) *crmpb.ContactProfile {
	pn := m.Str("sender_pn")
	sender := m.Str("sender")
	if pn == "" && !channels.IsLIDJID(sender) {
		pn = sender
	}
	phone := channels.JIDUser(pn)
	c := &crmpb.ContactProfile{ExternalId: phone, WaId: phone, Phone: phone, Name: m.Str("senderName")}
	if lid := m.Str("sender_lid"); lid != "" {
		c.Lid = lid
	} else if channels.IsLIDJID(sender) {
		c.Lid = sender
	}
	if c.ExternalId == "" {
		c.ExternalId = c.Lid
	}
	return c
}

// ParseMessage maps a uazapi message object to ours. uazapi names types
// both in messageType (Baileys: "ExtendedTextMessage", "ImageMessage") and
// in mediaType ("image", "ptt", …); content holds the Baileys message.
func ParseMessage(m channels.Loose) *crmpb.Message {
	content := m.Obj("content")
	msg := &crmpb.Message{
		ExternalId:   m.Str("messageid"),
		ProviderType: m.Str("messageType", "type"),
		From:         m.Str("sender_pn", "sender"),
		TimestampMs:  channels.UnixMillis(m.Int("messageTimestamp")),
		Text:         m.Str("text"),
	}
	if msg.ExternalId == "" {
		if id := m.Str("id"); id != "" {
			_, after, found := strings.Cut(id, ":")
			if found {
				id = after
			}
			msg.ExternalId = id
		}
	}
	if msg.Text == "" {
		msg.Text = content.Str("text", "caption", "conversation")
	}
	if q := m.Str("quoted"); q != "" {
		msg.ReplyTo = &crmpb.ReplyContext{ExternalId: q}
	} else if ctx := content.Obj("contextInfo"); ctx.Str("stanzaID", "stanzaId") != "" {
		msg.ReplyTo = &crmpb.ReplyContext{ExternalId: ctx.Str("stanzaID", "stanzaId"), From: channels.JIDUser(ctx.Str("participant"))}
	}
	if ctx := content.Obj("contextInfo"); ctx.Bool("isForwarded") {
		msg.Forwarded = true
		msg.FrequentlyForwarded = ctx.Int("forwardingScore") >= 5
	}

	mediaType := strings.ToLower(m.Str("mediaType"))
	typ, ok := channels.WhatsAppWebType(m.Str("messageType"))
	if mediaType != "" {
		if t, known := channels.WhatsAppWebType(mediaType); known {
			typ, ok = t, true
		}
	}
	if !ok && m.Str("messageType") == "" {
		if t, known := channels.WhatsAppWebType(m.Str("type")); known {
			typ, ok = t, true
		}
	}
	if !ok && msg.Text != "" && m.Str("messageType") == "" {
		typ, ok = crmpb.MessageType_MESSAGE_TYPE_TEXT, true
	}
	if !ok {
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
		msg.Errors = []*crmpb.ProviderError{{Title: "message type " + strconv.Quote(msg.ProviderType) + " not supported"}}
		return msg
	}
	msg.Type = typ
	switch typ {
	case crmpb.MessageType_MESSAGE_TYPE_IMAGE, crmpb.MessageType_MESSAGE_TYPE_VIDEO, crmpb.MessageType_MESSAGE_TYPE_AUDIO,
		crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, crmpb.MessageType_MESSAGE_TYPE_STICKER:
		msg.Media = &crmpb.Media{
			// The gateway downloads by message id (POST /message/download).
			Id:       msg.ExternalId,
			Url:      content.Str("URL", "url"),
			MimeType: content.Str("mimetype", "mimeType"),
			Sha256:   content.Str("fileSHA256", "fileSha256"),
			Caption:  content.Str("caption"),
			Filename: content.Str("fileName", "filename", "title"),
			Voice:    mediaType == "ptt" || content.Bool("PTT", "ptt"),
			Animated: content.Bool("isAnimated"),
			FileSize: content.Int("fileLength"),
		}
		if msg.Media.Caption == "" && typ != crmpb.MessageType_MESSAGE_TYPE_AUDIO {
			msg.Media.Caption = m.Str("text")
		}
		msg.Text = msg.Media.Caption
	case crmpb.MessageType_MESSAGE_TYPE_LOCATION:
		msg.Location = &crmpb.Location{
			Latitude: content.Float("degreesLatitude", "latitude"), Longitude: content.Float("degreesLongitude", "longitude"),
			Name: content.Str("name"), Address: content.Str("address"), Url: content.Str("URL", "url"),
		}
	case crmpb.MessageType_MESSAGE_TYPE_CONTACTS:
		cards := content.List("contacts")
		if len(cards) == 0 && content != nil {
			cards = []channels.Loose{content}
		}
		for _, c := range cards {
			card := channels.ParseVCard(c.Str("vcard", "vCard"))
			if card.Name.FormattedName == "" {
				card.Name.FormattedName = c.Str("displayName")
			}
			msg.Contacts = append(msg.Contacts, card)
		}
	case crmpb.MessageType_MESSAGE_TYPE_REACTION:
		target := m.Str("reaction")
		if target == "" {
			target = content.Obj("key").Str("ID", "id")
		}
		emoji := content.Str("text")
		if emoji == "" {
			emoji = m.Str("text")
		}
		msg.Reaction = &crmpb.Reaction{TargetExternalId: target, Emoji: emoji, Removed: emoji == ""}
		msg.Text = ""
	case crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY:
		msg.ButtonReply = &crmpb.ButtonReply{
			Id:    firstNonEmpty(m.Str("buttonOrListid"), content.Str("selectedButtonID", "selectedButtonId")),
			Title: firstNonEmpty(content.Str("selectedDisplayText"), msg.Text),
		}
	case crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON:
		msg.TemplateButton = &crmpb.TemplateButton{
			Payload: firstNonEmpty(m.Str("buttonOrListid"), content.Str("selectedID", "selectedId")),
			Text:    firstNonEmpty(content.Str("selectedDisplayText"), msg.Text),
		}
	case crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY:
		msg.ListReply = &crmpb.ListReply{
			Id:          firstNonEmpty(m.Str("buttonOrListid"), content.Obj("singleSelectReply").Str("selectedRowID", "selectedRowId")),
			Title:       firstNonEmpty(content.Str("title"), msg.Text),
			Description: content.Str("description"),
		}
	}
	return msg
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// Receipt names seen in WhatsApp Web gateways, lower-cased.
var updateStatuses = map[string]crmpb.DeliveryStatus{
	"pending":      crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING,
	"sent":         crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"server_ack":   crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"serverack":    crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"delivered":    crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"delivery":     crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"delivery_ack": crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"deliveryack":  crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"read":         crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"read_ack":     crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"readack":      crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"played":       crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED,
	"played_ack":   crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED,
	"failed":       crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
	"error":        crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
}

// parseUpdate reads a messages_update defensively (UNCONFIRMED shape). It
// accepts the forms gateways of this family use: an "event" object with
// MessageIDs and Type (wuzapi receipts), or a "message"/"update" object with
// messageid and status. Updates about messages the customer sent (fromMe
// false) are not ours to track and are skipped.
func parseUpdate(payload channels.Loose, base func() *crmpb.ChannelEvent) []*crmpb.ChannelEvent {
	var out []*crmpb.ChannelEvent
	for _, src := range []channels.Loose{payload.Obj("event"), payload.Obj("message"), payload.Obj("update"), payload} {
		if src == nil {
			continue
		}
		if fromMe := src.Str("fromMe", "IsFromMe"); fromMe == "false" {
			return nil
		}
		statusName := strings.ToLower(src.Str("Type", "status", "state", "ack"))
		status, known := updateStatuses[statusName]
		if !known {
			continue
		}
		ids := src.Strs("MessageIDs")
		if len(ids) == 0 {
			ids = src.Strs("messageIds")
		}
		if id := src.Str("messageid", "messageId", "id"); len(ids) == 0 && id != "" {
			if _, after, found := strings.Cut(id, ":"); found {
				id = after
			}
			ids = []string{id}
		}
		if len(ids) == 0 {
			continue
		}
		ts := channels.UnixMillis(src.Int("messageTimestamp", "Timestamp", "timestamp"))
		if ts == 0 {
			if t, err := time.Parse(time.RFC3339, src.Str("Timestamp", "timestamp")); err == nil {
				ts = t.UnixMilli()
			}
		}
		recipient := channels.JIDUser(src.Str("Chat", "chatid", "chat"))
		for _, id := range ids {
			ev := base()
			ev.DedupeKey = id + ":" + strings.ToLower(strings.TrimPrefix(status.String(), "DELIVERY_STATUS_"))
			ev.TimestampMs = ts
			ev.Event = &crmpb.ChannelEvent_StatusUpdate{StatusUpdate: &crmpb.StatusUpdate{
				ExternalMessageId: id, Status: status, ProviderStatus: statusName, TimestampMs: ts, RecipientId: recipient,
			}}
			out = append(out, ev)
		}
		return out
	}
	return nil
}

var connectionStatuses = map[string]crmpb.ConnectionStatus{
	"connected":    crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED,
	"open":         crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED,
	"connecting":   crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING,
	"disconnected": crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED,
	"close":        crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED,
	"closed":       crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED,
}

func parseConnection(payload channels.Loose, ev *crmpb.ChannelEvent, received time.Time) *crmpb.ChannelEvent {
	inst := payload.Obj("instance")
	status := strings.ToLower(inst.Str("status"))
	cs := &crmpb.ConnectionState{
		Status:         connectionStatuses[status],
		ProviderStatus: status,
		QrCode:         inst.Str("qrcode"),
		PairingCode:    inst.Str("paircode", "pairingCode"),
		Reason:         firstNonEmpty(inst.Str("lastDisconnectReason"), inst.Str("lastDisconnect")),
		Owner:          firstNonEmpty(inst.Str("owner"), payload.Str("owner")),
	}
	ev.TimestampMs = received.UnixMilli()
	ev.DedupeKey = channels.DedupeKey("uazapi-connection", ev.AccountId, status, cs.QrCode, cs.PairingCode,
		cs.Reason, strconv.FormatInt(ev.TimestampMs, 10))
	ev.Event = &crmpb.ChannelEvent_ConnectionState{ConnectionState: cs}
	return ev
}
