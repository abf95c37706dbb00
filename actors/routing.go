package actors

import (
	"context"
	"time"

	"github.com/google/uuid"

	"crm"
	crmpb "crm/proto"
)

// Routing on the conversation grain: a new conversation joins its
// connection's default team; a customer who writes while the business is
// closed gets the outside-hours reply once per closed period; the
// distributor (distribute.go) asks the grain to take an agent for it
// (AutoAssign); the auto-close job asks it to resolve it when idle
// (CloseIdle). Both run through commandTx, so they serialise with the
// conversation's other changes.

// calendar is the business hours that apply to a team's conversations: the
// team's own, else the tenant's (nil: always open).
func (t *tenantBots) calendar(team *uuid.UUID) *crm.BusinessHours {
	if t == nil {
		return nil
	}
	if team != nil {
		if r, ok := t.routing.Teams[*team]; ok && r.BusinessHours != nil {
			return r.BusinessHours
		}
	}
	return t.state.BusinessHours
}

// defaultTeam is the team a new conversation of the connection joins, or nil.
func (t *tenantBots) defaultTeam(connection uuid.UUID) *uuid.UUID {
	if t == nil {
		return nil
	}
	if team, ok := t.routing.DefaultTeams[connection]; ok {
		return &team
	}
	return nil
}

// outsideHours reports whether a customer's message to the conversation
// (nil or archived: a new one of the connection) at now falls in a closed
// period with the outside-hours reply on, and when that period began. A
// conversation a bot holds is the bot's to answer.
func (t *tenantBots) outsideHours(conv *crm.Conversation, connection uuid.UUID, now time.Time) (time.Time, bool) {
	if t == nil || !t.state.OutsideHoursReply.Enabled {
		return time.Time{}, false
	}
	team := t.defaultTeam(connection)
	if conv != nil && conv.Status != crm.ConversationArchived {
		if conv.BotActive {
			return time.Time{}, false
		}
		team = conv.TeamID
	}
	h := t.calendar(team)
	if h == nil || h.Open(now) {
		return time.Time{}, false
	}
	return h.LastClose(now), true
}

// outsideHoursReply stores the outside-hours reply on a conversation whose
// customer just wrote, unless it already had one in this closed period.
func (g *conversationGrain) outsideHoursReply(ctx context.Context, tx TenantStore, conv *crm.Conversation, period, now time.Time, tb *tenantBots) (*botTurn, error) {
	first, err := tx.RecordOutsideHoursReply(ctx, conv.ID, period)
	if err != nil || !first {
		return nil, err
	}
	out, err := g.storeOutbound(ctx, tx, conv, &crmpb.SendMessage{ConversationId: conv.ID.String(), Type: "text",
		Text: tb.state.OutsideHoursReply.Message(), Via: "system"}, now, true)
	if err != nil || out.message == nil {
		return nil, err // refused (a closed window cannot be: the customer just wrote) or stored already
	}
	created, err := messageCreated(conv, out.message)
	if err != nil {
		return nil, err
	}
	return &botTurn{events: []crm.TenantEvent{created}, sends: []*crmpb.SendRequest{out.job}}, nil
}

// queued reports whether the conversation waits in a team's queue: a team,
// nobody assigned, no bot, not resolved (the conversation_queue trigger's
// rule).
func queued(c *crm.Conversation) bool {
	if c.TeamID == nil || c.AssigneeID != nil || c.BotActive {
		return false
	}
	switch c.Status {
	case crm.ConversationOpen, crm.ConversationInProgress, crm.ConversationWaiting:
		return true
	}
	return false
}

// autoAssign gives the queued conversation to the team's next agent who is
// online and under the cap; no_agent when nobody can take it now (it stays
// queued), not_queued when it no longer waits in that team's queue.
func (g *conversationGrain) autoAssign(req *crmpb.AutoAssign) *crmpb.CommandResult {
	team, err := uuid.Parse(req.GetTeamId())
	if err != nil {
		return &crmpb.CommandResult{Error: errorf("invalid_input", "team id is not a UUID")}
	}
	mode := crm.AutoAssign(req.GetMode())
	if !mode.Valid() || mode == crm.AutoAssignOff {
		return &crmpb.CommandResult{Error: errorf("invalid_input", "auto-assign mode %q", req.GetMode())}
	}
	return g.commandTx(uuid.Nil, func(ctx context.Context, tx TenantStore, c *crm.Conversation, _ *botTurn) (bool, *crmpb.ResultError, error) {
		if !queued(c) || *c.TeamID != team {
			return false, errorf("not_queued", "the conversation no longer waits in this team's queue"), nil
		}
		agent, ok, err := tx.ClaimAgent(ctx, team, mode, int(req.GetTeamCap()))
		if err != nil {
			return false, nil, err
		}
		if !ok {
			return false, errorf("no_agent", "no agent of the team can take a conversation now"), nil
		}
		c.AssigneeID = &agent
		c.Status = c.Status.AfterAssign(true)
		return true, nil, nil
	})
}

// closeIdle resolves the live conversation when nothing happened on it
// since idle_before, sending the closing message first when there is one
// and the 24-hour window allows it. A conversation active since, or
// resolved already, is left as it is (not an error: the job's pass raced
// a customer or an agent).
func (g *conversationGrain) closeIdle(req *crmpb.CloseIdle) *crmpb.CommandResult {
	idleBefore := time.UnixMilli(req.GetIdleBeforeMs())
	return g.commandTx(uuid.Nil, func(ctx context.Context, tx TenantStore, c *crm.Conversation, turn *botTurn) (bool, *crmpb.ResultError, error) {
		if c.Status == crm.ConversationResolved || c.Status == crm.ConversationArchived || c.LastActivityAt.After(idleBefore) {
			return false, nil, nil
		}
		now := g.engine.cfg.Now().UTC()
		if text := req.GetMessage(); text != "" && c.WindowOpen(now) {
			out, err := g.storeOutbound(ctx, tx, c, &crmpb.SendMessage{ConversationId: c.ID.String(), Type: "text", Text: text, Via: "system"}, now, true)
			if err != nil {
				return false, nil, err
			}
			if out.message != nil {
				created, err := messageCreated(c, out.message)
				if err != nil {
					return false, nil, err
				}
				turn.events, turn.sends = append(turn.events, created), append(turn.sends, out.job)
			}
		}
		changed, e := changeStatus(c, crmpb.ConversationStatus_CONVERSATION_STATUS_RESOLVED, now)
		if changed && c.BotActive {
			c.BotActive = false
		}
		return changed, e, nil
	})
}
