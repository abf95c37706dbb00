package meta

import (
	json "github.com/goccy/go-json"
	"strconv"
	"strings"

	"crm/channels"
	crmpb "crm/proto"
)

// Meta's webhook objects.
const (
	objectWhatsApp  = "whatsapp_business_account"
	objectPage      = "page"
	objectInstagram = "instagram"
)

type flex = channels.FlexString

// ParseWebhook turns a Meta webhook body (WhatsApp, Messenger or Instagram,
// told apart by "object") into events. It fails only when the body is not a
// Meta envelope; whatever is unknown inside becomes an unsupported message or
// is skipped, never an error for the batch. An object we don't handle
// (another product subscribed to the same app) gives no events.
func ParseWebhook(body []byte) ([]*crmpb.ChannelEvent, error) {
	var env struct {
		Object string            `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, channels.InvalidPayload(err)
	}
	if env.Object == "" {
		return nil, channels.InvalidPayload(errNotMeta)
	}
	events := []*crmpb.ChannelEvent{}
	for _, raw := range env.Entry {
		switch env.Object {
		case objectWhatsApp:
			events = append(events, parseWhatsAppEntry(raw)...)
		case objectPage:
			events = append(events, parseMessagingEntry(crmpb.Channel_CHANNEL_MESSENGER, raw)...)
		case objectInstagram:
			events = append(events, parseMessagingEntry(crmpb.Channel_CHANNEL_INSTAGRAM, raw)...)
		}
	}
	return events, nil
}

// WhatsApp wire types. Scalars are FlexString so one odd field can't fail a
// batch of a thousand updates.

type waEntry struct {
	ID      flex `json:"id"`
	Changes []struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	} `json:"changes"`
}

type waValue struct {
	MessagingProduct flex `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber flex `json:"display_phone_number"`
		PhoneNumberID      flex `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts     []waContact       `json:"contacts"`
	Messages     []json.RawMessage `json:"messages"`
	MessageEchos []json.RawMessage `json:"message_echoes"`
	Statuses     []json.RawMessage `json:"statuses"`
	Errors       []waError         `json:"errors"`
}

type waContact struct {
	Profile struct {
		Name flex `json:"name"`
	} `json:"profile"`
	WaID   flex `json:"wa_id"`
	UserID flex `json:"user_id"`
}

type waError struct {
	Code      flex `json:"code"`
	Title     flex `json:"title"`
	Message   flex `json:"message"`
	Href      flex `json:"href"`
	ErrorData struct {
		Details flex `json:"details"`
	} `json:"error_data"`
}

type waMedia struct {
	ID       flex `json:"id"`
	MimeType flex `json:"mime_type"`
	SHA256   flex `json:"sha256"`
	Caption  flex `json:"caption"`
	Filename flex `json:"filename"`
	URL      flex `json:"url"`
	Voice    flex `json:"voice"`
	Animated flex `json:"animated"`
	FileSize flex `json:"file_size"`
}

type waMessage struct {
	From       flex `json:"from"`
	FromUserID flex `json:"from_user_id"`
	To         flex `json:"to"`
	ID         flex `json:"id"`
	Timestamp  flex `json:"timestamp"`
	Type       flex `json:"type"`
	Context    *struct {
		From                flex `json:"from"`
		ID                  flex `json:"id"`
		Forwarded           flex `json:"forwarded"`
		FrequentlyForwarded flex `json:"frequently_forwarded"`
	} `json:"context"`
	Referral *struct {
		SourceURL    flex `json:"source_url"`
		SourceType   flex `json:"source_type"`
		SourceID     flex `json:"source_id"`
		Headline     flex `json:"headline"`
		Body         flex `json:"body"`
		MediaType    flex `json:"media_type"`
		ImageURL     flex `json:"image_url"`
		VideoURL     flex `json:"video_url"`
		ThumbnailURL flex `json:"thumbnail_url"`
		CtwaClid     flex `json:"ctwa_clid"`
	} `json:"referral"`
	Text *struct {
		Body flex `json:"body"`
	} `json:"text"`
	Image    *waMedia `json:"image"`
	Audio    *waMedia `json:"audio"`
	Video    *waMedia `json:"video"`
	Document *waMedia `json:"document"`
	Sticker  *waMedia `json:"sticker"`
	Location *struct {
		Latitude  flex `json:"latitude"`
		Longitude flex `json:"longitude"`
		Name      flex `json:"name"`
		Address   flex `json:"address"`
		URL       flex `json:"url"`
	} `json:"location"`
	Contacts []waContactCard `json:"contacts"`
	Reaction *struct {
		MessageID flex `json:"message_id"`
		Emoji     flex `json:"emoji"`
	} `json:"reaction"`
	Interactive *struct {
		Type        flex `json:"type"`
		ButtonReply *struct {
			ID    flex `json:"id"`
			Title flex `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          flex `json:"id"`
			Title       flex `json:"title"`
			Description flex `json:"description"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload flex `json:"payload"`
		Text    flex `json:"text"`
	} `json:"button"`
	Errors []waError `json:"errors"`
}

type waContactCard struct {
	Name struct {
		FormattedName flex `json:"formatted_name"`
		FirstName     flex `json:"first_name"`
		LastName      flex `json:"last_name"`
		MiddleName    flex `json:"middle_name"`
		Prefix        flex `json:"prefix"`
		Suffix        flex `json:"suffix"`
	} `json:"name"`
	Phones []struct {
		Phone flex `json:"phone"`
		WaID  flex `json:"wa_id"`
		Type  flex `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email flex `json:"email"`
		Type  flex `json:"type"`
	} `json:"emails"`
	Org *struct {
		Company    flex `json:"company"`
		Department flex `json:"department"`
		Title      flex `json:"title"`
	} `json:"org"`
	URLs []struct {
		URL  flex `json:"url"`
		Type flex `json:"type"`
	} `json:"urls"`
	Addresses []struct {
		Street      flex `json:"street"`
		City        flex `json:"city"`
		State       flex `json:"state"`
		Zip         flex `json:"zip"`
		Country     flex `json:"country"`
		CountryCode flex `json:"country_code"`
		Type        flex `json:"type"`
	} `json:"addresses"`
	Birthday flex `json:"birthday"`
}

