package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"crm"
)

// Agent availability across the cluster. What an agent says (online, away,
// offline) lives in PostgreSQL (users.availability) and every change is a
// user.availability tenant event, which the realtime router delivers to
// the consoles on every node within milliseconds: two nodes never disagree
// for longer than an event takes. Which consoles are open is counted per
// node in agent_sessions, refreshed by a heartbeat: an agent's first
// console anywhere makes an offline agent online; their last console
// closing makes them offline after a grace period (a reload is not a
// departure) unless a console is open on another node; a node that dies
// stops refreshing its rows, and the engine's distributor sweeps its
// agents offline (actors.Engine.SweepPresence). PostgreSQL rather than
// Redis or gossip: the distributor reads availability in the same
// transaction that claims an agent (persistence.ClaimAgent), so it must
// live where the claim locks it.

// Presence timings.
const (
	presenceGrace     = 5 * time.Second
	presenceHeartbeat = 10 * time.Second
	// PresenceFresh is how old a node's session rows may be before they are
	// taken for a dead node's.
	PresenceFresh = 30 * time.Second
)

// agentPresence writes this node's session counts and availability changes,
// one at a time and in order, off the socket's goroutine.
type agentPresence struct {
	s    *Server
	node string
	log  *slog.Logger
	// counts is the local session count lookup (presence.count).
	counts func(tenant, user uuid.UUID) int

	mu      sync.Mutex
	queue   []presenceUpdate
	wake    chan struct{}
	running bool
	held    map[[2]uuid.UUID]int // tenant/user → sessions on this node
}

type presenceUpdate struct {
	tenant, user uuid.UUID
	n            int
	check        bool // the grace period of a departure ended
}

func newAgentPresence(s *Server, counts func(tenant, user uuid.UUID) int) *agentPresence {
	return &agentPresence{s: s, node: "node-" + uuid.NewString(), log: s.log.With("component", "presence"), counts: counts,
		wake: make(chan struct{}, 1), held: map[[2]uuid.UUID]int{}}
}

// sessions records that this node now holds n consoles of the user.
func (a *agentPresence) sessions(tenant, user uuid.UUID, n int) {
	if a == nil {
		return
	}
	a.push(presenceUpdate{tenant: tenant, user: user, n: n})
}

func (a *agentPresence) push(u presenceUpdate) {
	a.mu.Lock()
	a.queue = append(a.queue, u)
	if !a.running {
		a.running = true
		go a.run()
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run applies the updates in order and beats the heartbeat while this node
// holds consoles; it ends when it has held none for a while.
func (a *agentPresence) run() {
	beat := time.NewTicker(presenceHeartbeat)
	defer beat.Stop()
	idleSince := time.Now()
	for {
		a.mu.Lock()
		batch := a.queue
		a.queue = nil
		a.mu.Unlock()
		for _, u := range batch {
			a.apply(u)
		}
		a.mu.Lock()
		holding := len(a.held) > 0
		if holding || len(a.queue) > 0 {
			idleSince = time.Now()
		} else if time.Since(idleSince) > 2*presenceGrace+time.Second {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		select {
		case <-a.wake:
		case <-beat.C:
			if holding {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := a.s.db.TouchNodeSessions(ctx, a.node); err != nil {
					a.log.Warn("presence heartbeat", "error", err)
				}
				cancel()
			}
		}
	}
}

func (a *agentPresence) apply(u presenceUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := [2]uuid.UUID{u.tenant, u.user}
	if u.check {
		if a.counts(u.tenant, u.user) > 0 {
			return // back within the grace period (a reload)
		}
		elsewhere, err := a.s.db.SetNodeSessions(ctx, u.tenant, u.user, a.node, 0, time.Now().Add(-PresenceFresh))
		if err != nil {
			a.log.Warn("presence: checking other nodes", "error", err)
			return
		}
		if !elsewhere {
			a.s.setAvailability(ctx, u.tenant, u.user, crm.AvailabilityOffline)
		}
		return
	}
	a.mu.Lock()
	before := a.held[key]
	if u.n > 0 {
		a.held[key] = u.n
	} else {
		delete(a.held, key)
	}
	a.mu.Unlock()
	if _, err := a.s.db.SetNodeSessions(ctx, u.tenant, u.user, a.node, u.n, time.Now().Add(-PresenceFresh)); err != nil {
		a.log.Warn("presence: recording sessions", "error", err)
	}
	switch {
	case u.n > 0 && before == 0:
		current, err := a.s.db.Availability(ctx, u.tenant, u.user)
		if err == nil && current == crm.AvailabilityOffline {
			a.s.setAvailability(ctx, u.tenant, u.user, crm.AvailabilityOnline)
		}
	case u.n == 0 && before > 0:
		time.AfterFunc(presenceGrace, func() { a.push(presenceUpdate{tenant: u.tenant, user: u.user, check: true}) })
	}
}

// setAvailability records an agent's availability and tells the tenant's
// consoles on every node (user.availability), and the distributor.
func (s *Server) setAvailability(ctx context.Context, tenant, user uuid.UUID, to crm.Availability) error {
	ev, err := s.db.SetAvailability(ctx, tenant, user, to)
	if err != nil {
		s.log.Warn("setting availability", "user_id", user, "error", err)
		return err
	}
	if ev != nil && s.cfg.Engine != nil {
		s.cfg.Engine.Publish(tenant, []crm.TenantEvent{*ev})
	}
	return nil
}
