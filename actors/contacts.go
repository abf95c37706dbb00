package actors

import (
	"context"
	"sync"

	"github.com/google/uuid"
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
// through the cache.
func (e *Engine) resolveContact(ctx context.Context, tenantID uuid.UUID, channel, key, name, phone string) (uuid.UUID, error) {
	k := contactCacheKey{tenant: tenantID, channel: channel, key: key}
	if id, ok := e.contacts.get(k); ok {
		return id, nil
	}
	id, _, err := e.db.ResolveContact(ctx, tenantID, channel, key, name, phone)
	if err != nil {
		return uuid.Nil, err
	}
	e.contacts.put(k, id)
	return id, nil
}