type waStatus struct {
	ID              flex      `json:"id"`
	Status          flex      `json:"status"`
	Timestamp       flex      `json:"timestamp"`
	RecipientID     flex      `json:"recipient_id"`
	RecipientUserID flex      `json:"recipient_user_id"`
	Errors          []waError `json:"errors"`
	Conversation    *struct {
		ID                  flex `json:"id"`
		ExpirationTimestamp flex `json:"expiration_timestamp"`
		Origin              struct {
			Type flex `json:"type"`
		} `json:"origin"`
	} `json:"conversation"`
	Pricing *struct {
		Billable flex `json:"billable"`
		Category flex `json:"category"`
	} `json:"pricing"`
}

func parseWhatsAppEntry(raw json.RawMessage) []*crmpb.ChannelEvent {
	var entry waEntry
	if err := json.Unmarshal(raw, &entry); err != nil {
		return nil
	}
	var events []*crmpb.ChannelEvent
	for _, change := range entry.Changes {
		var value waValue
		if err := json.Unmarshal(change.Value, &value); err != nil {
			continue
		}
		base := func() *crmpb.ChannelEvent {
			return &crmpb.ChannelEvent{
				Provider:          ProviderName,
				Channel:           crmpb.Channel_CHANNEL_WHATSAPP,
				AccountId:         string(value.Metadata.PhoneNumberID),
				BusinessAccountId: string(entry.ID),
			}
		}
		for _, rawMsg := range value.Messages {
			msg, fromUserID := parseWhatsAppMessage(rawMsg)
			if msg == nil {
				continue
			}
			ev := base()
			ev.DedupeKey = dedupeFor(msg.ExternalId, rawMsg)
			ev.TimestampMs = msg.TimestampMs
			ev.Event = &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
				Contact: whatsAppContact(value.Contacts, msg.From, fromUserID),
				Message: msg,
			}}
			events = append(events, ev)
		}
		// Coexistence: messages the business sent from the WhatsApp Business
		// app arrive as echoes (field smb_message_echoes).
		for _, rawMsg := range value.MessageEchos {
			msg, _ := parseWhatsAppMessage(rawMsg)
			if msg == nil {
				continue
			}
			ev := base()
			ev.DedupeKey = dedupeFor(msg.ExternalId, rawMsg)
			ev.TimestampMs = msg.TimestampMs
			ev.Event = &crmpb.ChannelEvent_OutboundEcho{OutboundEcho: &crmpb.OutboundEcho{
				Contact: whatsAppContact(value.Contacts, msg.To, ""),
				Message: msg,
			}}
			events = append(events, ev)
		}
		for _, rawStatus := range value.Statuses {
			if ev := parseWhatsAppStatus(rawStatus); ev != nil {
				b := base()
				b.DedupeKey, b.TimestampMs, b.Event = ev.DedupeKey, ev.TimestampMs, ev.Event
				events = append(events, b)
			}
		}
		if len(value.Errors) > 0 {
			ev := base()
			ev.DedupeKey = channels.DedupeKey("wa-account-error", string(value.Metadata.PhoneNumberID), string(change.Value))
			ev.Event = &crmpb.ChannelEvent_AccountError{AccountError: &crmpb.AccountError{
				Errors: providerErrors(value.Errors),
			}}
			events = append(events, ev)
		}
	}
	return events
}

