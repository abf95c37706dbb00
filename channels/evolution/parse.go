package evolution

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crm/channels"
	crmpb "crm/proto"
)

// ParseWebhook turns an Evolution webhook into events:
//   - messages.upsert: customer messages → InboundMessage; fromMe (typed on
//     the phone) → OutboundEcho. Our API sends arrive as send.message and
//     are skipped: we have them already.
//   - messages.update: statuses PENDING, SERVER_ACK, DELIVERY_ACK, READ,
//     PLAYED, ERROR (or Baileys' numbers 1–5, 0) of our messages.
//   - connection.update (state open|connecting|close) and qrcode.updated →
//     ConnectionState.
//
// Event names are accepted as "messages.upsert" or "MESSAGES_UPSERT"; data
// as one object or an array. received stamps events without a time.
func ParseWebhook(body []byte, received time.Time) ([]*crmpb.ChannelEvent, error) {
	payload := channels.ParseLoose(body)
	if payload == nil {
		return nil, channels.InvalidPayload(fmt.Errorf("not a JSON object"))
	}
	event := strings.ReplaceAll(strings.ToLower(payload.Str("event")), "_", ".")
	if event == "" {
		return nil, channels.InvalidPayload(fmt.Errorf("no event"))
	}
	instance := payload.Str("instance")
	if instance == "" {
		instance = payload.Obj("instance").Str("instanceName", "name")
	}
	base := func() *crmpb.ChannelEvent {
		return &crmpb.ChannelEvent{
			Provider:          ProviderName,
			Channel:           crmpb.Channel_CHANNEL_WHATSAPP,
			AccountId:         instance,
			BusinessAccountId: channels.JIDUser(payload.Str("sender")),
		}
	}
	at := received
	if t, err := time.Parse(time.RFC3339, payload.Str("date_time")); err == nil {
		at = t
	}
	events := []*crmpb.ChannelEvent{}
	for _, data := range dataItems(payload) {
		switch event {
		case "messages.upsert":
			ev, err := parseUpsert(data, base())
			if err != nil {
				return nil, err
			}
			if ev != nil {
				events = append(events, ev)
			}
		case "messages.update":
			if ev := parseUpdate(data, base()); ev != nil {
				events = append(events, ev)
			}
		case "connection.update":
			events = append(events, parseConnection(data, base(), at))
		case "qrcode.updated":
			events = append(events, parseQRCode(data, base(), at))
		}
	}
	return events, nil
}

// dataItems returns data as a list (it is an object or an array of them).
func dataItems(payload channels.Loose) []channels.Loose {
	if d := payload.Obj("data"); d != nil {
		return []channels.Loose{d}
	}
	return payload.List("data")
}

func parseUpsert(data channels.Loose, ev *crmpb.ChannelEvent) (*crmpb.ChannelEvent, error) {
	key := data.Obj("key")
	if key == nil {
		return nil, nil
	}
	msg := ParseMessage(data)
	ev.DedupeKey = msg.ExternalId
	if ev.DedupeKey == "" {
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, channels.InvalidPayload(fmt.Errorf("message without an id: %w", err))
		}
		ev.DedupeKey = channels.DedupeKey("evolution-msg", string(raw))
	}
	ev.TimestampMs = msg.TimestampMs
	remote := key.Str("remoteJid")
	if key.Bool("fromMe") {
		msg.To = remote
		ev.Event = &crmpb.ChannelEvent_OutboundEcho{OutboundEcho: &crmpb.OutboundEcho{Contact: chatContact(key, data, false), Message: msg}}
		return ev, nil
	}
	ev.Event = &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
		Contact: chatContact(key, data, true), Message: msg}}
	return ev, nil
}

// chatContact is the customer: the remote JID, or for a group the
// participant who wrote (inbound only). LIDs are resolved to the phone JID
// when the payload carries it (senderPn / remoteJidAlt).
func chatContact(key, data channels.Loose, inbound bool) *crmpb.ContactProfile {
	remote := key.Str("remoteJid")
	c := &crmpb.ContactProfile{}
	jid := remote
	if channels.IsGroupJID(remote) {
		c.GroupId = remote
		jid = key.Str("participant", "participantAlt")
	}
	if channels.IsLIDJID(jid) {
		c.Lid = jid
		if alt := firstNonEmpty(key.Str("senderPn", "remoteJidAlt", "participantAlt"), data.Str("senderPn")); alt != "" && !channels.IsLIDJID(alt) {
			jid = alt
		}
	}
	if !channels.IsLIDJID(jid) {
		phone := channels.JIDUser(jid)
		c.WaId, c.Phone = phone, phone
	}
	c.ExternalId = firstNonEmpty(c.WaId, c.Lid)
	if inbound {
		c.Name = data.Str("pushName")
	}
	return c
}

