package channels

import (
	"fmt"

	crmpb "crm/proto"
)

// OutboundType is the kind of message to send.
type OutboundType string

const (
	OutText        OutboundType = "text"
	OutImage       OutboundType = "image"
	OutAudio       OutboundType = "audio"
	OutVideo       OutboundType = "video"
	OutDocument    OutboundType = "document"
	OutSticker     OutboundType = "sticker"
	OutLocation    OutboundType = "location"
	OutContacts    OutboundType = "contacts"
	OutReaction    OutboundType = "reaction"
	OutInteractive OutboundType = "interactive"
	OutTemplate    OutboundType = "template"
)

// OutboundMessage is one message to send. Exactly the part matching Type is
// used.
type OutboundMessage struct {
	// To is the recipient: a phone number or wa_id (WhatsApp), PSID or IGSID.
	To   string
	Type OutboundType
	// ReplyTo is the provider id of the message this one answers.
	ReplyTo string

	Text        *OutboundText
	Media       *OutboundMedia
	Location    *crmpb.Location
	Contacts    []*crmpb.ContactCard
	Reaction    *OutboundReaction
	Interactive *Interactive
	Template    *TemplateMessage

	// Tracking fields some gateways echo back (uazapi track_id/track_source).
	TrackSource string
	TrackID     string
}

type OutboundText struct {
	Body string
	// PreviewURL asks for a link preview; nil leaves the provider's default
	// (and the field out of the request).
	PreviewURL *bool
}

// OutboundMedia is media sent by an id the provider already holds (an upload)
// or by a public link.
type OutboundMedia struct {
	ID       string
	Link     string
	Caption  string
	Filename string
	MimeType string
	// Voice sends audio as a voice note where the provider distinguishes it.
	Voice bool
}

type OutboundReaction struct {
	MessageID string
	// Emoji; empty removes our reaction.
	Emoji string
}

// InteractiveKind is the kind of an interactive message.
type InteractiveKind string

const (
	InteractiveButtons InteractiveKind = "button"
	InteractiveList    InteractiveKind = "list"
)

// WhatsApp's limits for interactive messages.
const (
	MaxReplyButtons = 3
	MaxListSections = 10
	MaxListRows     = 10 // in total, across sections
)

type Interactive struct {
	Kind   InteractiveKind
	Header string
	Body   string
	Footer string
	// Buttons for InteractiveButtons, at most MaxReplyButtons.
	Buttons []ReplyButton
	// ListButton is the text of the button that opens a list.
	ListButton string
	Sections   []ListSection
}

type ReplyButton struct {
	ID    string
	Title string
}

type ListSection struct {
	Title string
	Rows  []ListRow
}

type ListRow struct {
	ID          string
	Title       string
	Description string
}

// TemplateMessage is an approved template with its parameters.
type TemplateMessage struct {
	Name         string
	LanguageCode string
	Components   []TemplateComponent
}

type TemplateComponent struct {
	// Type: header, body, button.
	Type string
	// SubType and Index for buttons (quick_reply, url).
	SubType    string
	Index      *int
	Parameters []TemplateParameter
}

type TemplateParameter struct {
	// Type: text, currency, date_time, image, document, video, payload.
	Type    string
	Text    string
	Payload string
	// Name for named parameters (parameter_format NAMED).
	Name     string
	Currency *TemplateCurrency
	DateTime string
	Media    *OutboundMedia
}

type TemplateCurrency struct {
	FallbackValue string
	Code          string
	Amount1000    int64
}

// Validate checks the message has what its type needs. Providers call it
// before building a request; its errors are Permanent SendErrors.
func (m *OutboundMessage) Validate() error {
	if m == nil {
		return permanentInput("nil message")
	}
	if m.To == "" {
		return permanentInput("recipient is required")
	}
	switch m.Type {
	case OutText:
		if m.Text == nil || m.Text.Body == "" {
			return permanentInput("text body is required")
		}
	case OutImage, OutAudio, OutVideo, OutDocument, OutSticker:
		if m.Media == nil || (m.Media.ID == "" && m.Media.Link == "") {
			return permanentInput(string(m.Type) + " needs a media id or link")
		}
	case OutLocation:
		if m.Location == nil {
			return permanentInput("location is required")
		}
	case OutContacts:
		if len(m.Contacts) == 0 {
			return permanentInput("contacts are required")
		}
	case OutReaction:
		if m.Reaction == nil || m.Reaction.MessageID == "" {
			return permanentInput("reaction needs the message id")
		}
	case OutInteractive:
		in := m.Interactive
		if in == nil || in.Body == "" {
			return permanentInput("interactive needs a body")
		}
		switch in.Kind {
		case InteractiveButtons:
			if len(in.Buttons) == 0 || len(in.Buttons) > MaxReplyButtons {
				return permanentInput(fmt.Sprintf("interactive buttons: 1 to %d buttons", MaxReplyButtons))
			}
		case InteractiveList:
			if len(in.Sections) == 0 || in.ListButton == "" {
				return permanentInput("interactive list needs a button text and sections")
			}
			rows := 0
			for _, s := range in.Sections {
				rows += len(s.Rows)
			}
			if len(in.Sections) > MaxListSections || rows == 0 || rows > MaxListRows {
				return permanentInput(fmt.Sprintf("interactive list: at most %d sections and 1 to %d rows", MaxListSections, MaxListRows))
			}
		default:
			return permanentInput("unknown interactive kind " + string(in.Kind))
		}
	case OutTemplate:
		if m.Template == nil || m.Template.Name == "" || m.Template.LanguageCode == "" {
			return permanentInput("template needs a name and a language")
		}
	default:
		return permanentInput("unknown message type " + string(m.Type))
	}
	return nil
}

func permanentInput(msg string) *SendError {
	return &SendError{Kind: Permanent, Message: "invalid outbound message: " + msg}
}
