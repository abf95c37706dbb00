package providers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/channels"
)

// Store loads a connection with its opened credentials: within its tenant
// (the engine) or by id alone, on the platform path (webhooks and the
// sandbox's Graph calls arrive without a tenant). Deleted connections come
// back with Deleted set; an unknown one is crm.ErrNotFound.
// persistence.ConnectionStore implements it.
type Store interface {
	LoadConnection(ctx context.Context, tenantID, id uuid.UUID) (crm.ConnectionSecrets, error)
	LoadConnectionForWebhook(ctx context.Context, id uuid.UUID) (crm.ConnectionSecrets, error)
}

// CacheConfig builds a Cache.
type CacheConfig struct {
	Store    Store
	Registry *Registry
	// TTL is how long an adapter is kept; default 30 seconds.
	TTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache builds connections' adapters for the engine (its ConnectionSource),
// keeping each briefly: opening the credentials on every send would be
// wasteful.
type Cache struct {
	store    Store
	registry *Registry
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	entries map[uuid.UUID]cachedAdapter
}

type cachedAdapter struct {
	adapter channels.Provider
	expires time.Time
}

// NewCache checks cfg and fills its defaults.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("providers: the cache needs a store and a registry")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{store: cfg.Store, registry: cfg.Registry, ttl: cfg.TTL, now: cfg.Now,
		entries: map[uuid.UUID]cachedAdapter{}}, nil
}

// Provider returns the adapter of a tenant's live connection.
func (c *Cache) Provider(ctx context.Context, tenantID, connectionID uuid.UUID) (channels.Provider, error) {
	c.mu.Lock()
	if e, ok := c.entries[connectionID]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.adapter, nil
	}
	c.mu.Unlock()
	sec, err := c.store.LoadConnection(ctx, tenantID, connectionID)
	if err != nil {
		return nil, err
	}
	if sec.Deleted {
		return nil, crm.NotFound("connection")
	}
	adapter, err := c.registry.For(sec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[connectionID] = cachedAdapter{adapter: adapter, expires: c.now().Add(c.ttl)}
	c.mu.Unlock()
	return adapter, nil
}

// WebhookConnection is what the webhook routes need of a connection: whose it
// is and the adapter that verifies and parses its webhooks.
type WebhookConnection struct {
	ID         uuid.UUID
	TenantID   uuid.UUID
	Provider   string // meta, sandbox, uazapi, evolution
	ExternalID string // phone_number_id, page id, IG account id, instance
	Adapter    channels.Provider
}

// WebhookLookup resolves the connection a webhook URL names; an unknown or
// deleted one is crm.ErrNotFound.
type WebhookLookup func(ctx context.Context, id uuid.UUID) (*WebhookConnection, error)

// WebhookConnections is the WebhookLookup over a store: the connection by id
// on the platform path, its adapter built by registry. Deleted connections
// are not found.
func WebhookConnections(store Store, registry *Registry) WebhookLookup {
	return func(ctx context.Context, id uuid.UUID) (*WebhookConnection, error) {
		sec, err := store.LoadConnectionForWebhook(ctx, id)
		if err != nil {
			return nil, err
		}
		if sec.Deleted {
			return nil, crm.NotFound("connection")
		}
		adapter, err := registry.For(sec)
		if err != nil {
			return nil, err
		}
		return &WebhookConnection{ID: sec.ID, TenantID: sec.TenantID, Provider: sec.Provider, ExternalID: sec.ExternalID,
			Adapter: adapter}, nil
	}
}

// WebhookCacheConfig builds a WebhookCache.
type WebhookCacheConfig struct {
	// Lookup resolves a connection; nil finds none.
	Lookup WebhookLookup
	// TTL is how long an answer is kept; default 10 seconds.
	TTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// WebhookCache keeps the webhook routes' connections for a few seconds: a
// busy number posts thousands of webhooks a second, each needing its app
// secret. Not-found answers are kept too, so a flood for a deleted
// connection stays cheap; other errors (a database hiccup) are not.
type WebhookCache struct {
	lookup WebhookLookup
	ttl    time.Duration
	now    func() time.Time

	mu      sync.RWMutex
	entries map[uuid.UUID]webhookCacheEntry
}

type webhookCacheEntry struct {
	conn    *WebhookConnection
	err     error
	expires time.Time
}

// webhookCacheMax bounds the entries; past it the cache starts over.
const webhookCacheMax = 100_000

// NewWebhookCache fills cfg's defaults.
func NewWebhookCache(cfg WebhookCacheConfig) *WebhookCache {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &WebhookCache{lookup: cfg.Lookup, ttl: cfg.TTL, now: cfg.Now, entries: map[uuid.UUID]webhookCacheEntry{}}
}

// Get finds the connection, through the cache.
func (c *WebhookCache) Get(ctx context.Context, id uuid.UUID) (*WebhookConnection, error) {
	if c.lookup == nil {
		return nil, crm.NotFound("connection")
	}
	now := c.now()
	c.mu.RLock()
	entry, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && now.Before(entry.expires) {
		return entry.conn, entry.err
	}
	conn, err := c.lookup(ctx, id)
	var coded *crm.Error
	if err != nil && !(errors.As(err, &coded) && errors.Is(coded.Kind, crm.ErrNotFound)) {
		return nil, err // a database hiccup is not cached
	}
	c.mu.Lock()
	if len(c.entries) > webhookCacheMax {
		c.entries = map[uuid.UUID]webhookCacheEntry{}
	}
	c.entries[id] = webhookCacheEntry{conn: conn, err: err, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return conn, err
}

// Forget drops a cached connection (after an update or delete).
func (c *WebhookCache) Forget(id uuid.UUID) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
