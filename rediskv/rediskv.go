// Package rediskv keeps the counters that must be shared by every node (the
// login throttle, the API's rate limits) in Redis, when REDIS_URL is set.
// Each operation is one Lua script, so it is atomic however many nodes call
// it at once. It may import the root crm package only; httpapi declares the
// interfaces it satisfies (WindowLimiter, LoginLimiter) and the policy for
// when Redis does not answer.
package rediskv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"crm"
)

// Config says how to reach Redis and how to name the keys.
type Config struct {
	// URL is REDIS_URL: redis://[user:password@]host:port/db (rediss:// for TLS).
	URL string
	// Prefix starts every key; default "crm:". Tests give each their own.
	Prefix string
	// Login are the login throttle's limits; zero fields take defaults.
	Login crm.LoginLimits
	// Now is the login throttle's clock (tests move it); default time.Now.
	// Allow's windows run on Redis's clock, one for every node.
	Now func() time.Time
	// Timeout bounds each call, dialling included; default 500 ms. A
	// throttle that waits seconds for a dead Redis would turn an outage
	// into slow logins on every node.
	Timeout time.Duration
	// Backoff is how long calls fail at once (ErrUnavailable) after one
	// failed, before Redis is tried again; default 2 s. It keeps a dead
	// Redis from costing every request a Timeout.
	Backoff time.Duration
}

// ErrUnavailable is returned while Redis is taken for down (Config.Backoff
// after a failed call); the caller applies its fallback.
var ErrUnavailable = errors.New("redis unavailable")

// Client is the Redis store of the shared counters.
type Client struct {
	rdb     *redis.Client
	prefix  string
	limits  crm.LoginLimits
	now     func() time.Time
	timeout time.Duration
	backoff time.Duration
	// downUntil (Unix nanoseconds, wall clock) is when Redis is next tried
	// after a failure.
	downUntil atomic.Int64
}

// New parses the URL and builds the client. It does not connect: the first
// call does, and a Redis that is down at start is the same as one that goes
// down later (see Ping to check at start).
func New(cfg Config) (*Client, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// url.Parse's errors quote the whole URL, password and all.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "crm:"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	opts.DialTimeout = cfg.Timeout
	opts.ReadTimeout = cfg.Timeout
	opts.WriteTimeout = cfg.Timeout
	opts.PoolTimeout = cfg.Timeout
	opts.ContextTimeoutEnabled = true
	// No retries: the scripts count, and a retry after a timeout whose
	// first try did run counts one attempt twice (a test saw it under
	// load). A failed call goes to the caller's fallback instead.
	opts.MaxRetries = -1
	// One dial, not five 100 ms apart: a refused connection should reach
	// the fallback at once.
	opts.DialerRetries = 1
	opts.DialerRetryTimeout = time.Millisecond
	return &Client{rdb: redis.NewClient(opts), prefix: cfg.Prefix, limits: cfg.Login.WithDefaults(), now: cfg.Now,
		timeout: cfg.Timeout, backoff: cfg.Backoff}, nil
}

// Ping reports whether Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, func(ctx context.Context) error { return c.rdb.Ping(ctx).Err() })
}

// Close closes the connections. Safe to call twice.
func (c *Client) Close() error {
	if err := c.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return err
	}
	return nil
}

