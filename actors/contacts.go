package actors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"crm/groupcommit"
	"crm/persistence"
)

// contactCache remembers which contact a channel identity (wa_id, PSID,
// IGSID) belongs to: the mapping never changes once made, and resolving it
// is a transaction per inbound event otherwise. Bounded: when full it starts
// over (a miss costs one look-up).
type contactCache struct {
	mu      sync.RWMutex
	entries map[contactCacheKey]uuid.UUID
	max     int
}

type contactCacheKey struct {
	tenant  uuid.UUID
	channel string
	key     string
}

func newContactCache(max int) *contactCache {
	return &contactCache{entries: make(map[contactCacheKey]uuid.UUID), max: max}
}

func (c *contactCache) get(k contactCacheKey) (uuid.UUID, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.entries[k]
	return id, ok
}

func (c *contactCache) put(k contactCacheKey, id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.entries = make(map[contactCacheKey]uuid.UUID, c.max)
	}
	c.entries[k] = id
}

func (c *contactCache) forget(k contactCacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// resolveContact finds (or creates) the contact behind a channel identity,
// through the cache; created says this call made the contact.
func (e *Engine) resolveContact(ctx context.Context, tenantID uuid.UUID, channel, key, name, phone string) (id uuid.UUID, created bool, err error) {
	k := contactCacheKey{tenant: tenantID, channel: channel, key: key}
	if id, ok := e.contacts.get(k); ok {
		return id, false, nil
	}
	if e.resolver != nil {
		var l persistence.ContactLookup
		l, err = e.resolver.resolve(ctx, persistence.ContactLookup{TenantID: tenantID, Channel: channel, ExternalID: key, Name: name, Phone: phone})
		id, created = l.ContactID, l.Created
	}
	if e.resolver == nil || err != nil {
		// Alone: no batching, or the batch failed (a race on this identity
		// or phone, which the one-by-one path settles).
		if id, created, err = e.db.ResolveContact(ctx, tenantID, channel, key, name, phone); err != nil {
			return uuid.Nil, false, err
		}
	}
	e.contacts.put(k, id)
	return id, created, nil
}

// contactResolver resolves the identities of first messages in groups: many
// dispatch workers meeting unknown people at once (a campaign's replies)
// share one transaction instead of one each.
type contactResolver struct {
	db    *persistence.DB
	log   *slog.Logger
	queue *groupcommit.Queue[*contactCall]
}

type contactCall = groupcommit.Call[persistence.ContactLookup, persistence.ContactLookup]

func newContactResolver(db *persistence.DB, log *slog.Logger, maxBatch int, maxDelay time.Duration) *contactResolver {
	r := &contactResolver{db: db, log: log}
	r.queue = groupcommit.New(groupcommit.Config{MaxBatch: maxBatch, MaxDelay: maxDelay}, nil, r.flush)
	return r
}

// resolve answers the lookup with others. An error (the batch failed, or
// the resolver is closed) leaves the caller to resolve it alone.
func (r *contactResolver) resolve(ctx context.Context, l persistence.ContactLookup) (persistence.ContactLookup, error) {
	return groupcommit.Do(ctx, r.queue, 0, l)
}

func (r *contactResolver) close() { r.queue.Close() }

func (r *contactResolver) flush(batch []*contactCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lookups := make([]*persistence.ContactLookup, len(batch))
	for i, call := range batch {
		lookups[i] = &call.In // answered in place
	}
	err := r.db.ResolveContacts(ctx, lookups)
	if err != nil {
		r.log.Info("contacts resolved one by one: their batch failed", "lookups", len(batch), "error", err)
		err = persistence.ErrBatchFailed
	}
	for _, call := range batch {
		call.Answer(call.In, err)
	}
}
