package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

// Content of the message types that carry more than text or media, in the
// API's JSON shape.

// LocationContent is a location to send.
type LocationContent struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// ReactionContent reacts to one of the conversation's messages; an empty
// emoji removes our reaction.
type ReactionContent struct {
	MessageID uuid.UUID `json:"message_id"`
	Emoji     string    `json:"emoji"`
}

// InteractiveContent is a message with reply buttons (≤ 3) or a list.
type InteractiveContent struct {
	Type       string              `json:"type"` // button or list
	Header     string              `json:"header,omitempty"`
	Body       string              `json:"body"`
	Footer     string              `json:"footer,omitempty"`
	Buttons    []InteractiveButton `json:"buttons,omitempty"`
	ListButton string              `json:"list_button,omitempty"`
	Sections   []InteractiveList   `json:"sections,omitempty"`
}

// InteractiveButton is one reply button.
type InteractiveButton struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// InteractiveList is one section of a list.
type InteractiveList struct {
	Title string `json:"title,omitempty"`
	Rows  []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	} `json:"rows"`
}

// storedReaction is what an outgoing reaction keeps on its message and
// hands to the sender.
type storedReaction struct {
	TargetMessageID  uuid.UUID `json:"target_message_id"`
	TargetExternalID string    `json:"target_external_id"`
	Emoji            string    `json:"emoji"`
}

var contentJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// content checks a send's type-specific content, stores it on the message
// and returns what the connection grain needs to send it.
func (g *conversationGrain) content(ctx context.Context, tx TenantStore, conv *crm.Conversation, msgType string, raw []byte, m *crm.Message) ([]byte, error) {
	invalid := func(format string, args ...any) error {
		return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
			map[string]any{"fields": map[string]any{msgType: fmt.Sprintf(format, args...)}})
	}
	switch msgType {
	case "location":
		var loc LocationContent
		if err := json.Unmarshal(raw, &loc); err != nil || loc.Latitude < -90 || loc.Latitude > 90 || loc.Longitude < -180 || loc.Longitude > 180 {
			return nil, invalid("needs latitude (-90..90) and longitude (-180..180)")
		}
		m.Location = raw
		m.Text = loc.Name
		return raw, nil
	case "contacts":
		var cards []json.RawMessage
		if err := json.Unmarshal(raw, &cards); err != nil || len(cards) == 0 {
			return nil, invalid("must be a non-empty array of contact cards")
		}
		for _, c := range cards {
			if err := contentJSON.Unmarshal(c, &crmpb.ContactCard{}); err != nil {
				return nil, invalid("a contact card is malformed: %v", err)
			}
		}
		m.Contacts = raw
		return raw, nil
	case "reaction":
		var r ReactionContent
		if err := json.Unmarshal(raw, &r); err != nil || r.MessageID == uuid.Nil {
			return nil, invalid("needs message_id (one of this conversation's messages) and emoji")
		}
		target, err := tx.MessageByID(ctx, r.MessageID)
		if err != nil {
			return nil, err
		}
		if target.ConversationID != conv.ID || target.ExternalID == nil {
			return nil, invalid("message_id must name a delivered message of this conversation")
		}
		stored := storedReaction{TargetMessageID: target.ID, TargetExternalID: *target.ExternalID, Emoji: r.Emoji}
		b, err := json.Marshal(stored)
		if err != nil {
			return nil, fmt.Errorf("encoding the reaction: %w", err)
		}
		m.Reaction = b
		return b, nil
	case "interactive":
		var in InteractiveContent
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, invalid("is malformed")
		}
		out := &channels.OutboundMessage{Type: channels.OutInteractive, To: "validation"}
		if err := decodeContent(out, raw); err != nil {
			return nil, invalid("%v", err)
		}
		if err := out.Validate(); err != nil {
			return nil, invalid("%v", err)
		}
		m.Interactive = raw
		m.Text = in.Body
		return raw, nil
	}
	return nil, nil
}

// decodeContent fills the provider message from stored content.
func decodeContent(out *channels.OutboundMessage, raw []byte) error {
	if len(raw) == 0 {
		return errors.New("no content")
	}
	switch out.Type {
	case channels.OutLocation:
		var loc LocationContent
		if err := json.Unmarshal(raw, &loc); err != nil {
			return err
		}
		out.Location = &crmpb.Location{Latitude: loc.Latitude, Longitude: loc.Longitude, Name: loc.Name, Address: loc.Address}
	case channels.OutContacts:
		var cards []json.RawMessage
		if err := json.Unmarshal(raw, &cards); err != nil {
			return err
		}
		for _, c := range cards {
			card := &crmpb.ContactCard{}
			if err := contentJSON.Unmarshal(c, card); err != nil {
				return err
			}
			out.Contacts = append(out.Contacts, card)
		}
	case channels.OutReaction:
		var r storedReaction
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		out.Reaction = &channels.OutboundReaction{MessageID: r.TargetExternalID, Emoji: r.Emoji}
	case channels.OutInteractive:
		var in InteractiveContent
		if err := json.Unmarshal(raw, &in); err != nil {
			return err
		}
		it := &channels.Interactive{Header: in.Header, Body: in.Body, Footer: in.Footer, ListButton: in.ListButton}
		switch in.Type {
		case "button":
			it.Kind = channels.InteractiveButtons
			for _, b := range in.Buttons {
				it.Buttons = append(it.Buttons, channels.ReplyButton{ID: b.ID, Title: b.Title})
			}
		case "list":
			it.Kind = channels.InteractiveList
			for _, sec := range in.Sections {
				ls := channels.ListSection{Title: sec.Title}
				for _, r := range sec.Rows {
					ls.Rows = append(ls.Rows, channels.ListRow{ID: r.ID, Title: r.Title, Description: r.Description})
				}
				it.Sections = append(it.Sections, ls)
			}
		default:
			return errors.New(`type must be "button" or "list"`)
		}
		out.Interactive = it
	}
	return nil
}