// dedupeFor is the provider id, or a hash of the raw item when it has none.
func dedupeFor(id string, raw []byte) string {
	if id != "" {
		return id
	}
	return channels.DedupeKey("wa-noid", string(raw))
}

// whatsAppContact finds the profile of from in value.contacts: keyed on
// wa_id when present, else on user_id.
func whatsAppContact(contacts []waContact, from, fromUserID string) *crmpb.ContactProfile {
	profile := &crmpb.ContactProfile{WaId: from, UserId: fromUserID, Phone: from}
	var match *waContact
	for i := range contacts {
		c := &contacts[i]
		if (from != "" && string(c.WaID) == from) || (fromUserID != "" && string(c.UserID) == fromUserID) {
			match = c
			break
		}
	}
	if match == nil && len(contacts) == 1 && (from == "" || contacts[0].WaID == "") {
		match = &contacts[0]
	}
	if match != nil {
		profile.Name = string(match.Profile.Name)
		if match.WaID != "" {
			profile.WaId = string(match.WaID)
			profile.Phone = string(match.WaID)
		}
		if match.UserID != "" {
			profile.UserId = string(match.UserID)
		}
	}
	profile.ExternalId = profile.WaId
	if profile.ExternalId == "" {
		profile.ExternalId = profile.UserId
	}
	return profile
}

