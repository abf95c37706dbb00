package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

type socketFigures struct {
	Sessions        int     `json:"sessions"`
	RSSBeforeKB     int64   `json:"rss_before_kb"`
	RSSHalfKB       int64   `json:"rss_half_kb"`
	RSSAfterKB      int64   `json:"rss_after_kb"`
	BytesPerSession float64 `json:"rss_bytes_per_session"` // slope: second half
	// BytesPerSessionWhole is (after - before) / sessions.
	BytesPerSessionWhole float64 `json:"rss_bytes_per_session_whole"`
	ConnectSeconds       float64 `json:"connect_seconds"`
}

// openIdle opens n sockets (sources spread over 127.0.0.x) in two halves and
// reads the server's RSS before, after the first half and after all: the
// figure per session is the slope between the half and the whole, so
// whatever the process held or released before the sockets (pools, caches,
// the GC's scavenging) does not count.
func openIdle(ctx context.Context, pid int, url func(ctx context.Context, i int) (string, error), n, sources int, settle time.Duration,
	onText func(i int, p []byte, at time.Time)) (*socketFigures, []net.Conn, error) {
	before, err := rssKB(pid)
	if err != nil {
		return nil, nil, err
	}
	conns := make([]net.Conn, n)
	start := time.Now()
	open := func(from, to int) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(64)
		for i := from; i < to; i++ {
			g.Go(func() error {
				u, err := url(gctx, i)
				if err != nil {
					return fmt.Errorf("socket %d: %w", i, err)
				}
				conn, r, err := dialWS(gctx, u, sourceAddr(i, sources))
				if err != nil {
					return fmt.Errorf("socket %d: %w", i, err)
				}
				conns[i] = conn
				if onText != nil {
					go readFrames(conn, r, func(p []byte, at time.Time) { onText(i, p, at) }) //nolint:errcheck
				} else {
					go func() { _, _ = io.Copy(io.Discard, r) }()
				}
				return nil
			})
		}
		return g.Wait()
	}
	half := n / 2
	if err := open(0, half); err != nil {
		closeAll(conns)
		return nil, nil, err
	}
	time.Sleep(settle)
	mid, err := rssKB(pid)
	if err != nil {
		closeAll(conns)
		return nil, nil, err
	}
	if err := open(half, n); err != nil {
		closeAll(conns)
		return nil, nil, err
	}
	connectSecs := time.Since(start).Seconds() - settle.Seconds()
	time.Sleep(settle)
	after, err := rssKB(pid)
	if err != nil {
		closeAll(conns)
		return nil, nil, err
	}
	return &socketFigures{Sessions: n, RSSBeforeKB: before, RSSHalfKB: mid, RSSAfterKB: after,
		BytesPerSession:      float64(after-mid) * 1024 / float64(n-half),
		BytesPerSessionWhole: float64(after-before) * 1024 / float64(n), ConnectSeconds: connectSecs}, conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

