package actors

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// Distribution: every node runs a distributor. A pass over a tenant takes,
// team by team, the team's drain lock (so the nodes never drain one queue
// at once and the order of waiting holds) and asks each waiting
// conversation's grain, longest waiting first, to take an agent
// (AutoAssign): the grain claims one in its own transaction, where the
// agent's row is locked and their open conversations counted, so no cap is
// ever exceeded whichever node assigns. The pass stops at the first
// conversation nobody can take. Passes are kicked by the changes that may
// move a queue (a conversation created, transferred, assigned or
// resolved; an agent's availability; a team's settings) and run every
// DistributeEvery besides, which catches what a kick on another node
// missed.

// drainBatch is how many waiting conversations a pass reads at a time.
const drainBatch = 50

// KickDistribution asks for a distribution pass over the tenant's queues
// soon. It never blocks: a full kick queue is caught by the periodic pass.
func (e *Engine) KickDistribution(tenantID uuid.UUID) {
	select {
	case e.kicks <- tenantID:
	default:
	}
}

// movesQueues reports whether committed events may let a queue move: a
// conversation of a team, or held by someone, created or changed (it joined
// a queue, or its agent may have freed a place); an agent's availability;
// a team's settings. Conversations of no team and nobody (most of a bot's
// or a busy inbox's traffic) kick nothing: the periodic pass covers the
// rare case they matter.
func movesQueues(events []crm.TenantEvent) bool {
	for _, ev := range events {
		switch {
		case ev.Type == "conversation.created", ev.Type == "conversation.updated":
			if ev.TeamID != nil || ev.AssigneeID != nil {
				return true
			}
		case ev.Type == "user.availability", strings.HasPrefix(ev.Type, "team."):
			return true
		}
	}
	return false
}

func (e *Engine) distributeLoop() {
	defer e.wg.Done()
	var tick <-chan time.Time
	if e.cfg.DistributeEvery > 0 {
		t := time.NewTicker(e.cfg.DistributeEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		var tenants []uuid.UUID
		select {
		case <-e.stop:
			return
		case id := <-e.kicks:
			tenants = e.moreKicks(id)
		case <-tick:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			e.SweepPresence(ctx)
			var err error
			tenants, err = e.db.TenantsWithQueues(ctx)
			cancel()
			if err != nil {
				e.log.Warn("distribution: listing the queues", "error", err)
				continue
			}
		}
		for _, id := range tenants {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if _, err := e.Distribute(ctx, id); err != nil {
				e.log.Warn("distribution pass", "tenant_id", id, "error", err)
			}
			cancel()
		}
	}
}

// moreKicks gathers the kicks that arrive within a short while of the
// first, each tenant once: a burst of changes makes one pass.
func (e *Engine) moreKicks(first uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{first: true}
	out := []uuid.UUID{first}
	timer := time.NewTimer(50 * time.Millisecond)
	defer timer.Stop()
	for {
		select {
		case id := <-e.kicks:
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		case <-timer.C:
			return out
		case <-e.stop:
			return out
		}
	}
}

// Distribute runs one distribution pass over the tenant's team queues and
// returns how many conversations it assigned.
func (e *Engine) Distribute(ctx context.Context, tenantID uuid.UUID) (int, error) {
	teams, err := e.db.DistributingTeams(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	assigned := 0
	for _, team := range teams {
		err := e.db.WithTeamDrain(ctx, tenantID, team.ID, func() error {
			n, err := e.drainTeam(ctx, tenantID, team)
			assigned += n
			return err
		})
		if err != nil {
			return assigned, err
		}
	}
	return assigned, nil
}

// drainTeam assigns the team's waiting conversations in order of waiting
// until nobody can take the next one.
func (e *Engine) drainTeam(ctx context.Context, tenantID uuid.UUID, team persistence.TeamCalendar) (int, error) {
	assigned := 0
	for {
		entries, err := e.db.QueuedConversations(ctx, tenantID, team.ID, drainBatch)
		if err != nil {
			return assigned, err
		}
		moved := 0
		for _, q := range entries {
			req := &crmpb.AutoAssign{Conversation: &crmpb.ConversationRef{TenantId: tenantID.String(),
				ConnectionId: q.ConnectionID.String(), ContactId: q.ContactID.String()},
				TeamId: team.ID.String(), Mode: string(team.AutoAssign), TeamCap: int32(team.MaxOpenPerAgent)}
			res, err := ask[*crmpb.CommandResult](ctx, e, ConversationIdentity(tenantID, q.ConnectionID, q.ContactID), KindConversation, req)
			if err != nil {
				return assigned, err
			}
			switch code := res.GetError().GetCode(); code {
			case "":
				assigned++
				moved++
			case "no_agent":
				return assigned, nil
			case "not_queued":
				moved++ // left the queue meanwhile (its row goes with it)
			default:
				e.log.Warn("distribution: a conversation refused its agent", "conversation_id", q.ConversationID, "code", code,
					"message", res.GetError().GetMessage())
			}
		}
		if len(entries) < drainBatch || moved == 0 {
			return assigned, nil
		}
	}
}

// presenceFresh is how old a node's console rows may be before they are
// taken for a dead node's: three of its heartbeats (httpapi/agents.go).
const presenceFresh = 30 * time.Second

// SweepPresence sets offline the agents who say they are online or away
// with no console open on any live node (their node died), and tells
// their tenants' consoles.
func (e *Engine) SweepPresence(ctx context.Context) {
	gone, err := e.db.DisconnectedAgents(ctx, e.cfg.Now().Add(-presenceFresh))
	if err != nil {
		e.log.Warn("presence sweep", "error", err)
		return
	}
	for _, u := range gone {
		ev, err := e.db.SetAvailability(ctx, u.TenantID, u.UserID, crm.AvailabilityOffline)
		if err != nil {
			e.log.Warn("presence sweep", "user_id", u.UserID, "error", err)
			continue
		}
		if ev != nil {
			e.publish(u.TenantID, []crm.TenantEvent{*ev})
		}
	}
}
