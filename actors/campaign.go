package actors

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

// Campaigns run in their connection's grain: one lane per running campaign
// hands its recipients, in order and at its pace, to their conversation
// grains, which store each message once (the recipient's idempotency key)
// and give it back to the connection to send. The lanes of a connection
// share its campaign budget (campaignShare of its send rate), so that two
// campaigns on one number split its rate and agents' live replies always
// find room.
//
// The state is the database: a recipient is to send while it is pending
// without a message. A lane that dies with its node is started again on
// another within a sweep (every node's sweep wakes the grain of each
// running campaign), and carries on from the recipients not yet handed
// over; one handed over twice is stored once.

// campaignShare is the part of a connection's send rate its campaigns may
// use together; the rest is kept for live replies.
const campaignShare = 0.8

// campaignInFlight bounds one lane's hand-overs waiting for their
// conversation grain.
const campaignInFlight = 8

// campaignBatch is how many recipients a lane reads at a time.
const campaignBatch = 500

// WakeCampaign tells the campaign's connection grain that it runs or
// changed (paused, resumed, cancelled): the lane starts, or re-reads it.
func (e *Engine) WakeCampaign(ctx context.Context, tenantID, connectionID, campaignID uuid.UUID) error {
	_, err := e.request(ctx, tenantID.String()+"/"+connectionID.String(), KindConnection, &crmpb.CampaignWake{CampaignId: campaignID.String()})
	return err
}

// wakeCampaigns wakes the grain of every running campaign (the sweep): a
// lane lost with its node starts again on another.
func (e *Engine) wakeCampaigns(ctx context.Context) {
	running, err := e.db.RunningCampaigns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("listing running campaigns", "error", err)
		}
		return
	}
	for _, c := range running {
		if err := e.WakeCampaign(ctx, c.TenantID, c.ConnectionID, c.ID); err != nil && ctx.Err() == nil {
			e.log.Warn("waking a campaign", "campaign_id", c.ID, "error", err)
		}
	}
}

// campaignLanes are a connection grain's running lanes.
type campaignLanes struct {
	mu      sync.Mutex
	lanes   map[uuid.UUID]*campaignLane
	limiter *rate.Limiter // the connection's campaign budget, shared
}

func (g *connectionGrain) wakeCampaign(ctx actor.Context, msg *crmpb.CampaignWake) {
	ctx.Respond(&crmpb.CommandResult{})
	id, err := uuid.Parse(msg.GetCampaignId())
	if err != nil {
		return
	}
	c := &g.campaigns
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limiter == nil {
		r := g.engine.cfg.SendRate * campaignShare
		c.limiter = rate.NewLimiter(rate.Limit(r), max(1, int(r/10)))
	}
	if l, ok := c.lanes[id]; ok {
		select {
		case l.wake <- struct{}{}:
		default:
		}
		return
	}
	if c.lanes == nil {
		c.lanes = map[uuid.UUID]*campaignLane{}
	}
	l := &campaignLane{g: g, id: id, wake: make(chan struct{}, 1)}
	c.lanes[id] = l
	go func() {
		l.run()
		c.mu.Lock()
		delete(c.lanes, id)
		c.mu.Unlock()
	}()
}

// busy reports whether the grain runs a lane (it then stays active).
func (c *campaignLanes) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lanes) > 0
}

// campaignLane sends one campaign's recipients.
type campaignLane struct {
	g    *connectionGrain
	id   uuid.UUID
	wake chan struct{}
}

func (l *campaignLane) log() func(msg string, args ...any) {
	return func(msg string, args ...any) {
		l.g.engine.log.Warn(msg, append([]any{"campaign_id", l.id}, args...)...)
	}
}

