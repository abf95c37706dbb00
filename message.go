package crm

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Message is a stored message, in the API's shape (DESIGN §6).
type Message struct {
	ID                uuid.UUID       `json:"id"`
	TenantID          uuid.UUID       `json:"-"`
	ConversationID    uuid.UUID       `json:"conversation_id"`
	ConnectionID      uuid.UUID       `json:"connection_id"`
	ContactID         uuid.UUID       `json:"contact_id"`
	Seq               int64           `json:"seq"`
	Direction         string          `json:"direction"`
	Type              string          `json:"type"`
	Text              string          `json:"text"`
	Media             json.RawMessage `json:"media"`
	Location          json.RawMessage `json:"location"`
	Contacts          json.RawMessage `json:"contacts"`
	Reaction          json.RawMessage `json:"reaction"`
	Interactive       json.RawMessage `json:"interactive"`
	Template          json.RawMessage `json:"template"`
	Referral          json.RawMessage `json:"referral"`
	ReplyToID         *uuid.UUID      `json:"reply_to_id"`
	ReplyToExternalID string          `json:"reply_to_external_id,omitempty"`
	ExternalID        *string         `json:"external_id"`
	IdempotencyKey    *string         `json:"idempotency_key,omitempty"`
	Status            DeliveryStatus  `json:"status"`
	Error             json.RawMessage `json:"error"`
	SentBy            *uuid.UUID      `json:"sent_by"`
	Via               string          `json:"via,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	SentAt            *time.Time      `json:"sent_at"`
	DeliveredAt       *time.Time      `json:"delivered_at"`
	ReadAt            *time.Time      `json:"read_at"`
}

// DeliveryStatus is where a message stands on its way to the customer, spelled
// as the API and the database spell it. The channel adapters report it as
// the proto enum DeliveryStatus; the actors translate.
type DeliveryStatus string

const (
	DeliveryReceived  DeliveryStatus = "received" // an inbound message: nothing of ours to deliver
	DeliveryPending   DeliveryStatus = "pending"  // stored, not yet accepted by the provider
	DeliverySent      DeliveryStatus = "sent"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryRead      DeliveryStatus = "read"
	DeliveryPlayed    DeliveryStatus = "played" // a voice message listened to
	DeliveryFailed    DeliveryStatus = "failed"
)

// DeliveryStatuses lists every status a message can hold.
func DeliveryStatuses() []DeliveryStatus {
	return []DeliveryStatus{DeliveryReceived, DeliveryPending, DeliverySent, DeliveryDelivered, DeliveryRead,
		DeliveryPlayed, DeliveryFailed}
}

// Rank orders statuses: a status only ever moves up (pending < sent <
// delivered < read < played). Failed ranks with pending, so a late failure
// cannot undo a delivery; received and unknown statuses rank lowest.
func (s DeliveryStatus) Rank() int {
	switch s {
	case DeliveryPending, DeliveryFailed:
		return 1
	case DeliverySent:
		return 2
	case DeliveryDelivered:
		return 3
	case DeliveryRead:
		return 4
	case DeliveryPlayed:
		return 5
	}
	return 0
}

// CanAdvance reports whether a provider's status report next moves a message
// at s forward: up the ranks, or to failed from pending or sent.
func (s DeliveryStatus) CanAdvance(next DeliveryStatus) bool {
	if next == DeliveryFailed {
		return s == DeliveryPending || s == DeliverySent
	}
	return next.Rank() > s.Rank()
}

// CanSettle reports whether the outcome of our own send (sent, or failed)
// replaces s. It is CanAdvance, except that a failed send never overrides a
// status the provider reported first: the provider saw the message, so the
// error that followed does not say what became of it.
func (s DeliveryStatus) CanSettle(outcome DeliveryStatus) bool {
	if outcome == DeliveryFailed {
		return s == DeliveryPending || s.Rank() < DeliveryFailed.Rank()
	}
	return s.CanAdvance(outcome)
}
