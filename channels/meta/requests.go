package meta

import (
	"strconv"
	"strings"

	"crm/channels"
	crmpb "crm/proto"
)

// Request bodies, in Meta's wire format. Built from structs (not maps) so
// the JSON is deterministic and fields appear only when set.

type waSendRequest struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to"`
	Context          *waSendContext  `json:"context,omitempty"`
	Type             string          `json:"type"`
	Text             *waSendText     `json:"text,omitempty"`
	Image            *waSendMedia    `json:"image,omitempty"`
	Audio            *waSendMedia    `json:"audio,omitempty"`
	Video            *waSendMedia    `json:"video,omitempty"`
	Document         *waSendMedia    `json:"document,omitempty"`
	Sticker          *waSendMedia    `json:"sticker,omitempty"`
	Location         *waSendLocation `json:"location,omitempty"`
	Contacts         []waSendContact `json:"contacts,omitempty"`
	Reaction         *waSendReaction `json:"reaction,omitempty"`
	Interactive      *waInteractive  `json:"interactive,omitempty"`
	Template         *waTemplate     `json:"template,omitempty"`
}

type waSendContext struct {
	MessageID string `json:"message_id"`
}

type waSendText struct {
	PreviewURL *bool  `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

type waSendMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type waSendLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

type waSendReaction struct {
	MessageID string `json:"message_id"`
	// Emoji is always present: "" removes the reaction.
	Emoji string `json:"emoji"`
}

type waSendContact struct {
	Name      waSendContactName `json:"name"`
	Phones    []waSendPhone     `json:"phones,omitempty"`
	Emails    []waSendEmail     `json:"emails,omitempty"`
	Org       *waSendOrg        `json:"org,omitempty"`
	URLs      []waSendURL       `json:"urls,omitempty"`
	Addresses []waSendAddress   `json:"addresses,omitempty"`
	Birthday  string            `json:"birthday,omitempty"`
}

type waSendContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
}

type waSendPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

type waSendEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

type waSendOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

type waSendURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

type waSendAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

type waInteractive struct {
	Type   string             `json:"type"`
	Header *waInteractiveText `json:"header,omitempty"`
	Body   waInteractiveText  `json:"body"`
	Footer *waInteractiveText `json:"footer,omitempty"`
	Action waAction           `json:"action"`
}

type waInteractiveText struct {
	Type string `json:"type,omitempty"`
	Text string `json:"text"`
}

type waAction struct {
	Button   string      `json:"button,omitempty"`
	Buttons  []waButton  `json:"buttons,omitempty"`
	Sections []waSection `json:"sections,omitempty"`
}

type waButton struct {
	Type  string `json:"type"`
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

type waSection struct {
	Title string  `json:"title,omitempty"`
	Rows  []waRow `json:"rows"`
}

type waRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type waTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []waComponent `json:"components,omitempty"`
}

type waComponent struct {
	Type       string        `json:"type"`
	SubType    string        `json:"sub_type,omitempty"`
	Index      string        `json:"index,omitempty"`
	Parameters []waParameter `json:"parameters,omitempty"`
}

type waParameter struct {
	Type          string       `json:"type"`
	ParameterName string       `json:"parameter_name,omitempty"`
	Text          string       `json:"text,omitempty"`
	Payload       string       `json:"payload,omitempty"`
	Currency      *waCurrency  `json:"currency,omitempty"`
	DateTime      *waDateTime  `json:"date_time,omitempty"`
	Image         *waSendMedia `json:"image,omitempty"`
	Document      *waSendMedia `json:"document,omitempty"`
	Video         *waSendMedia `json:"video,omitempty"`
}

type waCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type waDateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// whatsAppRequest builds the body of POST /{phone_number_id}/messages. The
// message must be valid (OutboundMessage.Validate).
func whatsAppRequest(msg *channels.OutboundMessage) (*waSendRequest, error) {
	req := &waSendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               msg.To,
		Type:             string(msg.Type),
	}
	if msg.ReplyTo != "" {
		req.Context = &waSendContext{MessageID: msg.ReplyTo}
	}
	switch msg.Type {
	case channels.OutText:
		req.Text = &waSendText{Body: msg.Text.Body, PreviewURL: msg.Text.PreviewURL}
	case channels.OutImage:
		req.Image = sendMedia(msg.Media, true, false)
	case channels.OutVideo:
		req.Video = sendMedia(msg.Media, true, false)
	case channels.OutDocument:
		req.Document = sendMedia(msg.Media, true, true)
	case channels.OutAudio:
		req.Audio = sendMedia(msg.Media, false, false)
	case channels.OutSticker:
		req.Sticker = sendMedia(msg.Media, false, false)
	case channels.OutLocation:
		l := msg.Location
		req.Location = &waSendLocation{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	case channels.OutContacts:
		for _, c := range msg.Contacts {
			req.Contacts = append(req.Contacts, sendContact(c))
		}
	case channels.OutReaction:
		req.Reaction = &waSendReaction{MessageID: msg.Reaction.MessageID, Emoji: msg.Reaction.Emoji}
		req.Context = nil // a reaction names its target itself
	case channels.OutInteractive:
		req.Interactive = interactive(msg.Interactive)
	case channels.OutTemplate:
		t := &waTemplate{Name: msg.Template.Name}
		t.Language.Code = msg.Template.LanguageCode
		for _, c := range msg.Template.Components {
			comp := waComponent{Type: c.Type, SubType: c.SubType}
			if c.Index != nil {
				comp.Index = strconv.Itoa(*c.Index)
			}
			for _, prm := range c.Parameters {
				comp.Parameters = append(comp.Parameters, templateParameter(prm))
			}
			t.Components = append(t.Components, comp)
		}
		req.Template = t
	}
	return req, nil
}

func sendMedia(m *channels.OutboundMedia, caption, filename bool) *waSendMedia {
	out := &waSendMedia{ID: m.ID}
	if m.ID == "" {
		out.Link = m.Link
	}
	if caption {
		out.Caption = m.Caption
	}
	if filename {
		out.Filename = m.Filename
	}
	return out
}

func sendContact(c *crmpb.ContactCard) waSendContact {
	out := waSendContact{Birthday: c.GetBirthday()}
	if n := c.GetName(); n != nil {
		out.Name = waSendContactName{FormattedName: n.FormattedName, FirstName: n.FirstName, LastName: n.LastName,
			MiddleName: n.MiddleName, Prefix: n.Prefix, Suffix: n.Suffix}
	}
	for _, p := range c.GetPhones() {
		out.Phones = append(out.Phones, waSendPhone{Phone: p.Phone, WaID: p.WaId, Type: p.Type})
	}
	for _, e := range c.GetEmails() {
		out.Emails = append(out.Emails, waSendEmail{Email: e.Email, Type: e.Type})
	}
	if orgs := c.GetOrgs(); len(orgs) > 0 {
		out.Org = &waSendOrg{Company: orgs[0].Company, Department: orgs[0].Department, Title: orgs[0].Title}
	}
	for _, u := range c.GetUrls() {
		out.URLs = append(out.URLs, waSendURL{URL: u.Url, Type: u.Type})
	}
	for _, a := range c.GetAddresses() {
		out.Addresses = append(out.Addresses, waSendAddress{Street: a.Street, City: a.City, State: a.State,
			Zip: a.Zip, Country: a.Country, CountryCode: a.CountryCode, Type: a.Type})
	}
	return out
}

func interactive(in *channels.Interactive) *waInteractive {
	out := &waInteractive{Type: string(in.Kind), Body: waInteractiveText{Text: in.Body}}
	if in.Header != "" {
		out.Header = &waInteractiveText{Type: "text", Text: in.Header}
	}
	if in.Footer != "" {
		out.Footer = &waInteractiveText{Text: in.Footer}
	}
	switch in.Kind {
	case channels.InteractiveButtons:
		for _, b := range in.Buttons {
			btn := waButton{Type: "reply"}
			btn.Reply.ID, btn.Reply.Title = b.ID, b.Title
			out.Action.Buttons = append(out.Action.Buttons, btn)
		}
	case channels.InteractiveList:
		out.Action.Button = in.ListButton
		for _, s := range in.Sections {
			sec := waSection{Title: s.Title}
			for _, r := range s.Rows {
				sec.Rows = append(sec.Rows, waRow{ID: r.ID, Title: r.Title, Description: r.Description})
			}
			out.Action.Sections = append(out.Action.Sections, sec)
		}
	}
	return out
}

func templateParameter(p channels.TemplateParameter) waParameter {
	out := waParameter{Type: p.Type, ParameterName: p.Name}
	switch p.Type {
	case "text":
		out.Text = p.Text
	case "payload":
		out.Payload = p.Payload
	case "currency":
		if p.Currency != nil {
			out.Currency = &waCurrency{FallbackValue: p.Currency.FallbackValue, Code: p.Currency.Code, Amount1000: p.Currency.Amount1000}
		}
	case "date_time":
		out.DateTime = &waDateTime{FallbackValue: p.DateTime}
	case "image", "document", "video":
		if p.Media != nil {
			m := sendMedia(p.Media, false, p.Type == "document")
			switch p.Type {
			case "image":
				out.Image = m
			case "document":
				out.Document = m
			case "video":
				out.Video = m
			}
		}
	default:
		out.Text = p.Text
	}
	return out
}

// Messenger / Instagram Send API.

type msgSendRequest struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	MessagingType string          `json:"messaging_type,omitempty"`
	Message       *msgSendMessage `json:"message,omitempty"`
	SenderAction  string          `json:"sender_action,omitempty"`
	Payload       *msgSendPayload `json:"payload,omitempty"`
}

type msgSendMessage struct {
	Text         string             `json:"text,omitempty"`
	Attachment   *msgSendAttachment `json:"attachment,omitempty"`
	QuickReplies []msgQuickReply    `json:"quick_replies,omitempty"`
}

type msgSendAttachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL          string `json:"url,omitempty"`
		AttachmentID string `json:"attachment_id,omitempty"`
	} `json:"payload"`
}

type msgQuickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title"`
	Payload     string `json:"payload"`
}

