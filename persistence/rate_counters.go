package persistence

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"crm"
)

// RateLimiter keeps the login throttle's and the API rate limits' counters
// in PostgreSQL (the UNLOGGED rate_counters table, migration 0025), so every
// node shares them: two nodes give an attacker the budget of one. It is the
// store when REDIS_URL is unset, and the login throttle's fallback when
// Redis does not answer.
//
// Its statements run on the pool as the connecting role, outside any tenant
// or platform transaction: the keys are addresses and digests, not tenant
// data.
type RateLimiter struct {
	db     *DB
	limits crm.LoginLimits
	now    func() time.Time
}

// RateLimiterConfig shapes a RateLimiter.
type RateLimiterConfig struct {
	// Login are the login throttle's limits; zero fields take defaults.
	Login crm.LoginLimits
	// Now is the login throttle's clock (tests move it); default
	// time.Now. Allow's windows run on the database's clock, one for every
	// node.
	Now func() time.Time
}

// NewRateLimiter builds the PostgreSQL-backed limiter.
func NewRateLimiter(db *DB, cfg RateLimiterConfig) *RateLimiter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RateLimiter{db: db, limits: cfg.Login.WithDefaults(), now: cfg.Now}
}

// Allow counts one request under key in a fixed window of the given length
// that starts with the key's first request, and says whether it is within
// limit; when not, retryAfter is what is left of the window. One statement,
// atomic under concurrent callers on any node.
func (r *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	var count int
	var leftMicros int64
	err := r.db.Pool.QueryRow(ctx, `
		INSERT INTO rate_counters AS r (key, count, started_at, expires_at)
		VALUES ($1, 1, now(), now() + $2 * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET
		  count      = CASE WHEN r.expires_at <= now() THEN 1 ELSE r.count + 1 END,
		  started_at = CASE WHEN r.expires_at <= now() THEN now() ELSE r.started_at END,
		  expires_at = CASE WHEN r.expires_at <= now() THEN now() + $2 * interval '1 microsecond' ELSE r.expires_at END
		RETURNING count, (extract(epoch FROM r.expires_at - now()) * 1000000)::bigint`,
		key, window.Microseconds()).Scan(&count, &leftMicros)
	if err != nil {
		return false, 0, fmt.Errorf("counting %s: %w", key, err)
	}
	if count <= limit {
		return true, 0, nil
	}
	return false, max(time.Duration(leftMicros)*time.Microsecond, time.Millisecond), nil
}

// loginKeys are the rows of one attempt: the pair's and the address's.
func loginKeys(a crm.LoginAttempt) (pair, ip string) {
	return "login:pair:" + a.PairKey(), "login:ip:" + a.IP
}

// Attempt asks to check one password: how long the caller must wait first,
// or 0 with the attempt counted as a failure until Succeeded. The two rows
// are locked (in key order, so concurrent attempts cannot deadlock) while
// crm.LoginLimits.Decide rules, so a burst of parallel guesses from any
// nodes passes no more than the free ones.
func (r *RateLimiter) Attempt(ctx context.Context, a crm.LoginAttempt) (time.Duration, error) {
	now := r.now()
	pairKey, ipKey := loginKeys(a)
	keys := []string{pairKey, ipKey}
	slices.Sort(keys)
	var wait time.Duration
	err := r.db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rate_counters (key, expires_at)
			SELECT k, '-infinity' FROM unnest($1::text[]) AS k ORDER BY k
			ON CONFLICT (key) DO NOTHING`, keys); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT key, count, started_at, last_at FROM rate_counters
			WHERE key = ANY($1) ORDER BY key FOR UPDATE`, keys)
		if err != nil {
			return err
		}
		var pair crm.PairFailures
		var ip crm.AddressFailures
		for rows.Next() {
			var key string
			var count int
			var started, last *time.Time
			if err := rows.Scan(&key, &count, &started, &last); err != nil {
				rows.Close()
				return err
			}
			switch key {
			case pairKey:
				pair.Count = count
				if last != nil {
					pair.Last = *last
				}
			case ipKey:
				ip.Count = count
				if started != nil {
					ip.Start = *started
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var newPair crm.PairFailures
		var newIP crm.AddressFailures
		wait, newPair, newIP = r.limits.Decide(pair, ip, now)
		if wait > 0 {
			return nil
		}
		// An upsert, not an update: a purge may have deleted an expired
		// row between the insert above and the lock.
		_, err = tx.Exec(ctx, `INSERT INTO rate_counters (key, count, started_at, last_at, expires_at)
			VALUES ($1, $2, NULL, $3, $4), ($5, $6, $7, NULL, $8)
			ON CONFLICT (key) DO UPDATE SET count = excluded.count, started_at = excluded.started_at,
			  last_at = excluded.last_at, expires_at = excluded.expires_at`,
			pairKey, newPair.Count, newPair.Last, newPair.Last.Add(r.limits.Window),
			ipKey, newIP.Count, newIP.Start, newIP.Start.Add(r.limits.Window))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", translate(err))
	}
	return wait, nil
}

// Succeeded says the password was right: the pair's failures are forgotten
// and the attempt no longer counts against the address.
func (r *RateLimiter) Succeeded(ctx context.Context, a crm.LoginAttempt) error {
	pairKey, ipKey := loginKeys(a)
	_, err := r.db.Pool.Exec(ctx, `WITH pair AS (DELETE FROM rate_counters WHERE key = $1)
		UPDATE rate_counters SET count = count - 1 WHERE key = $2 AND count > 0`, pairKey, ipKey)
	if err != nil {
		return fmt.Errorf("login throttle: %w", translate(err))
	}
	return nil
}

// PurgeRateCounters deletes the counters whose windows ended before now
// (the rate_counter_purge job). A counter an attempt is updating is locked
// and, once updated, no longer expired, so the purge never loses a live
// count.
func (db *DB) PurgeRateCounters(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM rate_counters WHERE expires_at < $1`, now)
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}