// ParseMessage maps an Evolution message (data of messages.upsert) to ours.
func ParseMessage(data channels.Loose) *crmpb.Message {
	key := data.Obj("key")
	body := data.Obj("message")
	msg := &crmpb.Message{
		ExternalId:   key.Str("id"),
		ProviderType: data.Str("messageType"),
		From:         key.Str("remoteJid"),
		TimestampMs:  channels.UnixMillis(data.Int("messageTimestamp")),
	}
	if p := key.Str("participant"); p != "" {
		msg.From = p
	}
	typeName := msg.ProviderType
	content := body.Obj(typeName)
	if typeName == "" || (content == nil && typeName != "conversation") {
		// Find the content by its key when messageType is missing.
		for k := range body {
			if _, known := channels.WhatsAppWebType(k); known && k != "messageContextInfo" {
				typeName, content = k, body.Obj(k)
				break
			}
		}
		if msg.ProviderType == "" {
			msg.ProviderType = typeName
		}
	}
	if typeName == "documentWithCaptionMessage" {
		content = content.Obj("message").Obj("documentMessage")
	}
	ctx := firstObj(content.Obj("contextInfo"), data.Obj("contextInfo"))
	if id := ctx.Str("stanzaId"); id != "" {
		msg.ReplyTo = &crmpb.ReplyContext{ExternalId: id, From: channels.JIDUser(ctx.Str("participant"))}
	}
	if ctx.Bool("isForwarded") {
		msg.Forwarded = true
		msg.FrequentlyForwarded = ctx.Int("forwardingScore") >= 5
	}

	typ, ok := channels.WhatsAppWebType(typeName)
	if !ok {
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
		msg.Errors = []*crmpb.ProviderError{{Title: "message type " + strconv.Quote(msg.ProviderType) + " not supported"}}
		return msg
	}
	msg.Type = typ
	switch typ {
	case crmpb.MessageType_MESSAGE_TYPE_TEXT:
		msg.Text = firstNonEmpty(body.Str("conversation"), content.Str("text"))
	case crmpb.MessageType_MESSAGE_TYPE_IMAGE, crmpb.MessageType_MESSAGE_TYPE_VIDEO, crmpb.MessageType_MESSAGE_TYPE_AUDIO,
		crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, crmpb.MessageType_MESSAGE_TYPE_STICKER:
		msg.Media = &crmpb.Media{
			Id:       msg.ExternalId, // downloaded by message id
			Url:      content.Str("url"),
			MimeType: content.Str("mimetype"),
			Sha256:   content.Str("fileSha256"),
			Caption:  content.Str("caption"),
			Filename: content.Str("fileName", "title"),
			Voice:    content.Bool("ptt"),
			Animated: content.Bool("isAnimated"),
			FileSize: content.Int("fileLength"),
		}
		msg.Text = msg.Media.Caption
	case crmpb.MessageType_MESSAGE_TYPE_LOCATION:
		msg.Location = &crmpb.Location{
			Latitude: content.Float("degreesLatitude"), Longitude: content.Float("degreesLongitude"),
			Name: content.Str("name"), Address: content.Str("address"), Url: content.Str("url"),
		}
	case crmpb.MessageType_MESSAGE_TYPE_CONTACTS:
		cards := content.List("contacts")
		if len(cards) == 0 && content != nil {
			cards = []channels.Loose{content}
		}
		for _, c := range cards {
			card := channels.ParseVCard(c.Str("vcard"))
			if card.Name.FormattedName == "" {
				card.Name.FormattedName = c.Str("displayName")
			}
			msg.Contacts = append(msg.Contacts, card)
		}
	case crmpb.MessageType_MESSAGE_TYPE_REACTION:
		emoji := content.Str("text")
		msg.Reaction = &crmpb.Reaction{TargetExternalId: content.Obj("key").Str("id"), Emoji: emoji, Removed: emoji == ""}
	case crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY:
		msg.ButtonReply = &crmpb.ButtonReply{Id: content.Str("selectedButtonId"), Title: content.Str("selectedDisplayText")}
		msg.Text = msg.ButtonReply.Title
	case crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON:
		msg.TemplateButton = &crmpb.TemplateButton{Payload: content.Str("selectedId"), Text: content.Str("selectedDisplayText")}
		msg.Text = msg.TemplateButton.Text
	case crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY:
		msg.ListReply = &crmpb.ListReply{Id: content.Obj("singleSelectReply").Str("selectedRowId"),
			Title: content.Str("title"), Description: content.Str("description")}
		msg.Text = msg.ListReply.Title
	}
	return msg
}

