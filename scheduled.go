package crm

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// ScheduledMessage is a message an agent wrote to go out later, to a
// conversation or to a contact on a connection (opening a conversation).
// pending → sent | cancelled | failed.
type ScheduledMessage struct {
	ID             uuid.UUID        `json:"id"`
	ConnectionID   uuid.UUID        `json:"connection_id"`
	ContactID      uuid.UUID        `json:"contact_id"`
	ConversationID *uuid.UUID       `json:"conversation_id"`
	Message        ScheduledContent `json:"message"`
	SendAt         time.Time        `json:"send_at"`
	Status         string           `json:"status"`
	SentMessageID  *uuid.UUID       `json:"sent_message_id"`
	Error          json.RawMessage  `json:"error"`
	CreatedBy      *uuid.UUID       `json:"created_by"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

// ScheduledContent is what a scheduled message sends.
type ScheduledContent struct {
	Type     string          `json:"type"` // text, template, image, video, audio, document
	Text     string          `json:"text,omitempty"`
	MediaID  *uuid.UUID      `json:"media_id,omitempty"`
	Template json.RawMessage `json:"template,omitempty"`
}

// ScheduledSend is the durable job of a scheduled message, inserted with its
// row: at SendAt it sends the message through the conversation grain, once
// (the message's id is the send's idempotency key). A message moved to
// another time gets a new job; the old one finds the row's send_at changed
// and does nothing.
type ScheduledSend struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ID       uuid.UUID `json:"id"`
	SendAt   time.Time `json:"send_at"`
}

// Kind names the job kind (package jobs runs it).
func (ScheduledSend) Kind() string { return "scheduled_send" }
