package actors

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"crm"
	"crm/actors/bot"
	"crm/persistence"
)

// botFlows caches, per tenant, what an inbound message's grain needs to
// decide whether a chatbot runs: the plan's chatbot feature, the business
// hours and the active flows, compiled. Every inbound message asks, so the
// answer comes from memory; it is read again after botFlowsTTL, or at once
// on this node after a publish (Engine.ForgetBotFlows). Published versions
// never change, so compiled versions are kept by (flow, version).
type botFlows struct {
	db    *persistence.DB
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu       sync.RWMutex
	tenants  map[uuid.UUID]*tenantBots
	versions map[flowVersionKey]*bot.Compiled
}

const botFlowsTTL = 5 * time.Second

type flowVersionKey struct {
	tenant, flow uuid.UUID
	version      int
}

// tenantBots is one tenant's chatbot as of loadedAt.
type tenantBots struct {
	loadedAt time.Time
	state    crm.TenantState
	flows    []activeFlow
	// optOut are the tenant's opt-out keywords, folded once.
	optOut        map[string]bool
	optOutLongest int
	// routing is the connections' default teams and the teams' routing.
	routing persistence.RoutingConfig
}

// activeFlow is a published flow's active version.
type activeFlow struct {
	id       uuid.UUID
	trigger  crm.BotTrigger
	compiled *bot.Compiled
}

// runs reports whether a new session may start on this tenant's messages.
func (t *tenantBots) runs() bool { return t != nil && t.state.Features.Chatbot && len(t.flows) > 0 }

func newBotFlows(db *persistence.DB, now func() time.Time) *botFlows {
	return &botFlows{db: db, ttl: botFlowsTTL, now: now, tenants: map[uuid.UUID]*tenantBots{},
		versions: map[flowVersionKey]*bot.Compiled{}}
}

// tenant returns the tenant's chatbot, loading it when missing or stale.
func (b *botFlows) tenant(ctx context.Context, tenantID uuid.UUID) (*tenantBots, error) {
	b.mu.RLock()
	t := b.tenants[tenantID]
	b.mu.RUnlock()
	if t != nil && b.now().Sub(t.loadedAt) < b.ttl {
		return t, nil
	}
	v, err, _ := b.group.Do(tenantID.String(), func() (any, error) {
		state, err := b.db.TenantState(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		t := &tenantBots{loadedAt: b.now(), state: state}
		if t.routing, err = b.db.LoadRoutingConfig(ctx, tenantID); err != nil {
			return nil, err
		}
		t.optOut, t.optOutLongest = state.OptOutWords()
		if state.Features.Chatbot {
			versions, err := b.db.ActiveBotFlowVersions(ctx, tenantID)
			if err != nil {
				return nil, err
			}
			for _, v := range versions {
				c, err := b.compile(tenantID, v)
				if err != nil {
					return nil, err
				}
				t.flows = append(t.flows, activeFlow{id: v.FlowID, trigger: v.Definition.Trigger, compiled: c})
			}
		}
		b.mu.Lock()
		b.tenants[tenantID] = t
		b.mu.Unlock()
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tenantBots), nil
}

// versionIn returns a published version, compiled: the one a running
// session is pinned to. A version not in memory is read in the caller's
// transaction (never on another pool connection: see botPrep).
func (b *botFlows) versionIn(ctx context.Context, tx TenantStore, tenantID, flowID uuid.UUID, version int) (*bot.Compiled, error) {
	key := flowVersionKey{tenantID, flowID, version}
	b.mu.RLock()
	c := b.versions[key]
	b.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	def, err := tx.BotFlowVersion(ctx, flowID, version)
	if err != nil {
		return nil, err
	}
	return b.compile(tenantID, persistence.BotFlowVersion{FlowID: flowID, Version: version, Definition: def})
}

func (b *botFlows) compile(tenantID uuid.UUID, v persistence.BotFlowVersion) (*bot.Compiled, error) {
	key := flowVersionKey{tenantID, v.FlowID, v.Version}
	b.mu.RLock()
	c := b.versions[key]
	b.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	c, err := bot.Compile(v.Definition, v.Version)
	if err != nil {
		return nil, fmt.Errorf("bot flow %s version %d: %w", v.FlowID, v.Version, err)
	}
	b.mu.Lock()
	if len(b.versions) > 10_000 { // a bound, not an eviction policy: they compile again when asked
		clear(b.versions)
	}
	b.versions[key] = c
	b.mu.Unlock()
	return c, nil
}

func (b *botFlows) forget(tenantID uuid.UUID) {
	b.mu.Lock()
	delete(b.tenants, tenantID)
	b.mu.Unlock()
}

// ForgetBotFlows drops this node's copy of a tenant's chatbot (after a flow
// is published, unpublished or deleted, or the plan changed); other nodes
// read it again within botFlowsTTL.
func (e *Engine) ForgetBotFlows(tenantID uuid.UUID) { e.bots.forget(tenantID) }
