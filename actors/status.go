package actors

import (
	"fmt"
	"slices"
	"time"

	"crm"
	crmpb "crm/proto"
)

// Status is where a conversation stands in its life.
type Status uint8

const (
	StatusNone Status = iota // no conversation started yet
	StatusOpen
	StatusInProgress
	StatusWaiting
	StatusResolved
	StatusArchived
)

var statusNames = [...]string{"none", "open", "in_progress", "waiting", "resolved", "archived"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseStatus reads the API spelling of a status.
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if n == name && i != int(StatusNone) {
			return Status(i), nil
		}
	}
	return StatusNone, crm.NewError(crm.ErrInvalid, "invalid_status", "unknown conversation status "+name, nil)
}

// allowedTransitions lists the status changes an agent may ask for. Inbound
// messages move statuses on their own (see applyInbound); archived is terminal:
// the next inbound message starts a new conversation.
var allowedTransitions = map[Status][]Status{
	StatusOpen:       {StatusInProgress, StatusWaiting, StatusResolved, StatusArchived},
	StatusInProgress: {StatusOpen, StatusWaiting, StatusResolved, StatusArchived},
	StatusWaiting:    {StatusOpen, StatusInProgress, StatusResolved, StatusArchived},
	StatusResolved:   {StatusOpen, StatusInProgress, StatusArchived},
	StatusArchived:   nil,
}

// CanTransition reports whether an agent may move a conversation from one
// status to another.
func CanTransition(from, to Status) bool {
	return slices.Contains(allowedTransitions[from], to)
}

// Delivery is a message's delivery status as the channel adapters report
// it. The order a status may move in is persistence.StatusAdvances, applied
// in the database where concurrent statuses meet.
type Delivery uint8

const (
	DeliveryNone Delivery = iota // inbound messages have none
	DeliveryPending
	DeliverySent
	DeliveryDelivered
	DeliveryRead
	DeliveryPlayed
	DeliveryFailed
)

var deliveryNames = [...]string{"", "pending", "sent", "delivered", "read", "played", "failed"}

func (d Delivery) String() string {
	if int(d) < len(deliveryNames) {
		return deliveryNames[d]
	}
	return fmt.Sprintf("delivery(%d)", d)
}

// DeliveryFromProto maps the channel adapters' status to ours.
func DeliveryFromProto(s crmpb.DeliveryStatus) Delivery {
	if s >= crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING && s <= crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED {
		return Delivery(s) // the enums are numbered alike; TestDeliveryMatchesProto keeps them so
	}
	return DeliveryNone
}

// Proto maps a delivery status to the wire enum.
func (d Delivery) Proto() crmpb.DeliveryStatus { return crmpb.DeliveryStatus(d) }

// Proto maps a status to the wire enum.
func (s Status) Proto() crmpb.ConversationStatus { return crmpb.ConversationStatus(s) }

// StatusFromProto maps the wire enum to a status.
func StatusFromProto(s crmpb.ConversationStatus) Status {
	if s >= crmpb.ConversationStatus_CONVERSATION_STATUS_OPEN && s <= crmpb.ConversationStatus_CONVERSATION_STATUS_ARCHIVED {
		return Status(s)
	}
	return StatusNone
}

// WindowLength is WhatsApp's customer service window: free-form messages may
// be sent for 24 hours after the customer's last message.
const WindowLength = 24 * time.Hour
