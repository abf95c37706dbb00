package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
	"crm/rediskv"
	"crm/rediskv/redistest"
)

// pgLoginLimiter is the login throttle in PostgreSQL with the test's limits
// and clock.
func pgLoginLimiter(db *persistence.DB, l LoginLimits, now func() time.Time) LoginLimiter {
	return persistence.NewRateLimiter(db, persistence.RateLimiterConfig{Login: l, Now: now})
}

// limiterBackend builds the shared counters two nodes use, as the serve
// command does: PostgreSQL alone, or Redis with PostgreSQL as the login
// throttle's fallback. Every node of one test built from the same backend
// value shares its counters.
type limiterBackend struct {
	name string
	// build gives a node's limiters over its own pool.
	build func(t *testing.T, db *persistence.DB, l LoginLimits, now func() time.Time, log *slog.Logger) (LoginLimiter, WindowLimiter)
}

func postgresBackend() limiterBackend {
	return limiterBackend{name: "postgres", build: func(t *testing.T, db *persistence.DB, l LoginLimits, now func() time.Time, _ *slog.Logger) (LoginLimiter, WindowLimiter) {
		r := persistence.NewRateLimiter(db, persistence.RateLimiterConfig{Login: l, Now: now})
		return r, r
	}}
}

// redisBackend is Redis at url under one prefix for all the test's nodes.
func redisBackend(t *testing.T, url string) limiterBackend {
	prefix := redistest.Prefix(t, url)
	return limiterBackend{name: "redis", build: func(t *testing.T, db *persistence.DB, l LoginLimits, now func() time.Time, log *slog.Logger) (LoginLimiter, WindowLimiter) {
		r, err := rediskv.New(rediskv.Config{URL: url, Prefix: prefix, Login: l, Now: now, Timeout: redisTestTimeout})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		return &FallbackLoginLimiter{Primary: r, Fallback: persistence.NewRateLimiter(db, persistence.RateLimiterConfig{Login: l, Now: now}),
			Log: log}, r
	}}
}

// redisTestTimeout replaces the production 500 ms: on a loaded 2-core test
// machine a slow answer would send a call to the fallback and split the
// counts the tests compare.
const redisTestTimeout = 5 * time.Second

// backends are the stores every cluster test runs against.
func backends(t *testing.T) []limiterBackend {
	return []limiterBackend{postgresBackend(), redisBackend(t, redistest.URL(t))}
}

// lockedBuffer collects a node's logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// twoNodes starts two servers on one database, each with its own pool and
// its own limiters from backend: two nodes of one cluster, as far as the
// throttles can tell. Their logs go to the returned buffer.
func twoNodes(t *testing.T, backend limiterBackend, l LoginLimits, now func() time.Time) ([2]*testEnv, *lockedBuffer) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	var nodes [2]*testEnv
	for i := range nodes {
		db, err := persistence.Open(context.Background(), persistence.Config{URL: url, MaxConns: 8}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Cleanup(db.Close)
		ts := httptest.NewUnstartedServer(nil)
		t.Cleanup(ts.Close)
		base := "http://" + ts.Listener.Addr().String()
		login, rate := backend.build(t, db, l, now, log)
		srv, err := New(Config{DB: db, Log: log, TokenKey: bytes.Repeat([]byte("k"), 32), PublicURL: base, SelfURL: base,
			LoginLimiter: login, RateLimiter: rate})
		require.NoError(t, err)
		ts.Config.Handler = srv.Handler()
		ts.Start()
		nodes[i] = &testEnv{t: t, db: db, srv: srv, ts: ts}
	}
	return nodes, logs
}

