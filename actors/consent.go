package actors

import (
	"context"
	"time"

	"crm"
	crmpb "crm/proto"
)

// Consent: a customer who writes one of the tenant's opt-out keywords
// (SAIR, PARAR, STOP, CANCELAR by default) is opted out of marketing in the
// same transaction as their message, with an audit entry, and gets the
// confirmation once; a bot running on the conversation stops. WhatsApp's
// error 131050 (the user stopped marketing messages) opts out too
// (connection_grain.go).

// optOutCode is WhatsApp's "user has chosen not to receive marketing
// messages from this business".
const optOutCode = 131050

// optingOut reports whether an inbound message is an opt-out keyword of
// its tenant.
func optingOut(ev *crmpb.ChannelEvent, prep *botPrep) bool {
	body, ok := ev.GetEvent().(*crmpb.ChannelEvent_InboundMessage)
	if !ok || prep == nil || body.InboundMessage.GetMessage().GetText() == "" {
		return false
	}
	return crm.IsOptOutWord(body.InboundMessage.GetMessage().GetText(), prep.tb.optOut, prep.tb.optOutLongest)
}

// optOut opts the conversation's contact out, in tx, and stores the
// confirmation the first time.
func (g *conversationGrain) optOut(ctx context.Context, tx TenantStore, conv *crm.Conversation, now time.Time, prep *botPrep) (*botTurn, error) {
	turn := &botTurn{}
	changed, err := tx.SetContactOptOut(ctx, g.contact, true, "keyword")
	if err != nil {
		return nil, err
	}
	if conv.BotActive {
		if err := g.endBot(ctx, tx, conv, botStopped, now); err != nil {
			return nil, err
		}
		turn.convChanged = true
	}
	if !changed {
		return turn, nil
	}
	reply := prep.tb.state.OptOutReply
	if reply == "" {
		reply = crm.DefaultOptOutReply
	}
	out, err := g.storeOutbound(ctx, tx, conv, &crmpb.SendMessage{ConversationId: conv.ID.String(), Type: "text", Text: reply, Via: "consent"}, now, true)
	if err != nil || out.refused != nil {
		return turn, err // a closed window: opted out all the same, without the confirmation
	}
	created, err := messageCreated(conv, out.message)
	if err != nil {
		return nil, err
	}
	turn.events = append(turn.events, created)
	turn.sends = append(turn.sends, out.job)
	return turn, nil
}
