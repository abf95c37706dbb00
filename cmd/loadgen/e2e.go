package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// e2eConsole counts the message.created frames of this run it received.
type e2eConsole struct {
	tenant   int
	seen     map[int64]struct{}
	dup      int
	mu       sync.Mutex
	conn     net.Conn
	received atomic.Int64
}

func e2eCommand(args []string) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	common := registerCommon(fs)
	tenants := fs.Int("tenants", 100, "tenants (one sandbox connection each)")
	consoles := fs.Int("consoles", 1000, "WebSocket consoles, spread evenly over the tenants")
	contacts := fs.Int("contacts", 200, "contacts per connection")
	rate := fs.Float64("rate", 2000, "inbound messages per second (batch 1)")
	duration := fs.Duration("duration", 30*time.Second, "how long the webhooks arrive")
	concurrency := fs.Int("concurrency", 256, "webhook requests in flight at most")
	sources := fs.Int("sources", 4, "source addresses 127.0.0.2… for the consoles")
	profileSecs := fs.Int("profile-seconds", 10, "CPU profile of the node mid-run (0: none)")
	prewarm := fs.Bool("prewarm", true, "first send one message per contact and wait until processed, so the measured messages go to existing conversations (a first message also creates the contact and the conversation)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := common.context()
	defer cancel()
	res := newResult("e2e")
	s, err := common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("e2e: node %s (pid %d)\n", s.base, s.pid)
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: *tenants, ConnsEach: 1, Login: true})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"tenants": *tenants, "consoles": *consoles, "rate": *rate, "duration_s": duration.Seconds(),
		"contacts_per_connection": *contacts, "batch": 1, "prewarm": *prewarm}
	if *prewarm {
		warm := &webhookGen{run: randomHex(4), conns: fx.Connections, contacts: *contacts, batch: 1}
		n := *tenants * *contacts
		start := time.Now()
		d := drive(ctx, driveOptions{Base: s.base, Gen: warm, Rate: 400, Duration: time.Duration(float64(n)/400*float64(time.Second)) + 100*time.Millisecond,
			Concurrency: 32, Client: newHTTPClient(32)})
		for time.Since(start) < 90*time.Second {
			if depth, err := inboxDepth(ctx, s); err == nil && depth == 0 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		res.Figures["prewarm_seconds"] = time.Since(start).Seconds()
		fmt.Printf("  prewarm: %d conversations (%d messages acked) in %.1fs\n", n, d.Acked, time.Since(start).Seconds())
	}

	run := randomHex(4)
	gen := &webhookGen{run: run, conns: fx.Connections, contacts: *contacts, batch: 1}
	prefix := gen.idPrefix()
	capacity := int(*rate*duration.Seconds()*1.1) + 10_000
	sentAt := make([]atomic.Int64, capacity)
	lat := &latencies{}

	cons := make([]*e2eConsole, *consoles)
	tickets := newHTTPClient(32)
	connectStart := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range cons {
		g.Go(func() error {
			c := &e2eConsole{tenant: i % *tenants, seen: map[int64]struct{}{}}
			u, err := consoleURL(gctx, tickets, s.base, fx.Tenants[c.tenant].Token)
			if err != nil {
				return fmt.Errorf("console %d: %w", i, err)
			}
			conn, r, err := dialWS(gctx, u, sourceAddr(i, *sources))
			if err != nil {
				return fmt.Errorf("console %d: %w", i, err)
			}
			c.conn = conn
			cons[i] = c
			go readFrames(conn, r, func(p []byte, at time.Time) { //nolint:errcheck
				if !bytes.Contains(p, frameTypeMessageCreated) {
					return
				}
				n, ok := externalNumber(p, prefix)
				if !ok || n >= int64(len(sentAt)) {
					return
				}
				if t := sentAt[n].Load(); t > 0 {
					lat.add(at.Sub(time.Unix(0, t)))
				}
				c.mu.Lock()
				if _, dup := c.seen[n]; dup {
					c.dup++
				} else {
					c.seen[n] = struct{}{}
				}
				c.mu.Unlock()
				c.received.Add(1)
			})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	defer func() {
		for _, c := range cons {
			c.conn.Close()
		}
	}()
	fmt.Printf("  %d consoles connected in %.1fs\n", len(cons), time.Since(connectStart).Seconds())
	time.Sleep(time.Second)

	var profile chan string
	if *profileSecs > 0 && s.pprofAddr != "" {
		profile = make(chan string, 1)
		go func() {
			time.Sleep(*duration / 3)
			top, path, err := s.cpuProfile(ctx, *profileSecs, common.profileDir, "e2e")
			if err != nil {
				top = "profile failed: " + err.Error()
			}
			res.Profiles["e2e_cpu_file"] = path
			profile <- top
		}()
	}
	d := drive(ctx, driveOptions{Base: s.base, Gen: gen, Rate: *rate, Duration: *duration, Concurrency: *concurrency,
		Client: newHTTPClient(*concurrency), OnSend: func(first int64, at time.Time) {
			if first < int64(len(sentAt)) {
				sentAt[first].Store(at.UnixNano())
			}
		}})
	fmt.Println("  webhooks:", d)
	// Expected: every acknowledged message, on every console of its tenant.
	perTenant := make([]map[int64]struct{}, *tenants)
	for i := range perTenant {
		perTenant[i] = map[int64]struct{}{}
	}
	for _, n := range d.ackedRanges {
		perTenant[fx.Connections[int(n)%len(fx.Connections)].Tenant][n] = struct{}{}
	}
	missing := func() (int, int) {
		var miss, dup int
		for _, c := range cons {
			c.mu.Lock()
			for n := range perTenant[c.tenant] {
				if _, ok := c.seen[n]; !ok {
					miss++
				}
			}
			dup += c.dup
			c.mu.Unlock()
		}
		return miss, dup
	}
	waitStart := time.Now()
	var miss, dup int
	for {
		miss, dup = missing()
		if miss == 0 || time.Since(waitStart) > 10*time.Second {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if profile != nil {
		res.Profiles["e2e_cpu_top"] = <-profile
	}
	var expected int
	for _, m := range perTenant {
		expected += len(m) * (*consoles / *tenants)
	}
	sum := lat.summary()
	res.Figures["webhooks"] = d
	res.Figures["webhook_to_console"] = sum
	res.Figures["frames_expected"] = expected
	res.Figures["frames_missed_after_wait"] = miss
	res.Figures["frames_duplicated"] = dup
	res.Figures["drain_wait_s"] = time.Since(waitStart).Seconds()
	if ms, err := scrapeMetrics(ctx, s.base); err == nil {
		res.Figures["server_metrics"] = ms
	}
	fmt.Printf("  webhook → console: %s; %d frames expected, %d missed (after waiting %.1fs), %d duplicated\n",
		sum, expected, miss, time.Since(waitStart).Seconds(), dup)
	return res.write(common.out)
}