type msgSendPayload struct {
	MessageID string `json:"message_id"`
	Reaction  string `json:"reaction,omitempty"`
}

// messagingRequest builds the body of POST /me/messages for Messenger or
// Instagram. Messenger requests carry messaging_type RESPONSE (a reply
// within the standard messaging window); Instagram's Send API takes none.
// What the channel can't carry (templates, location, contacts, WhatsApp
// lists) is a Permanent error before any call.
func messagingRequest(channel crmpb.Channel, msg *channels.OutboundMessage) (*msgSendRequest, error) {
	req := &msgSendRequest{}
	req.Recipient.ID = msg.To
	if channel == crmpb.Channel_CHANNEL_MESSENGER {
		req.MessagingType = "RESPONSE"
	}
	unsupported := func(what string) error {
		return &channels.SendError{Kind: channels.Permanent,
			Message: what + " can't be sent on " + strings.ToLower(strings.TrimPrefix(channel.String(), "CHANNEL_"))}
	}
	switch msg.Type {
	case channels.OutText:
		req.Message = &msgSendMessage{Text: msg.Text.Body}
	case channels.OutImage, channels.OutAudio, channels.OutVideo, channels.OutDocument, channels.OutSticker:
		att := &msgSendAttachment{Type: string(msg.Type)}
		switch msg.Type {
		case channels.OutDocument:
			att.Type = "file"
		case channels.OutSticker:
			att.Type = "image"
		}
		if msg.Media.ID != "" {
			att.Payload.AttachmentID = msg.Media.ID
		} else {
			att.Payload.URL = msg.Media.Link
		}
		req.Message = &msgSendMessage{Attachment: att}
	case channels.OutInteractive:
		if msg.Interactive.Kind != channels.InteractiveButtons {
			return nil, unsupported("an interactive list")
		}
		// Reply buttons become quick replies: the tap comes back as a
		// quick_reply message with the button id as payload.
		m := &msgSendMessage{Text: msg.Interactive.Body}
		for _, b := range msg.Interactive.Buttons {
			m.QuickReplies = append(m.QuickReplies, msgQuickReply{ContentType: "text", Title: b.Title, Payload: b.ID})
		}
		req.Message = m
	case channels.OutReaction:
		if channel != crmpb.Channel_CHANNEL_INSTAGRAM {
			return nil, unsupported("a reaction")
		}
		req.MessagingType = ""
		req.SenderAction = "react"
		req.Payload = &msgSendPayload{MessageID: msg.Reaction.MessageID, Reaction: "love"}
		if msg.Reaction.Emoji == "" {
			req.SenderAction = "unreact"
			req.Payload.Reaction = ""
		}
	default:
		return nil, unsupported("a " + string(msg.Type) + " message")
	}
	return req, nil
}
