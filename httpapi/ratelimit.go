package httpapi

import (
	"sync"
	"time"
)

// LoginAttempt is one password check: the account (the normalized email) and
// the client's address.
type LoginAttempt struct {
	Account string
	IP      string
}

// LoginLimiter throttles password guessing. It counts by the pair (account,
// address) and by address alone, never by account alone: a stranger failing
// from their own address must not stop the owner logging in from another.
// The default keeps counts in process; a shared one (Redis) can be plugged
// in for several nodes.
type LoginLimiter interface {
	// Attempt asks to check one password. It answers how long the caller
	// must wait first (and then records nothing), or 0 and counts the
	// attempt as a failure until Succeeded says otherwise. Counting before
	// the check keeps a burst of parallel guesses from all passing before
	// the first failure is recorded.
	Attempt(a LoginAttempt) (wait time.Duration)
	// Succeeded says the password was right: the pair's failures are
	// forgotten and the attempt no longer counts against the address.
	Succeeded(a LoginAttempt)
}

// LoginLimits shape the throttle. An address may fail FreeFailures times at
// one account; then each further attempt there waits FirstDelay after the
// last failure, doubling with each failure up to MaxDelay. Separately, one
// address may fail IPFailures times in a Window across all accounts (a
// spray), then waits for the window's end. A pair's failures are forgotten
// a Window after its last one.
type LoginLimits struct {
	FreeFailures int           // default 3
	FirstDelay   time.Duration // default 1 second
	MaxDelay     time.Duration // default 1 minute
	IPFailures   int           // default 30
	Window       time.Duration // default 15 minutes
}

type memoryLoginLimiter struct {
	limits LoginLimits
	now    func() time.Time
	mu     sync.Mutex
	pairs  map[LoginAttempt]*pairFailures
	ips    map[string]*windowCount
	// pruneAt is the number of entries past which the next attempt drops
	// the expired ones; it grows with what is left so a sustained spray
	// does not rescan the maps on every attempt.
	pruneAt int
}

// pairFailures are an (account, address) pair's recent failures.
type pairFailures struct {
	count int
	last  time.Time
}

var _ LoginLimiter = (*memoryLoginLimiter)(nil)

// NewMemoryLoginLimiter is the in-process limiter.
func NewMemoryLoginLimiter(l LoginLimits, now func() time.Time) LoginLimiter {
	if l.FreeFailures <= 0 {
		l.FreeFailures = 3
	}
	if l.FirstDelay <= 0 {
		l.FirstDelay = time.Second
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = time.Minute
	}
	l.MaxDelay = max(l.MaxDelay, l.FirstDelay)
	if l.IPFailures <= 0 {
		l.IPFailures = 30
	}
	if l.Window <= 0 {
		l.Window = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &memoryLoginLimiter{limits: l, now: now, pairs: map[LoginAttempt]*pairFailures{}, ips: map[string]*windowCount{},
		pruneAt: minPruneAt}
}

// delay is how long after its last failure a pair with count failures waits.
func (m *memoryLoginLimiter) delay(count int) time.Duration {
	if count < m.limits.FreeFailures {
		return 0
	}
	d := m.limits.FirstDelay
	for i := m.limits.FreeFailures; i < count && d < m.limits.MaxDelay; i++ {
		d *= 2
	}
	return min(d, m.limits.MaxDelay)
}

func (m *memoryLoginLimiter) Attempt(a LoginAttempt) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	pair := m.pairs[a]
	if pair != nil && !now.Before(pair.last.Add(m.limits.Window)) {
		pair = nil
	}
	ip := m.ips[a.IP]
	if ip != nil && !now.Before(ip.start.Add(m.limits.Window)) {
		ip = nil
	}
	var wait time.Duration
	if pair != nil {
		wait = pair.last.Add(m.delay(pair.count)).Sub(now)
	}
	if ip != nil && ip.count >= m.limits.IPFailures {
		wait = max(wait, ip.start.Add(m.limits.Window).Sub(now))
	}
	if wait > 0 {
		return wait
	}
	if pair == nil {
		pair = &pairFailures{}
		m.pairs[a] = pair
	}
	pair.count++
	pair.last = now
	if ip == nil {
		ip = &windowCount{start: now}
		m.ips[a.IP] = ip
	}
	ip.count++
	return 0
}

func (m *memoryLoginLimiter) Succeeded(a LoginAttempt) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pairs, a)
	if ip := m.ips[a.IP]; ip != nil && ip.count > 0 {
		ip.count--
	}
}

const minPruneAt = 100_000

// prune bounds memory under a spray of accounts or addresses by dropping
// what the window has already forgotten.
func (m *memoryLoginLimiter) prune(now time.Time) {
	if len(m.pairs)+len(m.ips) <= m.pruneAt {
		return
	}
	defer func() { m.pruneAt = max(minPruneAt, 2*(len(m.pairs)+len(m.ips))) }()
	for k, v := range m.pairs {
		if !now.Before(v.last.Add(m.limits.Window)) {
			delete(m.pairs, k)
		}
	}
	for k, v := range m.ips {
		if !now.Before(v.start.Add(m.limits.Window)) {
			delete(m.ips, k)
		}
	}
}