// parseWhatsAppMessage never fails: a message that doesn't decode into the
// known shape is kept as unsupported with whatever id it has. It also
// returns from_user_id (the business-scoped id of newer payloads).
func parseWhatsAppMessage(raw json.RawMessage) (*crmpb.Message, string) {
	var m waMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		var loose struct {
			ID        flex `json:"id"`
			From      flex `json:"from"`
			Timestamp flex `json:"timestamp"`
			Type      flex `json:"type"`
		}
		if json.Unmarshal(raw, &loose) != nil {
			return nil, "" // not even an object
		}
		return &crmpb.Message{
			ExternalId:   string(loose.ID),
			Type:         crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED,
			ProviderType: string(loose.Type),
			From:         string(loose.From),
			TimestampMs:  channels.UnixMillis(loose.Timestamp.Int64()),
			Errors:       []*crmpb.ProviderError{{Title: "malformed message", Message: err.Error()}},
		}, ""
	}
	msg := &crmpb.Message{
		ExternalId:   string(m.ID),
		ProviderType: string(m.Type),
		From:         string(m.From),
		To:           string(m.To),
		TimestampMs:  channels.UnixMillis(m.Timestamp.Int64()),
		Errors:       providerErrors(m.Errors),
	}
	if m.Context != nil {
		if m.Context.ID != "" {
			msg.ReplyTo = &crmpb.ReplyContext{ExternalId: string(m.Context.ID), From: string(m.Context.From)}
		}
		msg.Forwarded = m.Context.Forwarded.Bool() || m.Context.FrequentlyForwarded.Bool()
		msg.FrequentlyForwarded = m.Context.FrequentlyForwarded.Bool()
	}
	if r := m.Referral; r != nil {
		msg.Referral = &crmpb.Referral{
			SourceUrl: string(r.SourceURL), SourceType: string(r.SourceType), SourceId: string(r.SourceID),
			Headline: string(r.Headline), Body: string(r.Body), MediaType: string(r.MediaType),
			ImageUrl: string(r.ImageURL), VideoUrl: string(r.VideoURL), ThumbnailUrl: string(r.ThumbnailURL),
			CtwaClid: string(r.CtwaClid),
		}
	}

	unsupported := func(reason string) {
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
		if len(msg.Errors) == 0 && reason != "" {
			msg.Errors = []*crmpb.ProviderError{{Title: reason}}
		}
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			unsupported("text without body")
			break
		}
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_TEXT
		msg.Text = string(m.Text.Body)
	case "image", "audio", "video", "document", "sticker":
		media, typ := mediaOf(&m)
		if media == nil {
			unsupported(string(m.Type) + " without media")
			break
		}
		msg.Type = typ
		msg.Media = &crmpb.Media{
			Id: string(media.ID), Url: string(media.URL), MimeType: string(media.MimeType),
			Sha256: string(media.SHA256), Caption: string(media.Caption), Filename: string(media.Filename),
			Voice: media.Voice.Bool(), Animated: media.Animated.Bool(), FileSize: media.FileSize.Int64(),
		}
		msg.Text = string(media.Caption)
	case "location":
		if m.Location == nil {
			unsupported("location without coordinates")
			break
		}
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_LOCATION
		msg.Location = &crmpb.Location{
			Latitude: m.Location.Latitude.Float(), Longitude: m.Location.Longitude.Float(),
			Name: string(m.Location.Name), Address: string(m.Location.Address), Url: string(m.Location.URL),
		}
	case "contacts":
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_CONTACTS
		for _, c := range m.Contacts {
			msg.Contacts = append(msg.Contacts, contactCard(c))
		}
	case "reaction":
		if m.Reaction == nil {
			unsupported("reaction without target")
			break
		}
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_REACTION
		msg.Reaction = &crmpb.Reaction{
			TargetExternalId: string(m.Reaction.MessageID),
			Emoji:            string(m.Reaction.Emoji),
			Removed:          m.Reaction.Emoji == "",
		}
	case "interactive":
		switch {
		case m.Interactive != nil && m.Interactive.ButtonReply != nil:
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_BUTTON_REPLY
			msg.ButtonReply = &crmpb.ButtonReply{Id: string(m.Interactive.ButtonReply.ID), Title: string(m.Interactive.ButtonReply.Title)}
			msg.Text = msg.ButtonReply.Title
		case m.Interactive != nil && m.Interactive.ListReply != nil:
			lr := m.Interactive.ListReply
			msg.Type = crmpb.MessageType_MESSAGE_TYPE_LIST_REPLY
			msg.ListReply = &crmpb.ListReply{Id: string(lr.ID), Title: string(lr.Title), Description: string(lr.Description)}
			msg.Text = msg.ListReply.Title
		default:
			sub := ""
			if m.Interactive != nil {
				sub = string(m.Interactive.Type)
			}
			msg.ProviderType = "interactive." + sub
			unsupported("interactive type " + strconv.Quote(sub) + " not supported")
		}
	case "button":
		if m.Button == nil {
			unsupported("button without payload")
			break
		}
		msg.Type = crmpb.MessageType_MESSAGE_TYPE_TEMPLATE_BUTTON
		msg.TemplateButton = &crmpb.TemplateButton{Payload: string(m.Button.Payload), Text: string(m.Button.Text)}
		msg.Text = string(m.Button.Text)
	default:
		// "unsupported", "system", "order", "request_welcome" and whatever
		// Meta adds next: kept, never dropped.
		unsupported("message type " + strconv.Quote(string(m.Type)) + " not supported")
	}
	return msg, string(m.FromUserID)
}