// TestLoginThrottleIsClusterWide: an attacker spreading wrong passwords over
// two nodes is held back after the same number of failures as on one node,
// per (account, address) and per address, with either store (issue 18).
func TestLoginThrottleIsClusterWide(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
			nodes, _ := twoNodes(t, backend, LoginLimits{FreeFailures: 3, FirstDelay: time.Second, MaxDelay: 8 * time.Second,
				IPFailures: 6, Window: 10 * time.Minute}, clock.Now)
			nodes[0].tenant("acme")
			attacker, owner := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")

			// One account: the three free failures, alternating nodes, then
			// a wait on either node.
			for i := range 3 {
				res := loginVia(nodes[i%2], attacker, "admin@acme.test", "wrong-one", nil)
				require.Equal(t, http.StatusUnauthorized, res.Status, "failure %d: %s", i+1, res.Body)
			}
			for _, node := range nodes {
				res := loginVia(node, attacker, "admin@acme.test", "wrong-one", nil)
				require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
				require.Equal(t, "1", res.Header.Get("Retry-After"))
			}
			// The owner, elsewhere, is not held back by either node.
			require.Equal(t, http.StatusOK, loginVia(nodes[1], owner, "admin@acme.test", testPassword, nil).Status)

			// A spray across accounts: six failures from the address in all,
			// three more on other accounts, then every node refuses it.
			for i := range 3 {
				res := loginVia(nodes[i%2], attacker, fmt.Sprintf("user%d@acme.test", i), "wrong-one", nil)
				require.Equal(t, http.StatusUnauthorized, res.Status, "spray %d: %s", i+1, res.Body)
			}
			for _, node := range nodes {
				res := loginVia(node, attacker, "someone-else@acme.test", "wrong-one", nil)
				require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
				require.Equal(t, "600", res.Header.Get("Retry-After"))
			}
			clock.Advance(10 * time.Minute)
			require.Equal(t, http.StatusOK, loginVia(nodes[0], attacker, "admin@acme.test", testPassword, nil).Status)
		})
	}
}

// TestLoginBurstAcrossNodes: guesses raced in at once through two nodes pass
// no more than the free ones in all.
func TestLoginBurstAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			nodes, _ := twoNodes(t, backend, LoginLimits{FreeFailures: 3, FirstDelay: time.Minute}, time.Now)
			nodes[0].tenant("acme")
			attacker := clientFrom(t, "127.0.0.2")
			statuses := make(chan int, 12)
			var wg sync.WaitGroup
			for i := range cap(statuses) {
				wg.Go(func() { statuses <- loginVia(nodes[i%2], attacker, "admin@acme.test", "wrong-one", nil).Status })
			}
			wg.Wait()
			close(statuses)
			counts := map[int]int{}
			for status := range statuses {
				counts[status]++
			}
			require.Equal(t, map[int]int{http.StatusUnauthorized: 3, http.StatusTooManyRequests: 9}, counts)
		})
	}
}

// TestAPIRateLimitIsClusterWide: the online license check's 20 a minute per
// address is 20 across both nodes, with either store.
func TestAPIRateLimitIsClusterWide(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			nodes, _ := twoNodes(t, backend, LoginLimits{}, time.Now)
			for i := range verifyPerWindow {
				res := nodes[i%2].do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, "request %d: %s", i+1, res.Body) // no key to check with, but counted
			}
			for _, node := range nodes {
				res := node.do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
				require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
				require.Equal(t, "too_many_requests", res.ErrorCode())
				secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
				require.NoError(t, err)
				require.True(t, secs >= 1 && secs <= 60, "Retry-After %d", secs)
			}
			// Another address has its own budget.
			res := nodes[1].doVia(clientFrom(t, "127.0.0.2"), http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"}, nil)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)
		})
	}
}

// TestRedisDownFallsBack: with Redis unreachable the login throttle counts
// in PostgreSQL (still cluster-wide, still the same totals) and the API rate
// limit lets requests through, each logged once rather than per request.
func TestRedisDownFallsBack(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	nodes, logs := twoNodes(t, redisBackend(t, redistest.DownURL(t)), LoginLimits{FreeFailures: 3, FirstDelay: time.Second}, clock.Now)
	nodes[0].tenant("acme")
	attacker := clientFrom(t, "127.0.0.2")
	for i := range 3 {
		res := loginVia(nodes[i%2], attacker, "admin@acme.test", "wrong-one", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "failure %d: %s", i+1, res.Body)
	}
	for _, node := range nodes {
		res := loginVia(node, attacker, "admin@acme.test", testPassword, nil)
		require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	}
	clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, loginVia(nodes[1], attacker, "admin@acme.test", testPassword, nil).Status)

	for i := range verifyPerWindow + 5 {
		res := nodes[i%2].do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "request %d: %s", i+1, res.Body)
	}
	out := logs.String()
	require.Contains(t, out, "counting in PostgreSQL instead")
	require.Contains(t, out, "letting the request through")
	require.Equal(t, 2, strings.Count(out, "letting the request through"), "once per node, not per request:\n%s", out)
}

