package httpapi

import (
	"sync"
	"time"
)

// LoginLimiter throttles failed logins by key ("account:<email>",
// "ip:<addr>"). The default keeps counts in process; a Redis one can be
// plugged in for several nodes.
type LoginLimiter interface {
	// Blocked returns how long the key must wait, or 0.
	Blocked(key string) time.Duration
	// Fail records a failed attempt.
	Fail(key string)
	// Reset forgets the key's failures (after a success).
	Reset(key string)
}

// LoginLimits sets how many failures within Window block a key for the rest
// of the window.
type LoginLimits struct {
	AccountFailures int           // default 5
	IPFailures      int           // default 30
	Window          time.Duration // default 15 minutes
}

type memoryLoginLimiter struct {
	limits LoginLimits
	now    func() time.Time
	mu     sync.Mutex
	keys   map[string]*failures
}

type failures struct {
	count int
	start time.Time
}

// NewMemoryLoginLimiter is the in-process limiter.
func NewMemoryLoginLimiter(l LoginLimits, now func() time.Time) LoginLimiter {
	if l.AccountFailures == 0 {
		l.AccountFailures = 5
	}
	if l.IPFailures == 0 {
		l.IPFailures = 30
	}
	if l.Window == 0 {
		l.Window = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &memoryLoginLimiter{limits: l, now: now, keys: map[string]*failures{}}
}

func (m *memoryLoginLimiter) max(key string) int {
	if len(key) > 3 && key[:3] == "ip:" {
		return m.limits.IPFailures
	}
	return m.limits.AccountFailures
}

func (m *memoryLoginLimiter) Blocked(key string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.keys[key]
	if f == nil {
		return 0
	}
	end := f.start.Add(m.limits.Window)
	now := m.now()
	if !now.Before(end) {
		delete(m.keys, key)
		return 0
	}
	if f.count >= m.max(key) {
		return end.Sub(now)
	}
	return 0
}

func (m *memoryLoginLimiter) Fail(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	f := m.keys[key]
	if f == nil || !now.Before(f.start.Add(m.limits.Window)) {
		f = &failures{start: now}
		m.keys[key] = f
	}
	f.count++
	if len(m.keys) > 100_000 { // bound memory under a spray of addresses
		for k, v := range m.keys {
			if !now.Before(v.start.Add(m.limits.Window)) {
				delete(m.keys, k)
			}
		}
	}
}

func (m *memoryLoginLimiter) Reset(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
}
