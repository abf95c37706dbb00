package actors

import (
	"crm"
	crmpb "crm/proto"
)

// The statuses are crm's; the proto enums are how channel adapters and grain
// messages carry them. These are the only translations.

// deliveryFromProto maps a channel adapter's delivery status to ours; an
// unspecified one is "".
func deliveryFromProto(s crmpb.DeliveryStatus) crm.DeliveryStatus {
	switch s {
	case crmpb.DeliveryStatus_DELIVERY_STATUS_PENDING:
		return crm.DeliveryPending
	case crmpb.DeliveryStatus_DELIVERY_STATUS_SENT:
		return crm.DeliverySent
	case crmpb.DeliveryStatus_DELIVERY_STATUS_DELIVERED:
		return crm.DeliveryDelivered
	case crmpb.DeliveryStatus_DELIVERY_STATUS_READ:
		return crm.DeliveryRead
	case crmpb.DeliveryStatus_DELIVERY_STATUS_PLAYED:
		return crm.DeliveryPlayed
	case crmpb.DeliveryStatus_DELIVERY_STATUS_FAILED:
		return crm.DeliveryFailed
	}
	return ""
}

// statusToProto maps a conversation status to the wire enum; an unknown one
// is unspecified.
func statusToProto(s crm.ConversationStatus) crmpb.ConversationStatus {
	switch s {
	case crm.ConversationOpen:
		return crmpb.ConversationStatus_CONVERSATION_STATUS_OPEN
	case crm.ConversationInProgress:
		return crmpb.ConversationStatus_CONVERSATION_STATUS_IN_PROGRESS
	case crm.ConversationWaiting:
		return crmpb.ConversationStatus_CONVERSATION_STATUS_WAITING
	case crm.ConversationResolved:
		return crmpb.ConversationStatus_CONVERSATION_STATUS_RESOLVED
	case crm.ConversationArchived:
		return crmpb.ConversationStatus_CONVERSATION_STATUS_ARCHIVED
	}
	return crmpb.ConversationStatus_CONVERSATION_STATUS_UNSPECIFIED
}

// statusFromProto maps the wire enum to a conversation status; an
// unspecified one is "".
func statusFromProto(s crmpb.ConversationStatus) crm.ConversationStatus {
	for _, st := range crm.ConversationStatuses() {
		if statusToProto(st) == s {
			return st
		}
	}
	return ""
}