// run sends until the campaign is no longer running, or every recipient is
// handed over (it completes it then).
func (l *campaignLane) run() {
	e, warn := l.g.engine, l.log()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		c, err := e.db.GetCampaign(ctx, l.g.tenant, l.id)
		if errors.Is(err, crm.ErrNotFound) {
			return
		}
		if err != nil {
			warn("reading a campaign", "error", err)
			l.sleep(time.Second)
			continue
		}
		if c.Status != crm.CampaignRunning || c.ConnectionID != l.g.connection {
			return
		}
		if e.cfg.Connections != nil {
			if _, err := e.cfg.Connections.Provider(ctx, l.g.tenant, l.g.connection); errors.Is(err, crm.ErrNotFound) {
				// The connection was deleted: nothing can be sent any more.
				ev, err := e.db.FailCampaign(ctx, l.g.tenant, l.id, "connection_unavailable", "the campaign's connection was deleted")
				if err != nil {
					warn("failing a campaign", "error", err)
				} else if ev.Type != "" {
					e.publish(l.g.tenant, []crm.TenantEvent{ev})
				}
				return
			}
		}
		running, err := l.pass(ctx, c)
		if err != nil {
			warn("campaign pass", "error", err)
		}
		if !running {
			return
		}
		done, ev, err := e.db.CompleteCampaign(ctx, l.g.tenant, l.id)
		if err != nil {
			warn("completing a campaign", "error", err)
		}
		if done {
			e.publish(l.g.tenant, []crm.TenantEvent{ev})
			l.settle(ctx)
			return
		}
		// Some recipients were not handed over (their grain could not be
		// reached): another pass, a little later.
		l.sleep(time.Second)
	}
}

// settle keeps the consoles' progress moving after the last hand-over, while
// the provider's answers turn the last recipients from pending to sent (a
// beat a second, for at most a minute).
func (l *campaignLane) settle(ctx context.Context) {
	c, err := l.g.engine.db.GetCampaign(ctx, l.g.tenant, l.id)
	for i := 0; err == nil && c.Stats.Pending > 0 && i < 60; i++ {
		time.Sleep(time.Second)
		var ev crm.TenantEvent
		prev := c
		if c, ev, err = l.g.engine.db.CampaignProgress(ctx, l.g.tenant, l.id, prev); err == nil && ev.Type != "" {
			l.g.engine.publish(l.g.tenant, []crm.TenantEvent{ev})
		}
	}
}

// sleep waits d, or less when a wake comes (the caller re-reads the
// campaign next).
func (l *campaignLane) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.wake:
	}
}

// pass hands over the recipients still to send once, in order, at the
// campaign's pace. It answers false when the campaign stopped running.
func (l *campaignLane) pass(ctx context.Context, c crm.Campaign) (bool, error) {
	e := l.g.engine
	interval := time.Duration(float64(time.Minute) / float64(c.RatePerMinute))
	var inflight sync.WaitGroup
	defer inflight.Wait()
	slots := make(chan struct{}, campaignInFlight)
	next := time.Now()
	beat := time.Now()
	after := 0
	for {
		batch, err := e.db.NextCampaignSends(ctx, l.g.tenant, c.ID, after, campaignBatch)
		if err != nil {
			return true, err
		}
		if len(batch) == 0 {
			return true, nil
		}
		// A tenant suspended or unlicensed meanwhile: the campaign waits,
		// running, instead of failing its recipients one by one.
		for {
			err := e.MayI(ctx, l.g.tenant, ActionSend)
			if err == nil {
				break
			}
			l.log()("campaign waits: the tenant may not send", "reason", err)
			if !l.waitUntil(time.Now().Add(5*time.Second), &c) {
				return false, nil
			}
		}
		for _, s := range batch {
			// Quiet hours: nothing until the window ends.
			if c.QuietHours != nil {
				if until, quiet := c.QuietHours.Until(time.Now()); quiet {
					if !l.waitUntil(until, &c) {
						return false, nil
					}
					next = time.Now()
				}
			}
			if wait := time.Until(next); wait > 0 {
				if !l.waitUntil(next, &c) {
					return false, nil
				}
			} else if wait < -2*time.Second {
				next = time.Now() // far behind (a stall): resume the pace, no burst
			}
			if err := l.g.campaigns.limiter.Wait(ctx); err != nil {
				return true, err
			}
			slots <- struct{}{}
			inflight.Add(1)
			go func(s persistence.CampaignSend) {
				defer func() { <-slots; inflight.Done() }()
				l.send(ctx, c, s)
			}(s)
			after = s.Position
			next = next.Add(jittered(interval, c.JitterPct))
			if time.Since(beat) >= time.Second {
				beat = time.Now()
				if !l.progress(ctx, &c) {
					return false, nil
				}
			}
		}
	}
}

