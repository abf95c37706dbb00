package actors

import (
	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// InboxEventSummary is what lets an admin recognise a stored inbox event
// (a dead letter) without reading its payload.
type InboxEventSummary struct {
	// Contact is the customer's name, else their id on the channel.
	Contact string `json:"contact"`
	// Preview is the message as the inbox list shows it, or the status a
	// status update carries; empty for an event that does not decode.
	Preview string `json:"preview"`
}

// SummarizeInboxEvent decodes a stored event (persistence.DeadLetter's
// Event and PayloadJSON) into its summary.
func SummarizeInboxEvent(event, payloadJSON []byte) InboxEventSummary {
	ev, err := inboxEvent(persistence.PendingInboxEvent{InboxEvent: persistence.InboxEvent{Event: event}, PayloadJSON: payloadJSON})
	if err != nil {
		return InboxEventSummary{}
	}
	var profile *crmpb.ContactProfile
	var message *crmpb.Message
	out := InboxEventSummary{}
	switch body := ev.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage:
		profile, message = body.InboundMessage.GetContact(), body.InboundMessage.GetMessage()
	case *crmpb.ChannelEvent_OutboundEcho:
		profile, message = body.OutboundEcho.GetContact(), body.OutboundEcho.GetMessage()
	case *crmpb.ChannelEvent_Reaction:
		profile = body.Reaction.GetContact()
		out.Preview = "Reagiu " + body.Reaction.GetEmoji()
	case *crmpb.ChannelEvent_StatusUpdate:
		out.Preview = string(deliveryFromProto(body.StatusUpdate.GetStatus())) + " " + body.StatusUpdate.GetExternalMessageId()
	case *crmpb.ChannelEvent_ReadWatermark:
		profile = body.ReadWatermark.GetContact()
		out.Preview = string(deliveryFromProto(body.ReadWatermark.GetStatus()))
	}
	if profile != nil {
		out.Contact = profile.GetName()
		if out.Contact == "" {
			out.Contact = contactKey(profile)
		}
	}
	if message != nil {
		m := &crm.Message{}
		fillMessage(m, message)
		out.Preview = preview(m)
	}
	return out
}
