package actors

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"crm"
	crmpb "crm/proto"
)

var wireJSON = protojson.MarshalOptions{UseProtoNames: true}

// rawProto encodes a sub-message as the API's JSON (snake_case), or nil.
func rawProto(m proto.Message) json.RawMessage {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil
	}
	b, err := wireJSON.Marshal(m)
	if err != nil || string(b) == "{}" {
		return nil
	}
	return b
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// ChannelName is the database and API name of a channel.
func ChannelName(c crmpb.Channel) string {
	switch c {
	case crmpb.Channel_CHANNEL_MESSENGER:
		return "messenger"
	case crmpb.Channel_CHANNEL_INSTAGRAM:
		return "instagram"
	}
	return "whatsapp"
}

// messageTypeName maps the channel event's type to the API's message type.
func messageTypeName(t crmpb.MessageType) string {
	switch t {
	case crmpb.MessageType_MESSAGE_TYPE_TEXT, crmpb.MessageType_MESSAGE_TYPE_QUICK_REPLY:
		return "text"
	case crmpb.MessageType_MESSAGE_TYPE_IMAGE:
		return "image"
	case crmpb.MessageType_MESSAGE_TYPE_AUDIO:
		return "audio"
	case crmpb.MessageType_MESSAGE_TYPE_VIDEO:
		return "video"
	case crmpb.MessageType_MESSAGE_TYPE_DOCUMENT:
		return "document"
	case crmpb.MessageType_MESSAGE_TYPE_STICKER:
		return "sticker"
	case crmpb.MessageType_MESSAGE_TYPE_LOCATION:
		return "location"
	case crmpb.MessageType_MESSAGE_TYPE_CONTACTS:
		return "contacts"
	case crmpb.MessageType_MESSAGE_TYPE_REACTION:
		return "reaction"
	case crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY, crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY:
		return "interactive"
	case crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON:
		return "button"
	case crmpb.MessageType_MESSAGE_TYPE_POSTBACK:
		return "postback"
	case crmpb.MessageType_MESSAGE_TYPE_SHARE:
		return "share"
	}
	return "unsupported"
}

// fillMessage copies a channel message into a stored message.
func fillMessage(m *crm.Message, in *crmpb.Message) {
	m.Type = messageTypeName(in.GetType())
	m.Text = in.GetText()
	if ext := in.GetExternalId(); ext != "" {
		m.ExternalID = &ext
	}
	m.Media = rawProto(in.GetMedia())
	if m.Media != nil && in.GetMedia().GetCaption() != "" && m.Text == "" {
		m.Text = in.GetMedia().GetCaption()
	}
	m.Location = rawProto(in.GetLocation())
	if len(in.GetContacts()) > 0 {
		cards := make([]json.RawMessage, 0, len(in.GetContacts()))
		for _, c := range in.GetContacts() {
			cards = append(cards, rawProto(c))
		}
		m.Contacts = rawJSON(cards)
	}
	m.Reaction = rawProto(in.GetReaction())
	switch {
	case in.GetButtonReply() != nil:
		m.Interactive = rawJSON(map[string]any{"type": "button_reply", "button_reply": json.RawMessage(rawProto(in.GetButtonReply()))})
		if m.Text == "" {
			m.Text = in.GetButtonReply().GetTitle()
		}
	case in.GetListReply() != nil:
		m.Interactive = rawJSON(map[string]any{"type": "list_reply", "list_reply": json.RawMessage(rawProto(in.GetListReply()))})
		if m.Text == "" {
			m.Text = in.GetListReply().GetTitle()
		}
	case in.GetTemplateButton() != nil:
		m.Interactive = rawJSON(map[string]any{"type": "template_button", "template_button": json.RawMessage(rawProto(in.GetTemplateButton()))})
		if m.Text == "" {
			m.Text = in.GetTemplateButton().GetText()
		}
	case in.GetPostback() != nil:
		m.Interactive = rawJSON(map[string]any{"type": "postback", "postback": json.RawMessage(rawProto(in.GetPostback()))})
		if m.Text == "" {
			m.Text = in.GetPostback().GetTitle()
		}
	case in.GetQuickReplyPayload() != "":
		m.Interactive = rawJSON(map[string]any{"type": "quick_reply", "payload": in.GetQuickReplyPayload()})
	}
	if len(in.GetAttachments()) > 0 {
		atts := make([]json.RawMessage, 0, len(in.GetAttachments()))
		for _, a := range in.GetAttachments() {
			atts = append(atts, rawProto(a))
		}
		if m.Media == nil {
			m.Media = rawJSON(map[string]any{"attachments": atts})
		}
	}
	m.Referral = rawProto(in.GetReferral())
	if r := in.GetReplyTo(); r != nil && r.GetExternalId() != "" {
		m.ReplyToExternalID = r.GetExternalId()
	}
	if len(in.GetErrors()) > 0 {
		errs := make([]json.RawMessage, 0, len(in.GetErrors()))
		for _, e := range in.GetErrors() {
			errs = append(errs, rawProto(e))
		}
		m.Error = rawJSON(map[string]any{"errors": errs})
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
}

// preview is the one-line summary shown in the inbox list.
func preview(m *crm.Message) string {
	text := strings.TrimSpace(m.Text)
	if text != "" {
		return truncate(strings.Join(strings.Fields(text), " "), 120)
	}
	switch m.Type {
	case "image":
		return "📷 Imagem"
	case "audio":
		return "🎤 Áudio"
	case "video":
		return "🎥 Vídeo"
	case "document":
		return "📄 Documento"
	case "sticker":
		return "Figurinha"
	case "location":
		return "📍 Localização"
	case "contacts":
		return "👤 Contato"
	case "reaction":
		var r struct {
			Emoji string `json:"emoji"`
		}
		_ = json.Unmarshal(m.Reaction, &r)
		if r.Emoji == "" {
			return "Reação removida"
		}
		return "Reagiu " + r.Emoji
	case "template":
		return "Modelo de mensagem"
	}
	return "Mensagem não suportada"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// contactPhone is the E.164 phone of a WhatsApp contact, or "".
func contactPhone(channel crmpb.Channel, p *crmpb.ContactProfile) string {
	if channel != crmpb.Channel_CHANNEL_WHATSAPP {
		return ""
	}
	raw := p.GetWaId()
	if raw == "" {
		raw = p.GetPhone()
	}
	if raw == "" {
		return ""
	}
	phone, err := crm.NormalizePhone("+" + strings.TrimPrefix(raw, "+"))
	if err != nil {
		return ""
	}
	return phone
}

// contactKey is the identity a contact is known by on its channel: wa_id when
// present, else the business-scoped user id, else the external id.
func contactKey(p *crmpb.ContactProfile) string {
	for _, k := range []string{p.GetWaId(), p.GetUserId(), p.GetExternalId()} {
		if k != "" {
			return k
		}
	}
	return ""
}

func errorf(code, format string, args ...any) *crmpb.ResultError {
	return &crmpb.ResultError{Code: code, Message: fmt.Sprintf(format, args...)}
}