func socketsCommand(args []string) error {
	fs := flag.NewFlagSet("sockets", flag.ContinueOnError)
	common := registerCommon(fs)
	sessions := fs.Int("sessions", 15000, "idle authenticated sessions (one process holds at most ~19k sockets here)")
	sources := fs.Int("sources", 8, "source addresses 127.0.0.2… for the clients")
	settle := fs.Duration("settle", 3*time.Second, "wait after the last connect before reading RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := common.context()
	defer cancel()
	res := newResult("sockets")
	s, err := common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if s.pid == 0 {
		return fmt.Errorf("sockets needs a node started by this run (RSS is read from /proc)")
	}
	fmt.Printf("sockets: node %s (pid %d)\n", s.base, s.pid)
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: 1, ConnsEach: 1, Login: true})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"sessions": *sessions, "sources": *sources, "settle_s": settle.Seconds()}
	token := fx.Tenants[0].Token
	tickets := newHTTPClient(64)
	run := randomHex(4)
	gen := &webhookGen{run: run, conns: fx.Connections, contacts: 10, batch: 1}
	prefix := gen.idPrefix()
	// Warm the node (one conversation, one socket) so the "before" RSS
	// holds the code paths and pools, not the sockets.
	if _, err := runWarm(ctx, s, gen); err != nil {
		return err
	}
	runtime.GC()

	var target atomic.Int64 // the message number every socket waits for
	target.Store(-1)
	var got atomic.Int64
	var lastAt atomic.Int64
	received := make([]atomic.Bool, *sessions)
	onText := func(i int, p []byte, at time.Time) {
		if !bytes.Contains(p, frameTypeMessageCreated) {
			return
		}
		n, ok := externalNumber(p, prefix)
		if !ok || n != target.Load() {
			return
		}
		if !received[i].Swap(true) {
			got.Add(1)
			for {
				prev := lastAt.Load()
				if at.UnixNano() <= prev || lastAt.CompareAndSwap(prev, at.UnixNano()) {
					break
				}
			}
		}
	}
	ours, conns, err := openIdle(ctx, s.pid, func(ctx context.Context, _ int) (string, error) {
		return consoleURL(ctx, tickets, s.base, token)
	}, *sessions, *sources, *settle, onText)
	if err != nil {
		return err
	}
	fmt.Printf("  crm node: %d sessions connected in %.1fs; RSS %d → %d → %d KB: %.0f bytes per session (slope of the second half; %.0f over the whole)\n",
		ours.Sessions, ours.ConnectSeconds, ours.RSSBeforeKB, ours.RSSHalfKB, ours.RSSAfterKB, ours.BytesPerSession, ours.BytesPerSessionWhole)
	res.Figures["crm"] = ours

	// One event to every session: a webhook for the tenant, timed from the
	// POST to the last socket's frame.
	var body []byte
	body, conn, first := gen.next(nil)
	target.Store(first)
	start := time.Now()
	status, err := postWebhook(ctx, newHTTPClient(1), s.base, conn, body)
	if err != nil || status != 200 {
		closeAll(conns)
		return fmt.Errorf("posting the fan-out webhook: status %d, %v", status, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(*sessions) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	all := time.Unix(0, lastAt.Load()).Sub(start)
	res.Figures["one_event_to_all_ms"] = float64(all.Microseconds()) / 1000
	res.Figures["one_event_received_by"] = got.Load()
	fmt.Printf("  one event to all: %d of %d sessions received it, the last %.1f ms after the POST\n", got.Load(), *sessions, float64(all.Microseconds())/1000)
	if ms, err := scrapeMetrics(ctx, s.base); err == nil {
		res.Figures["server_metrics"] = ms
	}
	closeAll(conns)
	time.Sleep(2 * time.Second)

	// The same number of idle sockets on a bare gobwas/ws server.
	addr, err := freePort()
	if err != nil {
		return err
	}
	bare, err := startChild("bare-ws", addr)
	if err != nil {
		return err
	}
	defer bare.stop()
	if err := waitListening(addr, 10*time.Second); err != nil {
		return err
	}
	base, bconns, err := openIdle(ctx, bare.pid(), func(context.Context, int) (string, error) { return "ws://" + addr + "/", nil }, *sessions, *sources, *settle, nil)
	if err != nil {
		return err
	}
	closeAll(bconns)
	res.Figures["bare_gobwas"] = base
	ratio := ours.BytesPerSession / base.BytesPerSession
	res.Figures["ratio_to_bare"] = ratio
	fmt.Printf("  bare gobwas/ws: %d sockets in %.1fs; RSS %d → %d → %d KB: %.0f bytes per socket (%.0f over the whole); crm/bare = %.2f\n",
		base.Sessions, base.ConnectSeconds, base.RSSBeforeKB, base.RSSHalfKB, base.RSSAfterKB, base.BytesPerSession, base.BytesPerSessionWhole, ratio)
	return res.write(common.out)
}

// runWarm sends one webhook and opens and closes one socket.
func runWarm(ctx context.Context, s *server, gen *webhookGen) (int, error) {
	body, conn, _ := gen.next(nil)
	status, err := postWebhook(ctx, newHTTPClient(1), s.base, conn, body)
	time.Sleep(500 * time.Millisecond)
	return status, err
}