// call runs fn under the timeout, unless Redis failed in the last Backoff;
// a failure starts a new Backoff.
func (c *Client) call(ctx context.Context, fn func(context.Context) error) error {
	if time.Now().UnixNano() < c.downUntil.Load() {
		return ErrUnavailable
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := fn(callCtx); err != nil {
		if ctx.Err() != nil { // the caller gave up (a client hung up): not Redis's fault
			return ctx.Err()
		}
		c.downUntil.Store(time.Now().Add(c.backoff).UnixNano())
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// allowScript counts one request in a fixed window that starts with the
// key's first request (INCR, and PEXPIRE when the key is new or lost its
// expiry), answering the count and the milliseconds left.
var allowScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`)

// Allow counts one request under key in a fixed window of the given length
// and says whether it is within limit; when not, retryAfter is what is left
// of the window.
func (c *Client) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	var res []int64
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = allowScript.Run(ctx, c.rdb, []string{c.prefix + "rl:" + key}, max(window.Milliseconds(), 1)).Int64Slice()
		return err
	})
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit script answered %v", res)
	}
	if res[0] <= int64(limit) {
		return true, 0, nil
	}
	return false, max(time.Duration(res[1])*time.Millisecond, time.Millisecond), nil
}

// loginKeys are the hashes of one attempt: the pair's {c: failures, t: last
// failure} and the address's {c: failures, s: window start}, times in Unix
// milliseconds. The address in braces is a hash tag: both keys fall in one
// slot, so the script may touch both on a Redis Cluster too.
func (c *Client) loginKeys(a crm.LoginAttempt) []string {
	base := c.prefix + "login:{" + a.IP + "}:"
	return []string{base + "pair:" + a.PairKey(), base + "ip"}
}

// attemptScript is crm.LoginLimits.Decide in Lua (keep the two in step; the
// limiter conformance tests in httpapi run both). It answers the wait in
// milliseconds, or 0 with the attempt counted.
var attemptScript = redis.NewScript(`
local now, free, first, maxd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local iplimit, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local p = redis.call('HMGET', KEYS[1], 'c', 't')
local pc, pt = tonumber(p[1]) or 0, tonumber(p[2]) or 0
if pc > 0 and now >= pt + window then pc = 0 end
local i = redis.call('HMGET', KEYS[2], 'c', 's')
local ic, is = tonumber(i[1]) or 0, tonumber(i[2])
if is == nil or now >= is + window then
  ic = 0
  is = nil
end
local wait = 0
if pc > 0 then
  local d = 0
  if pc >= free then
    d = first
    local n = free
    while n < pc and d < maxd do
      d = d * 2
      n = n + 1
    end
    if d > maxd then d = maxd end
  end
  wait = pt + d - now
end
if ic >= iplimit then
  local w = is + window - now
  if w > wait then wait = w end
end
if wait > 0 then return wait end
redis.call('HSET', KEYS[1], 'c', pc + 1, 't', now)
redis.call('PEXPIRE', KEYS[1], window)
if is == nil then is = now end
redis.call('HSET', KEYS[2], 'c', ic + 1, 's', is)
redis.call('PEXPIRE', KEYS[2], math.max(is + window - now, 1))
return 0`)

// Attempt asks to check one password: how long the caller must wait first,
// or 0 with the attempt counted as a failure until Succeeded.
func (c *Client) Attempt(ctx context.Context, a crm.LoginAttempt) (time.Duration, error) {
	var waitMillis int64
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		waitMillis, err = attemptScript.Run(ctx, c.rdb, c.loginKeys(a), c.now().UnixMilli(), c.limits.FreeFailures,
			c.limits.FirstDelay.Milliseconds(), c.limits.MaxDelay.Milliseconds(), c.limits.IPFailures,
			c.limits.Window.Milliseconds()).Int64()
		return err
	})
	if err != nil {
		return 0, err
	}
	return time.Duration(waitMillis) * time.Millisecond, nil
}

var succeededScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
local c = tonumber(redis.call('HGET', KEYS[2], 'c'))
if c and c > 0 then redis.call('HINCRBY', KEYS[2], 'c', -1) end
return 0`)

// Succeeded says the password was right: the pair's failures are forgotten
// and the attempt no longer counts against the address.
func (c *Client) Succeeded(ctx context.Context, a crm.LoginAttempt) error {
	return c.call(ctx, func(ctx context.Context) error {
		return succeededScript.Run(ctx, c.rdb, c.loginKeys(a)).Err()
	})
}

// LogTo sends the Redis client's own messages (failed dials while Redis is
// down) to log as warnings, instead of plain lines on stderr among the
// node's JSON logs. The client library keeps one logger per process, so
// this is process-wide: the serve command calls it once.
func LogTo(log *slog.Logger) {
	redis.SetLogger(slogPrintf{log})
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}