// TestRedisOutageMidway: Redis counts, then is cut off. The login throttle
// goes on in PostgreSQL (a fresh budget, never an unlimited one) on both
// nodes, and the rate limit lets requests through.
func TestRedisOutageMidway(t *testing.T) {
	t.Parallel()
	outage := redistest.NewOutage(t, redistest.URL(t))
	clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	nodes, logs := twoNodes(t, redisBackend(t, outage.URL), LoginLimits{FreeFailures: 3, FirstDelay: time.Minute}, clock.Now)
	nodes[0].tenant("acme")
	attacker := clientFrom(t, "127.0.0.2")
	failures := func() {
		t.Helper()
		for i := range 3 {
			res := loginVia(nodes[i%2], attacker, "admin@acme.test", "wrong-one", nil)
			require.Equal(t, http.StatusUnauthorized, res.Status, "failure %d: %s", i+1, res.Body)
		}
		for _, node := range nodes {
			res := loginVia(node, attacker, "admin@acme.test", "wrong-one", nil)
			require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
		}
	}
	failures() // counted in Redis
	for i := range verifyPerWindow {
		require.Equal(t, http.StatusUnprocessableEntity, nodes[i%2].do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"}).Status)
	}
	require.Equal(t, http.StatusTooManyRequests, nodes[0].do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"}).Status)
	require.NotContains(t, logs.String(), "the shared store failed", "no warning while Redis answers")
	require.NotContains(t, logs.String(), "letting the request through")

	outage.Cut()
	failures() // counted in PostgreSQL
	for i := range 4 {
		res := nodes[i%2].do(http.MethodPost, "/api/v1/licenses/verify", "", map[string]any{"key": "x"})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "fails open: %s", res.Body)
	}
	require.Contains(t, logs.String(), "counting in PostgreSQL instead")
	require.Contains(t, logs.String(), "letting the request through")
}

// TestLoginLimiterConformance runs the throttle's rules against each store:
// the same answers from PostgreSQL's transaction as from Redis's script.
func TestLoginLimiterConformance(t *testing.T) {
	t.Parallel()
	redisURL := redistest.URL(t)
	limits := LoginLimits{FreeFailures: 2, FirstDelay: time.Second, MaxDelay: 4 * time.Second, IPFailures: 7, Window: time.Minute}
	stores := map[string]func(t *testing.T, now func() time.Time) LoginLimiter{
		"postgres": func(t *testing.T, now func() time.Time) LoginLimiter {
			return pgLoginLimiter(pgtest.NewDB(t), limits, now)
		},
		"redis": func(t *testing.T, now func() time.Time) LoginLimiter {
			r, err := rediskv.New(rediskv.Config{URL: redisURL, Prefix: redistest.Prefix(t, redisURL), Login: limits, Now: now, Timeout: redisTestTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			return r
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := &testClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
			l := open(t, clock.Now)
			a := LoginAttempt{Account: "ana@acme.test", IP: "192.0.2.1"}
			attempt := func(a LoginAttempt) time.Duration {
				t.Helper()
				wait, err := l.Attempt(ctx, a)
				require.NoError(t, err)
				return wait
			}
			// Two free failures, then waits of 1, 2, 4, 4 s after each.
			require.Zero(t, attempt(a))
			require.Zero(t, attempt(a))
			for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
				require.Equal(t, want, attempt(a))
				clock.Advance(want - time.Millisecond)
				require.Equal(t, time.Millisecond, attempt(a), "not a moment early")
				clock.Advance(time.Millisecond)
				require.Zero(t, attempt(a))
			}
			// Success forgets the pair and gives the address its attempt back.
			require.NoError(t, l.Succeeded(ctx, a))
			require.Zero(t, attempt(a))
			// The address's seventh failure in its window (eight counted,
			// one given back) caps it for every account until the window
			// ends; other addresses go on.
			other := LoginAttempt{Account: "bia@acme.test", IP: a.IP}
			require.Zero(t, attempt(other))
			elapsed := 1*time.Second + 2*time.Second + 4*time.Second + 4*time.Second
			require.Equal(t, time.Minute-elapsed, attempt(other))
			require.Zero(t, attempt(LoginAttempt{Account: other.Account, IP: "192.0.2.2"}), "another address is not held back")
			clock.Advance(time.Minute - elapsed)
			require.Zero(t, attempt(other))
			// A window after its last failure, a pair is forgotten.
			clock.Advance(time.Minute)
			require.Zero(t, attempt(a))
			require.Zero(t, attempt(a))
			require.Equal(t, time.Second, attempt(a))
		})
	}
}

// TestWindowLimiterConformance: each store allows limit requests per key
// per window and tells how long until the window ends.
func TestWindowLimiterConformance(t *testing.T) {
	t.Parallel()
	redisURL := redistest.URL(t)
	stores := map[string]func(t *testing.T) WindowLimiter{
		"postgres": func(t *testing.T) WindowLimiter {
			return persistence.NewRateLimiter(pgtest.NewDB(t), persistence.RateLimiterConfig{})
		},
		"redis": func(t *testing.T) WindowLimiter {
			r, err := rediskv.New(rediskv.Config{URL: redisURL, Prefix: redistest.Prefix(t, redisURL), Timeout: redisTestTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { r.Close() })
			return r
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := open(t)
			const window = 700 * time.Millisecond
			start := time.Now()
			for range 3 {
				ok, _, err := l.Allow(ctx, "k", 3, window)
				require.NoError(t, err)
				require.True(t, ok)
			}
			ok, retry, err := l.Allow(ctx, "k", 3, window)
			require.NoError(t, err)
			require.False(t, ok)
			require.True(t, retry > 0 && retry <= window, "retry after %s", retry)
			ok, _, err = l.Allow(ctx, "other", 3, window)
			require.NoError(t, err)
			require.True(t, ok, "keys count apart")
			// Once the window is over the key starts afresh.
			require.Eventually(t, func() bool {
				ok, _, err := l.Allow(ctx, "k", 3, window)
				return err == nil && ok
			}, 5*time.Second, 50*time.Millisecond)
			require.GreaterOrEqual(t, time.Since(start), window-50*time.Millisecond)
		})
	}
}

// BenchmarkRateLimiter is the cost of one throttle call with each store
// (local PostgreSQL and Redis, one caller).
func BenchmarkRateLimiter(b *testing.B) {
	ctx := context.Background()
	pg := persistence.NewRateLimiter(pgtest.NewDB(b), persistence.RateLimiterConfig{})
	url := redistest.URL(b)
	r, err := rediskv.New(rediskv.Config{URL: url, Prefix: redistest.Prefix(b, url)})
	require.NoError(b, err)
	b.Cleanup(func() { r.Close() })
	type limiter interface {
		LoginLimiter
		WindowLimiter
	}
	for _, store := range []struct {
		name string
		l    limiter
	}{{"postgres", pg}, {"redis", r}} {
		b.Run(store.name+"/allow", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, _, err := store.l.Allow(ctx, "bench:"+strconv.Itoa(i%1000), 1_000_000, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(store.name+"/login", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				a := crm.LoginAttempt{Account: "user" + strconv.Itoa(i) + "@bench.test", IP: "192.0.2." + strconv.Itoa(i%250)}
				if _, err := store.l.Attempt(ctx, a); err != nil {
					b.Fatal(err)
				}
				if err := store.l.Succeeded(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