func mediaOf(m *waMessage) (*waMedia, crmpb.MessageType) {
	switch m.Type {
	case "image":
		return m.Image, crmpb.MessageType_MESSAGE_TYPE_IMAGE
	case "audio":
		return m.Audio, crmpb.MessageType_MESSAGE_TYPE_AUDIO
	case "video":
		return m.Video, crmpb.MessageType_MESSAGE_TYPE_VIDEO
	case "document":
		return m.Document, crmpb.MessageType_MESSAGE_TYPE_DOCUMENT
	case "sticker":
		return m.Sticker, crmpb.MessageType_MESSAGE_TYPE_STICKER
	}
	return nil, crmpb.MessageType_MESSAGE_TYPE_UNSUPPORTED
}

func contactCard(c waContactCard) *crmpb.ContactCard {
	card := &crmpb.ContactCard{
		Name: &crmpb.ContactName{
			FormattedName: string(c.Name.FormattedName), FirstName: string(c.Name.FirstName),
			LastName: string(c.Name.LastName), MiddleName: string(c.Name.MiddleName),
			Prefix: string(c.Name.Prefix), Suffix: string(c.Name.Suffix),
		},
		Birthday: string(c.Birthday),
	}
	for _, p := range c.Phones {
		card.Phones = append(card.Phones, &crmpb.ContactPhone{Phone: string(p.Phone), WaId: string(p.WaID), Type: string(p.Type)})
	}
	for _, e := range c.Emails {
		card.Emails = append(card.Emails, &crmpb.ContactEmail{Email: string(e.Email), Type: string(e.Type)})
	}
	if c.Org != nil {
		card.Orgs = append(card.Orgs, &crmpb.ContactOrg{Company: string(c.Org.Company), Department: string(c.Org.Department), Title: string(c.Org.Title)})
	}
	for _, u := range c.URLs {
		card.Urls = append(card.Urls, &crmpb.ContactUrl{Url: string(u.URL), Type: string(u.Type)})
	}
	for _, a := range c.Addresses {
		card.Addresses = append(card.Addresses, &crmpb.ContactAddress{
			Street: string(a.Street), City: string(a.City), State: string(a.State), Zip: string(a.Zip),
			Country: string(a.Country), CountryCode: string(a.CountryCode), Type: string(a.Type),
		})
	}
	return card
}

func providerErrors(errs []waError) []*crmpb.ProviderError {
	var out []*crmpb.ProviderError
	for _, e := range errs {
		out = append(out, &crmpb.ProviderError{
			Code: e.Code.Int64(), Title: string(e.Title), Message: string(e.Message),
			Details: string(e.ErrorData.Details), Href: string(e.Href),
		})
	}
	return out
}

var waStatuses = map[string]crmpb.DeliveryStatus{
	"sent":      crmpb.DeliveryStatus_DELIVERY_STATUS_SENT,
	"delivered": crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	"read":      crmpb.DeliveryStatus_DELIVERY_STATUS_READ,
	"played":    crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED,
	"failed":    crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED,
	// "deleted" and "warning" exist in older payloads; unknown values are
	// kept with status UNSPECIFIED so the engine can log them.
}

func parseWhatsAppStatus(raw json.RawMessage) *crmpb.ChannelEvent {
	var s waStatus
	if err := json.Unmarshal(raw, &s); err != nil || s.ID == "" {
		return nil
	}
	name := strings.ToLower(string(s.Status))
	st := &crmpb.StatusUpdate{
		ExternalMessageId: string(s.ID),
		Status:            waStatuses[name],
		ProviderStatus:    string(s.Status),
		TimestampMs:       channels.UnixMillis(s.Timestamp.Int64()),
		Errors:            providerErrors(s.Errors),
		RecipientId:       string(s.RecipientID),
	}
	if st.RecipientId == "" {
		st.RecipientId = string(s.RecipientUserID)
	}
	if c := s.Conversation; c != nil {
		st.ConversationId = string(c.ID)
		st.ConversationOrigin = string(c.Origin.Type)
		st.ConversationExpiresMs = channels.UnixMillis(c.ExpirationTimestamp.Int64())
	}
	if p := s.Pricing; p != nil {
		st.PricingCategory = string(p.Category)
		st.Billable = p.Billable.Bool()
	}
	return &crmpb.ChannelEvent{
		DedupeKey:   string(s.ID) + ":" + name,
		TimestampMs: st.TimestampMs,
		Event:       &crmpb.ChannelEvent_StatusUpdate{StatusUpdate: st},
	}
}
