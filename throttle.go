package crm

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// LoginAttempt is one password check: the account (the normalized email) and
// the client's address.
type LoginAttempt struct {
	Account string
	IP      string
}

// PairKey names the (account, address) pair without holding the email or
// the address in the counters' store: a digest, fixed in length however
// long the email.
func (a LoginAttempt) PairKey() string {
	sum := sha256.Sum256([]byte(a.Account + "\x00" + a.IP))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// LoginLimits shape the login throttle. An address may fail FreeFailures
// times at one account; then each further attempt there waits FirstDelay
// after the last failure, doubling with each failure up to MaxDelay.
// Separately, one address may fail IPFailures times in a Window across all
// accounts (a spray), then waits for the window's end. A pair's failures are
// forgotten a Window after its last one.
//
// Every store of the counters (PostgreSQL, Redis) applies these same rules;
// they are written out once here, as Decide, and mirrored in Redis's script.
type LoginLimits struct {
	FreeFailures int           // default 3
	FirstDelay   time.Duration // default 1 second
	MaxDelay     time.Duration // default 1 minute
	IPFailures   int           // default 30
	Window       time.Duration // default 15 minutes
}

// WithDefaults fills the zero fields.
func (l LoginLimits) WithDefaults() LoginLimits {
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
	return l
}

// Delay is how long after its last failure a pair with count failures waits.
func (l LoginLimits) Delay(count int) time.Duration {
	if count < l.FreeFailures {
		return 0
	}
	d := l.FirstDelay
	for i := l.FreeFailures; i < count && d < l.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.MaxDelay)
}

// PairFailures are an (account, address) pair's recent failures.
type PairFailures struct {
	Count int
	Last  time.Time
}

// AddressFailures are one address's failures in its current window.
type AddressFailures struct {
	Count int
	Start time.Time
}

// Decide is the throttle's rule for one attempt, given the pair's and the
// address's stored counts (zero when none): how long the caller must wait
// (and then nothing changes), or 0 and the counts to store, the attempt
// counted as a failure until it is known to have succeeded. Counting before
// the password is checked keeps a burst of parallel guesses from all
// passing before the first failure is recorded.
func (l LoginLimits) Decide(pair PairFailures, ip AddressFailures, now time.Time) (time.Duration, PairFailures, AddressFailures) {
	if pair.Count > 0 && !now.Before(pair.Last.Add(l.Window)) {
		pair = PairFailures{}
	}
	if ip.Start.IsZero() || !now.Before(ip.Start.Add(l.Window)) {
		ip = AddressFailures{}
	}
	var wait time.Duration
	if pair.Count > 0 {
		wait = pair.Last.Add(l.Delay(pair.Count)).Sub(now)
	}
	if ip.Count >= l.IPFailures {
		wait = max(wait, ip.Start.Add(l.Window).Sub(now))
	}
	if wait > 0 {
		return wait, pair, ip
	}
	pair = PairFailures{Count: pair.Count + 1, Last: now}
	if ip.Start.IsZero() {
		ip.Start = now
	}
	ip.Count++
	return 0, pair, ip
}
