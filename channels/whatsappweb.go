package channels

import (
	"strings"

	crmpb "crm/proto"
)

// Helpers for the WhatsApp Web gateways (uazapi, Evolution), which speak in
// JIDs and vCards.

// JIDUser returns the user part of a JID ("5511987654321@s.whatsapp.net" →
// "5511987654321"), without a device suffix (":12").
func JIDUser(jid string) string {
	user, _, _ := strings.Cut(jid, "@")
	user, _, _ = strings.Cut(user, ":")
	return user
}

// IsGroupJID reports whether jid names a group.
func IsGroupJID(jid string) bool { return strings.HasSuffix(jid, "@g.us") }

// IsLIDJID reports whether jid is a WhatsApp LID (a privacy id, not a phone).
func IsLIDJID(jid string) bool { return strings.HasSuffix(jid, "@lid") }

// DigitsOnly keeps the digits of a phone number ("+55 11 98765-4321" →
// "5511987654321").
func DigitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseVCard reads the fields we show from a vCard 3.0 text: FN, N, TEL
// (with its waid), EMAIL, ORG, TITLE, URL. The raw text is kept.
func ParseVCard(vcard string) *crmpb.ContactCard {
	card := &crmpb.ContactCard{Name: &crmpb.ContactName{}, Vcard: vcard}
	var org *crmpb.ContactOrg
	for _, line := range strings.Split(strings.ReplaceAll(vcard, "\r\n", "\n"), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		params := strings.Split(key, ";")
		name := strings.ToUpper(params[0])
		if i := strings.LastIndex(name, "."); i >= 0 { // item1.TEL
			name = name[i+1:]
		}
		value = strings.TrimSpace(value)
		typ := ""
		waID := ""
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(p, "=")
			switch strings.ToLower(k) {
			case "type":
				typ = v
			case "waid":
				waID = v
			}
		}
		switch name {
		case "FN":
			card.Name.FormattedName = value
		case "N":
			parts := strings.Split(value, ";")
			card.Name.LastName = parts[0]
			if len(parts) > 1 {
				card.Name.FirstName = parts[1]
			}
		case "TEL":
			card.Phones = append(card.Phones, &crmpb.ContactPhone{Phone: value, WaId: waID, Type: typ})
		case "EMAIL":
			card.Emails = append(card.Emails, &crmpb.ContactEmail{Email: value, Type: typ})
		case "ORG":
			if org == nil {
				org = &crmpb.ContactOrg{}
				card.Orgs = append(card.Orgs, org)
			}
			org.Company = strings.TrimRight(value, ";")
		case "TITLE":
			if org == nil {
				org = &crmpb.ContactOrg{}
				card.Orgs = append(card.Orgs, org)
			}
			org.Title = value
		case "URL":
			card.Urls = append(card.Urls, &crmpb.ContactUrl{Url: value, Type: typ})
		}
	}
	return card
}

// WhatsAppWebType maps a Baileys message type ("imageMessage",
// "ExtendedTextMessage", "conversation"…) to ours; ok is false for types we
// don't handle.
func WhatsAppWebType(messageType string) (crmpb.MessageType, bool) {
	t := strings.ToLower(messageType)
	t = strings.TrimSuffix(t, "message")
	switch t {
	case "conversation", "extendedtext", "text", "chat":
		return crmpb.MessageType_MESSAGE_TYPE_TEXT, true
	case "image":
		return crmpb.MessageType_MESSAGE_TYPE_IMAGE, true
	case "video", "ptv":
		return crmpb.MessageType_MESSAGE_TYPE_VIDEO, true
	case "audio", "ptt", "myaudio":
		return crmpb.MessageType_MESSAGE_TYPE_AUDIO, true
	case "document", "documentwithcaption":
		return crmpb.MessageType_MESSAGE_TYPE_DOCUMENT, true
	case "sticker":
		return crmpb.MessageType_MESSAGE_TYPE_STICKER, true
	case "location", "livelocation":
		return crmpb.MessageType_MESSAGE_TYPE_LOCATION, true
	case "contact", "contactsarray", "vcard", "contacts":
		return crmpb.MessageType_MESSAGE_TYPE_CONTACTS, true
	case "reaction":
		return crmpb.MessageType_MESSAGE_TYPE_REACTION, true
	case "buttonsresponse", "button":
		return crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY, true
	case "templatebuttonreply":
		return crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON, true
	case "listresponse", "list":
		return crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY, true
	}
	return crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED, false
}