// waitUntil sleeps until t, re-reading the campaign on a wake (and about
// every second, publishing its progress); false when it stopped running.
func (l *campaignLane) waitUntil(t time.Time, c *crm.Campaign) bool {
	for {
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(min(d, time.Second))
		select {
		case <-timer.C:
			if d > time.Second && !l.progress(context.Background(), c) {
				return false
			}
		case <-l.wake:
			timer.Stop()
			if !l.progress(context.Background(), c) {
				return false
			}
		}
	}
}

// progress re-reads the campaign and publishes its stats; false when it is
// no longer running.
func (l *campaignLane) progress(ctx context.Context, c *crm.Campaign) bool {
	e := l.g.engine
	select {
	case <-l.wake: // this read answers any wake that came meanwhile
	default:
	}
	updated, ev, err := e.db.CampaignProgress(ctx, l.g.tenant, l.id, *c)
	if errors.Is(err, crm.ErrNotFound) {
		return false
	}
	if err != nil {
		l.log()("campaign progress", "error", err)
		return true
	}
	if ev.Type != "" {
		e.publish(l.g.tenant, []crm.TenantEvent{ev})
	}
	*c = updated
	return updated.Status == crm.CampaignRunning
}

// jittered is d moved by up to pct percent either way.
func jittered(d time.Duration, pct int) time.Duration {
	if pct <= 0 {
		return d
	}
	f := 1 + (rand.Float64()*2-1)*float64(pct)/100
	return time.Duration(float64(d) * f)
}

// send hands one recipient to its conversation grain. A refusal (no
// identity on the channel, a closed window) fails the recipient with the
// reason; a grain that cannot be reached leaves it to the next pass.
func (l *campaignLane) send(ctx context.Context, c crm.Campaign, s persistence.CampaignSend) {
	e, g := l.g.engine, l.g
	req := &crmpb.SendMessage{
		Conversation:     &crmpb.ConversationRef{TenantId: g.tenant.String(), ConnectionId: g.connection.String(), ContactId: s.Contact.ID.String()},
		IdempotencyKey:   "campaign:" + c.ID.String() + ":" + s.Contact.ID.String(),
		Type:             c.Message.Type,
		Text:             crm.RenderCampaignText(c.Message.Text, s.Contact),
		Via:              "campaign",
		OpenConversation: true,
		CampaignId:       c.ID.String(),
	}
	if c.Message.MediaID != nil {
		req.MediaId = c.Message.MediaID.String()
	}
	if len(c.Message.Template) > 0 {
		tpl, err := crm.RenderCampaignTemplate(c.Message.Template, s.Contact)
		if err != nil {
			l.fail(ctx, c, s, "bad_template", err.Error())
			return
		}
		req.TemplateJson = tpl
	}
	askCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := ask[*crmpb.SendResult](askCtx, e, ConversationIdentity(g.tenant, g.connection, s.Contact.ID), KindConversation, req)
	if err != nil {
		e.metrics.campaignSends.WithLabelValues("retry").Inc()
		l.log()("campaign recipient not handed over; the next pass retries it", "contact_id", s.Contact.ID, "error", err)
		return
	}
	if refusal := res.GetError(); refusal != nil {
		l.fail(ctx, c, s, refusal.GetCode(), refusal.GetMessage())
		return
	}
	if res.GetDuplicate() {
		e.metrics.campaignSends.WithLabelValues("duplicate").Inc()
		return
	}
	e.metrics.campaignSends.WithLabelValues("handed").Inc()
}

func (l *campaignLane) fail(ctx context.Context, c crm.Campaign, s persistence.CampaignSend, code, message string) {
	l.g.engine.metrics.campaignSends.WithLabelValues("refused").Inc()
	if err := l.g.engine.db.FailCampaignRecipient(ctx, l.g.tenant, c.ID, s.Contact.ID, code, message); err != nil {
		l.log()("recording a campaign recipient's failure", "contact_id", s.Contact.ID, "error", err)
	}
}
