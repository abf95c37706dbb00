package actors

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// The service sweep runs in a periodic durable job (jobs.ServiceSweep), on
// one node of the cluster at a time: it resolves the conversations idle
// past their tenant's auto-close (through their grains: CloseIdle, which
// sends the closing message first) and records the first-response SLAs
// breached, with a conversation.sla_breached event each.

// sweepBatch bounds the conversations one tenant's pass reads at a time.
const sweepBatch = 200

// ServiceSweepResult counts what a sweep did.
type ServiceSweepResult struct {
	Closed   int
	Breached int
}

// ServiceSweep runs one pass over every tenant with auto-close or an SLA.
func (e *Engine) ServiceSweep(ctx context.Context) (ServiceSweepResult, error) {
	var out ServiceSweepResult
	tenants, err := e.db.ServiceTenants(ctx)
	if err != nil {
		return out, err
	}
	var errs []error
	for _, t := range tenants {
		closed, err := e.autoClose(ctx, t)
		out.Closed += closed
		if err != nil {
			errs = append(errs, err)
		}
		if !t.HasSLA {
			continue
		}
		breached, err := e.watchSLA(ctx, t)
		out.Breached += breached
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (e *Engine) autoClose(ctx context.Context, t persistence.ServiceTenant) (int, error) {
	if t.AutoClose.IdleHours <= 0 {
		return 0, nil
	}
	idleBefore := e.cfg.Now().Add(-t.AutoClose.Idle())
	closed := 0
	for {
		idle, err := e.db.IdleConversations(ctx, t.TenantID, idleBefore, sweepBatch)
		if err != nil {
			return closed, err
		}
		for _, c := range idle {
			req := &crmpb.CloseIdle{Conversation: &crmpb.ConversationRef{TenantId: t.TenantID.String(),
				ConnectionId: c.ConnectionID.String(), ContactId: c.ContactID.String()},
				IdleBeforeMs: idleBefore.UnixMilli(), Message: t.AutoClose.Message}
			res, err := ask[*crmpb.CommandResult](ctx, e, ConversationIdentity(t.TenantID, c.ConnectionID, c.ContactID), KindConversation, req)
			if err != nil {
				return closed, err
			}
			if res.GetError() != nil {
				e.log.Warn("auto-close refused", "conversation_id", c.ID, "code", res.GetError().GetCode())
				continue
			}
			if res.GetChanged() {
				closed++
			}
		}
		if len(idle) < sweepBatch {
			return closed, nil
		}
	}
}

func (e *Engine) watchSLA(ctx context.Context, t persistence.ServiceTenant) (int, error) {
	now := e.cfg.Now()
	breached := 0
	waiting, err := e.db.AwaitingFirstAnswer(ctx, t.TenantID, 5000)
	if err != nil {
		return 0, err
	}
	for _, w := range waiting {
		hours := w.TeamHours
		if hours == nil {
			hours = t.BusinessHours
		}
		due := crm.SLADue(hours, w.CreatedAt, w.SLAMinutes)
		if due.IsZero() || now.Before(due) {
			continue
		}
		ev, err := e.db.RecordSLABreach(ctx, t.TenantID, persistence.SLABreach{ConversationID: w.ConversationID,
			TeamID: w.TeamID, AssigneeID: w.AssigneeID, DueAt: due})
		if err != nil {
			return breached, err
		}
		if ev != nil {
			breached++
			e.publish(t.TenantID, []crm.TenantEvent{*ev})
		}
	}
	return breached, nil
}

// SLADue fills each conversation's sla_due_at: when its first answer falls
// due under its team's SLA, in the team's (else the tenant's) business
// time; left nil when the team has none or the answer came. An answered
// one gets its time to first response in business time.
func (e *Engine) SLADue(ctx context.Context, tenantID uuid.UUID, convs []*crm.Conversation) error {
	tb, err := e.bots.tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, c := range convs {
		c.SLADueAt, c.FirstResponseBusinessSeconds = nil, nil
		if c.FirstResponseAt != nil {
			secs := int64(crm.BusinessBetween(tb.calendar(c.TeamID), c.CreatedAt, *c.FirstResponseAt) / time.Second)
			c.FirstResponseBusinessSeconds = &secs
		}
		if c.TeamID == nil || c.FirstResponseAt != nil {
			continue
		}
		r, ok := tb.routing.Teams[*c.TeamID]
		if !ok || r.SLAFirstResponseMinutes <= 0 {
			continue
		}
		due := crm.SLADue(tb.calendar(c.TeamID), c.CreatedAt, r.SLAFirstResponseMinutes)
		c.SLADueAt = &due
	}
	return nil
}

// RoutingChanged drops the tenant's cached routing (teams, connections'
// default teams, service settings) so the grains read the new one, and
// kicks a distribution pass.
func (e *Engine) RoutingChanged(tenantID uuid.UUID) {
	e.bots.forget(tenantID)
	e.KickDistribution(tenantID)
}

// ServiceSweepOnce is ServiceSweep for the periodic job (jobs.ServiceSweeper).
func (e *Engine) ServiceSweepOnce(ctx context.Context) error {
	res, err := e.ServiceSweep(ctx)
	if res.Closed > 0 || res.Breached > 0 {
		e.log.Info("service sweep", "closed", res.Closed, "sla_breached", res.Breached)
	}
	return err
}

// QueueSLA fills the queued conversations' sla_due_at (see SLADue).
func (e *Engine) QueueSLA(ctx context.Context, tenantID uuid.UUID, queues []persistence.TeamQueue) error {
	tb, err := e.bots.tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	for i := range queues {
		r, ok := tb.routing.Teams[queues[i].TeamID]
		if !ok || r.SLAFirstResponseMinutes <= 0 {
			continue
		}
		for j := range queues[i].Items {
			it := &queues[i].Items[j]
			due := crm.SLADue(tb.calendar(&it.TeamID), it.CreatedAt, r.SLAFirstResponseMinutes)
			it.SLADueAt = &due
		}
	}
	return nil
}
