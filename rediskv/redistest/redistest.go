// Package redistest gives tests the Redis they share: its URL, a key prefix
// of their own (removed when they end), the URL of a Redis that is down and
// a proxy to cut Redis off mid-test.
package redistest

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"crm"
)

// URL is the tests' Redis: TEST_REDIS_URL, default redis://127.0.0.1:6379/0.
// When it does not answer the test is skipped, unless CRM_REDIS_REQUIRED or
// CI is set (.ci/run starts Redis and sets it): then it fails, so CI never
// passes by skipping.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CRM_REDIS_REQUIRED") != "" || os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s does not answer (.ci/run starts it): %v", opts.Addr, err)
		}
		t.Skipf("Redis at %s does not answer: %v", opts.Addr, err)
	}
	return url
}

// Prefix is a key prefix of t's own; its keys are deleted when t ends.
func Prefix(t testing.TB, url string) string {
	t.Helper()
	prefix := "crm-test:" + strings.ReplaceAll(crm.NewID().String(), "-", "")[:16] + ":"
	t.Cleanup(func() {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return
		}
		opts.DialerRetries = 1 // a DownURL's prefix has nothing to delete
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// DownURL is the URL of a Redis that does not answer: a loopback port just
// freed, so connections are refused at once.
func DownURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "redis://" + addr + "/0"
}

// Outage is a loopback proxy to the Redis at url, so a test can cut Redis
// off mid-test: URL is the proxy's, Cut closes it and every connection
// through it (further dials are refused).
type Outage struct {
	URL      string
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	cut      bool
}

// NewOutage starts the proxy; it is cut when t ends at the latest.
func NewOutage(t testing.TB, url string) *Outage {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{URL: "redis://" + l.Addr().String() + "/" + strconv.Itoa(opts.DB), listener: l}
	t.Cleanup(o.Cut)
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", opts.Addr)
			if err != nil {
				client.Close()
				continue
			}
			o.mu.Lock()
			if o.cut {
				o.mu.Unlock()
				client.Close()
				server.Close()
				return
			}
			o.conns = append(o.conns, client, server)
			o.mu.Unlock()
			go func() { io.Copy(server, client); server.Close() }() //nolint:errcheck
			go func() { io.Copy(client, server); client.Close() }() //nolint:errcheck
		}
	}()
	return o
}

// Cut takes Redis away: the proxy stops listening and drops its connections.
func (o *Outage) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		return
	}
	o.cut = true
	o.listener.Close()
	for _, c := range o.conns {
		c.Close()
	}
}
