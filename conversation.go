package crm

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Conversation is a conversation row, as the grain keeps it and the API shows it.
type Conversation struct {
	ID                   uuid.UUID          `json:"id"`
	TenantID             uuid.UUID          `json:"-"`
	ConnectionID         uuid.UUID          `json:"connection_id"`
	ContactID            uuid.UUID          `json:"contact_id"`
	Channel              string             `json:"channel"`
	Status               ConversationStatus `json:"status"`
	AssigneeID           *uuid.UUID         `json:"assignee_id"`
	TeamID               *uuid.UUID         `json:"team_id"`
	Subject              string             `json:"subject"`
	UnreadCount          int                `json:"unread_count"`
	LastSeq              int64              `json:"last_seq"`
	Version              int64              `json:"version"`
	LastMessageAt        *time.Time         `json:"last_message_at"`
	LastMessagePreview   string             `json:"last_message_preview"`
	LastMessageDirection string             `json:"last_message_direction"`
	LastInboundAt        *time.Time         `json:"last_inbound_at"`
	WindowExpiresAt      *time.Time         `json:"window_expires_at"`
	FirstResponseAt      *time.Time         `json:"first_response_at"`
	BotActive            bool               `json:"bot_active"`
	OverLimit            bool               `json:"over_limit"`
	LastActivityAt       time.Time          `json:"last_activity_at"`
	ResolvedAt           *time.Time         `json:"resolved_at"`
	CreatedAt            time.Time          `json:"created_at"`
	UpdatedAt            time.Time          `json:"updated_at"`
	LabelIDs             []uuid.UUID        `json:"label_ids"`
	// Contact is filled by list and get for the console.
	Contact *ConversationContact `json:"contact,omitempty"`
	// SLADueAt is when the first answer falls due under the team's SLA
	// (business time); filled by list and get, nil when there is none.
	SLADueAt *time.Time `json:"sla_due_at,omitempty"`
	// FirstResponseBusinessSeconds is the time to the first answer counted
	// in business time (the team's calendar, else the tenant's); filled by
	// list and get once answered.
	FirstResponseBusinessSeconds *int64 `json:"first_response_business_seconds,omitempty"`
	// LastMessageSender is who wrote the last message when it is outbound;
	// filled by list and get, so the inbox preview can name them.
	LastMessageSender *ConversationSender `json:"last_message_sender,omitempty"`
}

// ConversationSender is the author of an outbound message: a user of the
// tenant (UserID and Name) or a source without one (Via "bot", "campaign", "api"…).
type ConversationSender struct {
	UserID *uuid.UUID `json:"user_id"`
	Name   string     `json:"name"`
	Via    string     `json:"via"`
}

// ConversationContact is the contact summary shown with a conversation.
type ConversationContact struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Phone     *string   `json:"phone"`
	AvatarURL string    `json:"avatar_url"`
}

// ConversationStatus is where a conversation stands in its life, spelled as
// the API and the database spell it.
type ConversationStatus string

const (
	ConversationOpen       ConversationStatus = "open"
	ConversationInProgress ConversationStatus = "in_progress"
	ConversationWaiting    ConversationStatus = "waiting"
	ConversationResolved   ConversationStatus = "resolved"
	ConversationArchived   ConversationStatus = "archived"
)

// ConversationStatuses lists every status, in the order of their life.
func ConversationStatuses() []ConversationStatus {
	return []ConversationStatus{ConversationOpen, ConversationInProgress, ConversationWaiting, ConversationResolved,
		ConversationArchived}
}

// ParseConversationStatus reads the API spelling of a status.
func ParseConversationStatus(name string) (ConversationStatus, error) {
	if s := ConversationStatus(name); slices.Contains(ConversationStatuses(), s) {
		return s, nil
	}
	return "", NewError(ErrInvalid, "invalid_status", "unknown conversation status "+name, nil)
}

// CanTransition reports whether an agent may move a conversation from s to
// another status. Archived is terminal: the next inbound message starts a new
// conversation. Messages and assignment move statuses on their own: see
// AfterInbound, AfterReply and AfterAssign.
func (s ConversationStatus) CanTransition(to ConversationStatus) bool {
	var allowed []ConversationStatus
	switch s {
	case ConversationOpen:
		allowed = []ConversationStatus{ConversationInProgress, ConversationWaiting, ConversationResolved, ConversationArchived}
	case ConversationInProgress:
		allowed = []ConversationStatus{ConversationOpen, ConversationWaiting, ConversationResolved, ConversationArchived}
	case ConversationWaiting:
		allowed = []ConversationStatus{ConversationOpen, ConversationInProgress, ConversationResolved, ConversationArchived}
	case ConversationResolved:
		allowed = []ConversationStatus{ConversationOpen, ConversationInProgress, ConversationArchived}
	}
	return slices.Contains(allowed, to)
}

// AfterInbound is the status a customer's message leaves: a resolved
// conversation reopens, a waiting one goes back to whoever holds it.
func (s ConversationStatus) AfterInbound(assigned bool) ConversationStatus {
	switch s {
	case ConversationResolved:
		return ConversationOpen
	case ConversationWaiting:
		if assigned {
			return ConversationInProgress
		}
		return ConversationOpen
	}
	return s
}

// AfterReply is the status a reply from our side leaves: an open or resolved
// conversation is now being worked on.
func (s ConversationStatus) AfterReply() ConversationStatus {
	if s == ConversationOpen || s == ConversationResolved {
		return ConversationInProgress
	}
	return s
}

// AfterAssign is the status a change of assignee leaves: assigning an open
// conversation takes it in progress, unassigning one in progress puts it
// back in the queue.
func (s ConversationStatus) AfterAssign(assigned bool) ConversationStatus {
	switch {
	case assigned && s == ConversationOpen:
		return ConversationInProgress
	case !assigned && s == ConversationInProgress:
		return ConversationOpen
	}
	return s
}

// CustomerServiceWindow is WhatsApp's customer service window: free-form
// messages may be sent for 24 hours after the customer's last message; after
// that, only an approved template.
const CustomerServiceWindow = 24 * time.Hour

// ExtendWindow opens the window of a WhatsApp conversation for
// CustomerServiceWindow after a customer's message at at. It never shortens
// it: messages may be stored out of the order they were written in.
func (c *Conversation) ExtendWindow(at time.Time) {
	if c.Channel != "whatsapp" {
		return
	}
	closes := at.Add(CustomerServiceWindow)
	if c.WindowExpiresAt == nil || closes.After(*c.WindowExpiresAt) {
		c.WindowExpiresAt = &closes
	}
}

// WindowOpen reports whether a free-form (not template) message may be sent
// at now: always outside WhatsApp, within the window on it.
func (c *Conversation) WindowOpen(now time.Time) bool {
	return c.Channel != "whatsapp" || (c.WindowExpiresAt != nil && now.Before(*c.WindowExpiresAt))
}