func firstObj(objs ...channels.Loose) channels.Loose {
	for _, o := range objs {
		if o != nil {
			return o
		}
	}
	return nil
}

var statuses = map[string]crmpb.DeliveryStatus{
	"PENDING":      crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING,
	"SERVER_ACK":   crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"DELIVERY_ACK": crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"READ":         crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"PLAYED":       crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED,
	"ERROR":        crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
	// Baileys' numeric WAMessageStatus.
	"0": crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
	"1": crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING,
	"2": crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"3": crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"4": crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"5": crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED,
}

// parseUpdate reads one status change. Evolution v2 sends {keyId,
// remoteJid, fromMe, status}; v1 {key: {...}, update: {status}}. Updates of
// the customer's own messages (fromMe false) are not ours and are skipped.
func parseUpdate(data channels.Loose, ev *crmpb.ChannelEvent) *crmpb.ChannelEvent {
	key := data.Obj("key")
	fromMe := firstNonEmpty(data.Str("fromMe"), key.Str("fromMe"))
	if fromMe == "false" {
		return nil
	}
	id := firstNonEmpty(data.Str("keyId"), key.Str("id"))
	name := strings.ToUpper(firstNonEmpty(data.Str("status"), data.Obj("update").Str("status")))
	status, known := statuses[name]
	if id == "" || !known {
		return nil
	}
	ts := channels.UnixMillis(firstNonEmptyInt(data.Int("messageTimestamp"), data.Int("datetime"), data.Obj("update").Int("messageTimestamp")))
	ev.DedupeKey = id + ":" + strings.ToLower(strings.TrimPrefix(status.String(), "DELIVERY_STATUS_"))
	ev.TimestampMs = ts
	ev.Event = &crmpb.ChannelEvent_StatusUpdate{StatusUpdate: &crmpb.StatusUpdate{
		ExternalMessageId: id, Status: status, ProviderStatus: name, TimestampMs: ts,
		RecipientId: channels.JIDUser(firstNonEmpty(data.Str("remoteJid"), key.Str("remoteJid"))),
	}}
	return ev
}

func firstNonEmptyInt(values ...int64) int64 {
	for _, v := range values {
		if v != 0 {
			return v
		}
	}
	return 0
}

var connectionStates = map[string]crmpb.ConnectionStatus{
	"open":       crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED,
	"connecting": crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING,
	"close":      crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED,
	"closed":     crmpb.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED,
}

func parseConnection(data channels.Loose, ev *crmpb.ChannelEvent, at time.Time) *crmpb.ChannelEvent {
	state := strings.ToLower(data.Str("state"))
	cs := &crmpb.ConnectionState{
		Status:         connectionStates[state],
		ProviderStatus: state,
		Reason:         data.Str("statusReason"),
		Owner:          channels.JIDUser(data.Str("wuid")),
	}
	ev.TimestampMs = at.UnixMilli()
	ev.DedupeKey = channels.DedupeKey("evolution-connection", ev.AccountId, state, cs.Reason, strconv.FormatInt(ev.TimestampMs, 10))
	ev.Event = &crmpb.ChannelEvent_ConnectionState{ConnectionState: cs}
	return ev
}

func parseQRCode(data channels.Loose, ev *crmpb.ChannelEvent, at time.Time) *crmpb.ChannelEvent {
	qr := firstObj(data.Obj("qrcode"), data)
	cs := &crmpb.ConnectionState{
		Status:         crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING,
		ProviderStatus: "qrcode",
		QrCode:         firstNonEmpty(qr.Str("base64"), qr.Str("code")),
		PairingCode:    qr.Str("pairingCode"),
	}
	ev.TimestampMs = at.UnixMilli()
	ev.DedupeKey = channels.DedupeKey("evolution-qrcode", ev.AccountId, cs.QrCode, cs.PairingCode, strconv.FormatInt(ev.TimestampMs, 10))
	ev.Event = &crmpb.ChannelEvent_ConnectionState{ConnectionState: cs}
	return ev
}
