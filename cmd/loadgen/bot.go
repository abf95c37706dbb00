package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The bot scenario: what a chatbot step costs the node and how fast the bot
// answers. Half the tenants have a one-question flow active (trigger
// "always": a customer's message either starts the flow, which asks, or
// answers the question, which thanks and ends), the other half none. All
// conversations exist first (one message each, before the flows are
// published), and every conversation of the tenants with the flow has its
// question waiting.
//
//  1. Reply latency, first, on a quiet node: a fixed rate (batch 1) to the
//     tenants with the flow; from each webhook POST to the sandbox's
//     received_at of the bot's reply to that message (the provider call),
//     read from the sandbox outbox once the load stopped.
//  2. Processing: the tenants without flows, then those with the flow, back
//     to back, alternating; each phase starts on an empty inbox and is
//     offered the same load: as fast as the node stores the messages, with
//     at most -window of them acknowledged and not yet stored (at most -rate
//     a second). Counted: inbound messages stored
//     (crm_inbox_processed_total{outcome="stored"}) over the phase after its
//     settle, and the CPU of the node and of this database's PostgreSQL
//     backends per message stored.

const (
	botQuestion = "Qual é o número do seu pedido?"
	botThanks   = "Recebido: "
)

// oneQuestionFlow starts on every message, asks one free-text question,
// thanks quoting the answer and ends (the next message starts it again).
func oneQuestionFlow(name string) map[string]any {
	pos := func(y int) map[string]any { return map[string]any{"x": 0, "y": y} }
	return map[string]any{
		"name": name, "description": "loadgen: one question",
		"trigger": map[string]any{"on": "always", "keywords": []string{}, "connection_ids": []string{}},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos(0)},
			{"id": "ask", "type": "question", "name": "Pedido", "config": map[string]any{"text": botQuestion, "answer_type": "text",
				"variable": "pedido"}, "position": pos(100)},
			{"id": "thanks", "type": "message", "name": "Obrigado", "config": map[string]any{"text": botThanks + "{{var.pedido}}"}, "position": pos(200)},
			{"id": "end", "type": "end", "name": "Fim", "config": map[string]any{"resolve": false}, "position": pos(300)},
		},
		"edges": []map[string]any{
			{"from": "start", "to": "ask", "handle": "next"}, {"from": "ask", "to": "thanks", "handle": "next"},
			{"from": "thanks", "to": "end", "handle": "next"},
		},
	}
}

// botPhase is one processing phase.
type botPhase struct {
	Set              string    `json:"set"` // "no_flow" or "flow"
	DrainBeforeS     float64   `json:"drain_before_s"`
	DepthBefore      int64     `json:"depth_before"` // unprocessed inbox rows when it began
	Requests         int64     `json:"requests"`
	Acked            int64     `json:"acked_messages"`
	AckedSec         float64   `json:"acked_per_sec"`
	Errors           int64     `json:"errors"`
	Non200           int64     `json:"non_200"`
	ProcessedSec     float64   `json:"processed_per_sec"` // inbound messages stored, counted part
	StatusSec        float64   `json:"statuses_per_sec"`  // status events processed, counted part
	BotStepsSec      float64   `json:"bot_steps_per_sec"` // chatbot steps, counted part
	WindowS          float64   `json:"window_s"`          // length of the counted part
	BacklogAtEnd     int64     `json:"backlog_at_end"`    // acknowledged in the phase, not stored when it ended
	Saturated        bool      `json:"saturated"`         // held back by the window: the node had work queued throughout
	ProcessingErrors float64   `json:"processing_errors"` // crm_inbox_processed_total{outcome="error"}
	BotErrors        float64   `json:"bot_errors"`        // crm_bot_errors_total
	NodeCPUPerMsgUS  float64   `json:"node_cpu_us_per_msg"`
	PGCPUPerMsgUS    float64   `json:"pg_cpu_us_per_msg"` // this database's client backends
	NodeCores        float64   `json:"node_cores"`
	PGCores          float64   `json:"pg_cores"`
	LongestStallS    float64   `json:"longest_stall_s"` // longest time with messages waiting and none stored
	Failed           string    `json:"failed,omitempty"`
	StoredSamples    []float64 `json:"stored_samples"` // stored since the phase began, every second
}

func botCommand(args []string) error {
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	common := registerCommon(fs)
	tenants := fs.Int("tenants", 10, "tenants in each set (with the flow, without flows)")
	conns := fs.Int("connections", 2, "sandbox connections per tenant")
	contacts := fs.Int("contacts", 25, "contacts per connection (each gets one message first: its conversation exists, and with the flow its question waits)")
	rate := fs.Float64("rate", 5000, "processing phases: at most this many messages/s offered, the same for both sets")
	window := fs.Int("window", 500, "processing phases: at most this many messages acknowledged and not yet stored (the node always has work; the backlog drains quickly)")
	batch := fs.Int("batch", 10, "processing phases: messages per webhook")
	phaseDur := fs.Duration("phase-duration", 6*time.Second, "processing phases: length of each")
	settle := fs.Duration("settle", 1500*time.Millisecond, "processing phases: the first part of each phase not counted")
	pairs := fs.Int("pairs", 2, "processing phases: (without, with) pairs, back to back")
	drainMax := fs.Duration("drain-max", 10*time.Second, "processing phases: longest wait for an empty inbox before a phase")
	latRate := fs.Float64("latency-rate", 200, "reply latency: messages/s to the tenants with the flow (batch 1); 0 skips")
	latDur := fs.Duration("latency-duration", 10*time.Second, "reply latency: how long")
	delay := fs.Int("status-delay-ms", 600_000, "the sandbox's delay before each status webhook (sent, delivered, read) of the bot's messages; the default keeps them out of the run, so a bot step's cost is its step and its send")
	concurrency := fs.Int("concurrency", 64, "webhook requests in flight at most")
	profileSecs := fs.Int("profile-seconds", 4, "CPU profile of the node during the first phase with the flow, after its settle (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := common.context()
	defer cancel()
	res := newResult("bot")
	s, err := common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("bot: node %s (pid %d)\n", s.base, s.pid)
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: 2 * *tenants, ConnsEach: *conns, Login: true,
		StatusDelayMS: []int{*delay, *delay, *delay}})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"tenants_per_set": *tenants, "connections_per_tenant": *conns, "contacts_per_connection": *contacts,
		"rate": *rate, "window": *window, "batch": *batch, "phase_s": phaseDur.Seconds(), "settle_s": settle.Seconds(), "pairs": *pairs,
		"latency_rate": *latRate, "latency_s": latDur.Seconds(), "sandbox_status_delay_ms": *delay, "concurrency": *concurrency}
	// The node inherits this environment: say which tuning it ran with.
	var env []string
	for _, k := range []string{"CRM_DISPATCH_WORKERS", "CRM_MAX_BACKLOG", "CRM_COMMIT_BATCH", "CRM_COMMIT_WRITERS", "GOGC", "GOMAXPROCS"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	res.Params["node_env"] = strings.Join(env, " ")
	client := newHTTPClient(*concurrency)
	client.Timeout = 10 * time.Second // a stalled node fails the phase's requests, not the whole scenario's time
	// Tenants [0, n) have no flow, [n, 2n) the one-question flow.
	split := *tenants * *conns
	plainConns, flowConns := fx.Connections[:split], fx.Connections[split:]

	// Every contact's conversation first, before any flow is published: a
	// first message also creates the contact and the conversation, which is
	// not what is measured. (With the flow active, first messages arriving
	// together stall the node: see NOTES.md.)
	warm := &webhookGen{run: randomHex(4), conns: fx.Connections, contacts: *contacts, batch: 1}
	nWarm := len(fx.Connections) * *contacts
	warmStart := time.Now()
	wd := drive(ctx, driveOptions{Base: s.base, Gen: warm, Rate: 500, Duration: time.Duration(float64(nWarm)/500*float64(time.Second)) + 100*time.Millisecond,
		Concurrency: 32, Client: client})
	for time.Since(warmStart) < 30*time.Second && ctx.Err() == nil {
		if depth, err := inboxDepth(ctx, s); err == nil && depth == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for t := *tenants; t < 2**tenants; t++ {
		var flow struct {
			ID string `json:"id"`
		}
		token := fx.Tenants[t].Token
		if st, err := apiJSON(ctx, client, http.MethodPost, s.base+"/api/v1/bot-flows", token, oneQuestionFlow("Pedido"), &flow); err != nil || st != http.StatusCreated {
			return fmt.Errorf("creating the flow of tenant %d: status %d %v", t, st, err)
		}
		if st, err := apiJSON(ctx, client, http.MethodPost, s.base+"/api/v1/bot-flows/"+flow.ID+"/publish", token, nil, nil); err != nil || st != http.StatusOK {
			return fmt.Errorf("publishing the flow of tenant %d: status %d %v", t, st, err)
		}
	}
	// Then one message to each contact of the tenants with the flow: the
	// flow starts and its question waits.
	m0, _ := scrapeWithin(ctx, s.base, 5*time.Second)
	startGen := &webhookGen{run: randomHex(4), conns: flowConns, contacts: *contacts, batch: 1}
	nStart := len(flowConns) * *contacts
	sd := drive(ctx, driveOptions{Base: s.base, Gen: startGen, Rate: 200, Duration: time.Duration(float64(nStart)/200*float64(time.Second)) + 100*time.Millisecond,
		Concurrency: 16, Client: client})
	startsAt := time.Now()
	for time.Since(startsAt) < 30*time.Second && ctx.Err() == nil {
		m, _ := scrapeWithin(ctx, s.base, 2*time.Second)
		depth, err := inboxDepth(ctx, s)
		if err == nil && depth == 0 && metricSum(m, "crm_bot_steps_total")-metricSum(m0, "crm_bot_steps_total") >= float64(nStart) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(time.Second) // the questions' sends and their statuses
	m1, _ := scrapeWithin(ctx, s.base, 5*time.Second)
	steps := metricSum(m1, "crm_bot_steps_total") - metricSum(m0, "crm_bot_steps_total")
	res.Figures["prewarm"] = map[string]any{"seconds": time.Since(warmStart).Seconds(), "conversations": nWarm, "acked": wd.Acked,
		"flow_starts": nStart, "flow_starts_acked": sd.Acked, "bot_steps": steps}
	fmt.Printf("  prewarm: %d conversations (%d acked), then %d flows started (%d acked, %.0f bot steps), in %.1fs\n",
		nWarm, wd.Acked, nStart, sd.Acked, steps, time.Since(warmStart).Seconds())

	if *latRate > 0 {
		if err := botLatency(ctx, s, fx, flowConns, *contacts, *latRate, *latDur, client, res); err != nil {
			return err
		}
	}

	// Processing: the same offered rate to each set in turn.
	var phases []*botPhase
	stalled := false
	for p := 0; p < *pairs && !stalled; p++ {
		for _, set := range []string{"no_flow", "flow"} {
			cs := plainConns
			if set == "flow" {
				cs = flowConns
			}
			o := botPhaseOptions{maxRate: *rate, batch: *batch, window: *window,
				dur: *phaseDur, settle: *settle, drainMax: *drainMax, concurrency: *concurrency}
			var profile chan string
			if set == "flow" && p == 0 && *profileSecs > 0 && s.pprofAddr != "" {
				profile = make(chan string, 1)
				o.atStart = func() {
					go func() {
						time.Sleep(*settle)
						top, path, err := s.cpuProfile(ctx, *profileSecs, common.profileDir, "bot")
						if err != nil {
							top = "profile failed: " + err.Error()
						}
						res.Profiles["bot_cpu_file"] = path
						profile <- top
					}()
				}
			}
			ph, err := botProcessingPhase(ctx, s, cs, *contacts, o, client)
			if profile != nil {
				res.Profiles["bot_cpu_top"] = <-profile
			}
			if err != nil {
				return err
			}
			ph.Set = set
			phases = append(phases, ph)
			if ph.Failed != "" {
				// The node stopped answering: the phases after it would
				// measure its recovery. Stop here; what failed is reported.
				fmt.Printf("  %-7s phase %d: failed: %s; no more phases\n", set, p+1, ph.Failed)
				stalled = true
				break
			}
			fmt.Printf("  %-7s phase %d: %.0f msg/s stored (%.0f bot steps/s, %.0f statuses/s) over %.1fs, saturated %v, longest stall %.1fs; CPU per message: node %.0f µs, PostgreSQL %.0f µs (%.2f + %.2f cores); %.0f msg/s acked, %d errors, %d non-200, %.0f processing errors; %d left at the end (drained %.1fs before, %d left then)\n",
				set, p+1, ph.ProcessedSec, ph.BotStepsSec, ph.StatusSec, ph.WindowS, ph.Saturated, ph.LongestStallS, ph.NodeCPUPerMsgUS, ph.PGCPUPerMsgUS,
				ph.NodeCores, ph.PGCores, ph.AckedSec, ph.Errors, ph.Non200, ph.ProcessingErrors, ph.BacklogAtEnd, ph.DrainBeforeS, ph.DepthBefore)
		}
	}
	agg := func(set string, f func(*botPhase) float64) float64 {
		var xs []float64
		for _, ph := range phases {
			if ph.Set == set && ph.Failed == "" {
				xs = append(xs, f(ph))
			}
		}
		return mean(xs)
	}
	rate0, rate1 := agg("no_flow", func(p *botPhase) float64 { return p.ProcessedSec }), agg("flow", func(p *botPhase) float64 { return p.ProcessedSec })
	res.Figures["phases"] = phases
	res.Figures["processed_no_flow_per_sec"] = rate0
	res.Figures["processed_flow_per_sec"] = rate1
	res.Figures["flow_to_no_flow"] = rate1 / max(rate0, 1)
	for _, set := range []string{"no_flow", "flow"} {
		res.Figures["node_cpu_us_per_msg_"+set] = agg(set, func(p *botPhase) float64 { return p.NodeCPUPerMsgUS })
		res.Figures["pg_cpu_us_per_msg_"+set] = agg(set, func(p *botPhase) float64 { return p.PGCPUPerMsgUS })
		res.Figures["processing_errors_"+set] = agg(set, func(p *botPhase) float64 { return p.ProcessingErrors })
		res.Figures["longest_stall_s_"+set] = agg(set, func(p *botPhase) float64 { return p.LongestStallS })
	}
	fmt.Printf("  stored: %.0f msg/s without flows, %.0f with the one-question flow: %.2f×; CPU per message node %.0f → %.0f µs, PostgreSQL %.0f → %.0f µs\n",
		rate0, rate1, rate1/max(rate0, 1), res.Figures["node_cpu_us_per_msg_no_flow"], res.Figures["node_cpu_us_per_msg_flow"],
		res.Figures["pg_cpu_us_per_msg_no_flow"], res.Figures["pg_cpu_us_per_msg_flow"])
	if ms, err := scrapeWithin(ctx, s.base, 5*time.Second); err == nil {
		res.Figures["server_metrics"] = ms
	}
	return res.write(common.out)
}

// botProcessingPhase waits for an empty inbox, then posts webhooks to the
// connections as fast as the node stores their messages, never more than
// window of them acknowledged and not yet stored (and at most maxRate a
// second): the node always has work queued, and the backlog left at the end
// is small enough to drain before the next phase. Every second it samples
// the messages stored (crm_inbox_processed_total{outcome="stored"}), and it
// reads the CPU time of the node and of this database's PostgreSQL backends
// over the counted part.
func botProcessingPhase(ctx context.Context, s *server, cs []connection, contacts int, o botPhaseOptions, client *http.Client) (*botPhase, error) {
	ph := &botPhase{}
	drainStart := time.Now()
	for time.Since(drainStart) < o.drainMax && ctx.Err() == nil {
		if d, err := inboxDepth(ctx, s); err != nil || d == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the last bot replies' sends
	ph.DrainBeforeS = time.Since(drainStart).Seconds()
	ph.DepthBefore, _ = inboxDepth(ctx, s)

	type sample struct {
		t                                 float64
		stored, status, steps, errs, berr float64
		acked                             int64
	}
	var stored0 float64
	var stored atomic.Int64 // stored since the phase began
	var acked, inflight atomic.Int64
	read := func(start time.Time) (sample, bool) {
		m, err := scrapeWithin(ctx, s.base, 2*time.Second)
		if err != nil {
			return sample{}, false
		}
		return sample{t: time.Since(start).Seconds(), stored: metricLabel(m, "crm_inbox_processed_total", "stored"),
			status: metricLabel(m, "crm_inbox_processed_total", "status"), steps: metricSum(m, "crm_bot_steps_total"),
			errs: metricLabel(m, "crm_inbox_processed_total", "error"), berr: metricSum(m, "crm_bot_errors_total"), acked: acked.Load()}, true
	}
	start := time.Now()
	if o.atStart != nil {
		o.atStart()
	}
	first, ok := read(start)
	for i := 0; !ok && i < 5 && ctx.Err() == nil; i++ {
		time.Sleep(time.Second)
		first, ok = read(start)
	}
	if !ok {
		ph.Failed = "the node's /metrics did not answer before the phase"
		return ph, nil
	}
	stored0 = first.stored
	samples := []sample{first}
	var cpuA, cpuB cpuTimes
	lastProgress, maxStall := time.Now(), time.Duration(0)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		next := time.Second
		counting := false
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			x, ok := read(start)
			if !ok {
				continue
			}
			if n := int64(x.stored - stored0); n > stored.Load() || acked.Load() <= stored.Load() {
				lastProgress = time.Now()
				stored.Store(n)
			} else if d := time.Since(lastProgress); d > maxStall {
				maxStall = d // messages waiting, none stored
			}
			if !counting && time.Since(start) >= o.settle {
				counting = true
				cpuA = readCPU(ctx, s)
				samples = append(samples, x)
			}
			if time.Since(start) >= next {
				next += time.Second
				samples = append(samples, x)
			}
		}
	}()
	gen := &webhookGen{run: randomHex(4), conns: cs, contacts: contacts, batch: o.batch}
	var interval time.Duration
	if o.maxRate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.batch) / o.maxRate)
	}
	var slot, requests, errs, non200, gated atomic.Int64
	end := start.Add(o.dur)
	var wg sync.WaitGroup
	for w := 0; w < o.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512*o.batch+512)
			for ctx.Err() == nil && time.Now().Before(end) {
				// At most window messages acknowledged (or on their way) and not stored.
				if acked.Load()+inflight.Load()-stored.Load() >= int64(o.window) {
					gated.Add(1)
					time.Sleep(2 * time.Millisecond)
					continue
				}
				if interval > 0 {
					due := start.Add(time.Duration(slot.Add(1)-1) * interval)
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				inflight.Add(int64(o.batch))
				body, conn, _ := gen.next(buf)
				buf = body
				st, err := postWebhook(ctx, client, s.base, conn, body)
				requests.Add(1)
				switch {
				case err != nil:
					errs.Add(1)
				case st != http.StatusOK:
					non200.Add(1)
				default:
					acked.Add(int64(o.batch))
				}
				inflight.Add(-int64(o.batch))
			}
		}()
	}
	wg.Wait()
	cpuB = readCPU(ctx, s)
	close(stop)
	<-done
	ph.LongestStallS = maxStall.Seconds()
	last, ok := read(start)
	if !ok {
		ph.Failed = "the node's /metrics did not answer after the phase"
		return ph, nil
	}
	samples = append(samples, last)
	ph.Requests, ph.Acked, ph.Errors, ph.Non200 = requests.Load(), acked.Load(), errs.Load(), non200.Load()
	ph.AckedSec = float64(ph.Acked) / o.dur.Seconds()
	// The counted part: from the first sample at or after settle to the
	// last one taken while the load ran.
	var a, b *sample
	for i := range samples {
		if samples[i].t >= o.settle.Seconds() && a == nil {
			a = &samples[i]
		}
		if samples[i].t <= o.dur.Seconds()+0.3 {
			b = &samples[i]
		}
	}
	if a == nil || b == nil || b.t <= a.t {
		ph.Failed = fmt.Sprintf("too few samples of /metrics (%d)", len(samples))
		return ph, nil
	}
	w := b.t - a.t
	ph.WindowS = w
	ph.ProcessedSec = (b.stored - a.stored) / w
	ph.StatusSec = (b.status - a.status) / w
	ph.BotStepsSec = (b.steps - a.steps) / w
	ph.ProcessingErrors = last.errs - first.errs
	ph.BotErrors = last.berr - first.berr
	ph.BacklogAtEnd = last.acked - int64(last.stored-stored0)
	// Bounded by the window the whole phase: saturated when it was held
	// back (the node had work queued), not when the rate cap was reached.
	ph.Saturated = gated.Load() > 0
	if n := cpuB.stored - cpuA.stored; cpuA.ok && cpuB.ok && n > 0 {
		ph.NodeCPUPerMsgUS = (cpuB.node - cpuA.node).Seconds() * 1e6 / n
		ph.PGCPUPerMsgUS = (cpuB.pg - cpuA.pg).Seconds() * 1e6 / n
		ph.NodeCores = (cpuB.node - cpuA.node).Seconds() / cpuB.at.Sub(cpuA.at).Seconds()
		ph.PGCores = (cpuB.pg - cpuA.pg).Seconds() / cpuB.at.Sub(cpuA.at).Seconds()
	}
	for _, x := range samples {
		ph.StoredSamples = append(ph.StoredSamples, x.stored-stored0)
	}
	return ph, nil
}

type botPhaseOptions struct {
	maxRate               float64
	batch, window         int
	dur, settle, drainMax time.Duration
	concurrency           int
	atStart               func() // called as the load begins (the profile)
}

// cpuTimes is the CPU the node and this database's PostgreSQL backends had
// used at a moment, with the messages stored by then.
type cpuTimes struct {
	ok       bool
	at       time.Time
	node, pg time.Duration
	stored   float64
}

func readCPU(ctx context.Context, s *server) cpuTimes {
	c := cpuTimes{at: time.Now()}
	if s.pid == 0 {
		return c
	}
	node, ok := procCPU(s.pid)
	if !ok {
		return c
	}
	c.node = node
	rows, err := s.db.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)
	if err != nil {
		return c
	}
	var pids []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			pids = append(pids, pid)
		}
	}
	rows.Close()
	for _, pid := range pids {
		if t, ok := procCPU(pid); ok {
			c.pg += t
		}
	}
	m, err := scrapeWithin(ctx, s.base, 2*time.Second)
	if err != nil {
		return c
	}
	c.stored = metricLabel(m, "crm_inbox_processed_total", "stored")
	c.ok = true
	return c
}

// procCPU is utime + stime of a process (Linux; clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command may hold spaces: the fields start after its closing paren.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * 10 * time.Millisecond, true
}

// botLatency sends at a fixed rate (batch 1) to the connections with the
// flow and matches each message with the bot's reply in the sandbox's
// outbox: a reply quoting the message's number answers it; the questions
// (the flow starting again) go, per contact, to its messages that started
// the flow, in order.
func botLatency(ctx context.Context, s *server, fx *fixture, cs []connection, contacts int, rate float64, dur time.Duration,
	client *http.Client, res *Result) error {
	gen := &webhookGen{run: randomHex(4), conns: cs, contacts: contacts, batch: 1}
	const base = 5_000_000_000 // the replies quote the number: keep it apart from the prewarm's
	gen.seq.Store(base)
	total := int(rate*dur.Seconds()*1.2) + 1000
	sentAt := make([]atomic.Int64, total)
	phaseStart := time.Now()
	d := drive(ctx, driveOptions{Base: s.base, Gen: gen, Rate: rate, Duration: dur, Concurrency: 64, Client: client,
		OnSend: func(first int64, at time.Time) {
			if i := first - base; i >= 0 && i < int64(total) {
				sentAt[i].Store(at.UnixNano())
			}
		}})
	fmt.Println("  reply latency webhooks:", d)
	acked := map[int64]bool{}
	for _, n := range d.ackedRanges {
		acked[n] = true
	}
	sent := gen.seq.Load()

	type reply struct {
		at   time.Time
		text string
	}
	// The outbox is read once the load stopped (it keeps the last 200 sends
	// per connection, which holds this phase): nothing is asked of the node
	// while it is measured. Read until every acknowledged message has its
	// reply, for at most 10 s.
	var byConn [][]reply
	var readErrors int
	waitStart := time.Now()
	for {
		byConn = make([][]reply, len(cs))
		got := 0
		for i, c := range cs {
			var out struct {
				Items []struct {
					MessageID  string          `json:"message_id"`
					To         string          `json:"to"`
					Request    json.RawMessage `json:"request"`
					ReceivedAt time.Time       `json:"received_at"`
				} `json:"items"`
			}
			if st, err := apiJSON(ctx, client, http.MethodGet, s.base+"/sandbox/api/"+c.ID.String()+"/outbox", fx.Tenants[c.Tenant].Token, nil, &out); err != nil || st != http.StatusOK {
				readErrors++ // a stalled node: this connection's replies count as missing
				continue
			}
			for _, it := range out.Items {
				if it.MessageID == "" || it.ReceivedAt.Before(phaseStart) {
					continue
				}
				var req struct {
					Text struct {
						Body string `json:"body"`
					} `json:"text"`
				}
				if json.Unmarshal(it.Request, &req) != nil {
					continue
				}
				byConn[i] = append(byConn[i], reply{at: it.ReceivedAt, text: it.To + "\x00" + req.Text.Body})
				got++
			}
		}
		if got >= len(acked) || time.Since(waitStart) > 10*time.Second || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}

	// The contact of message n, by its connection (the generator's layout).
	waID := func(n int64) string { return string(gen.appendWaID(nil, n)) }
	type contactKey struct {
		conn int
		wa   string
	}
	answers, starts, all := &latencies{}, &latencies{}, &latencies{}
	answered := map[int64]bool{}
	questions := map[contactKey][]time.Time{}
	var unknown, late int
	for i, rs := range byConn {
		sort.SliceStable(rs, func(a, b int) bool { return rs[a].at.Before(rs[b].at) })
		for _, r := range rs {
			to, body, _ := strings.Cut(r.text, "\x00")
			switch {
			case strings.HasPrefix(body, botThanks):
				n, ok := thanksNumber(body)
				if !ok || n < base || n >= sent || answered[n] {
					unknown++
					continue
				}
				t := sentAt[n-base].Load()
				if t == 0 {
					unknown++
					continue
				}
				answered[n] = true
				lat := r.at.Sub(time.Unix(0, t))
				answers.add(lat)
				all.add(lat)
			case body == botQuestion:
				questions[contactKey{i, onlyDigitsStr(to)}] = append(questions[contactKey{i, onlyDigitsStr(to)}], r.at)
			default:
				unknown++
			}
		}
	}
	// Per contact, the messages no thanks answered started the flow: the
	// k-th of them got the k-th question. A contact with a message not
	// acknowledged (stored or not, we cannot tell) is left out.
	startsOf := map[contactKey][]int64{}
	skip := map[contactKey]bool{}
	for n := int64(base); n < sent; n++ {
		k := contactKey{int(n % int64(len(cs))), waID(n)}
		switch {
		case !acked[n]:
			skip[k] = true
		case !answered[n]:
			startsOf[k] = append(startsOf[k], n)
		}
	}
	var startsUnmatched, contactsSkipped int
	for k, ns := range startsOf {
		qs := questions[k]
		if skip[k] || len(qs) != len(ns) {
			startsUnmatched += len(ns)
			contactsSkipped++
			continue
		}
		for j, n := range ns {
			t := time.Unix(0, sentAt[n-base].Load())
			if !qs[j].After(t) {
				late++
				continue
			}
			starts.add(qs[j].Sub(t))
			all.add(qs[j].Sub(t))
		}
	}
	sum := all.summary()
	res.Figures["latency_webhooks"] = d
	res.Figures["bot_reply"] = sum
	res.Figures["bot_reply_to_answer"] = answers.summary()
	res.Figures["bot_reply_to_start"] = starts.summary()
	res.Figures["bot_reply_acked"] = len(acked)
	res.Figures["bot_reply_unmatched_starts"] = startsUnmatched
	res.Figures["bot_reply_contacts_skipped"] = contactsSkipped
	res.Figures["bot_reply_unknown_outbox_entries"] = unknown
	res.Figures["bot_reply_out_of_order"] = late
	res.Figures["bot_reply_wait_s"] = time.Since(waitStart).Seconds()
	res.Figures["bot_reply_outbox_read_errors"] = readErrors
	fmt.Printf("  webhook → bot reply at the provider: %s (answers %s; starts %s); %d acked, %d matched, %d starts unmatched (%d contacts), %d unknown, %d out of order\n",
		sum, answers.summary(), starts.summary(), len(acked), sum.Count, startsUnmatched, contactsSkipped, unknown, late)
	return nil
}

// thanksNumber is the number of the message a thank-you quotes: the
// generator's text ends with it ("… do pedido 123").
func thanksNumber(body string) (int64, bool) {
	if !strings.HasPrefix(body, botThanks) {
		return 0, false
	}
	k := strings.LastIndexByte(body, ' ')
	n, err := strconv.ParseInt(body[k+1:], 10, 64)
	return n, err == nil
}

// scrapeWithin reads /metrics, giving up after d (a stalled node may not
// answer: its gauges read the database).
func scrapeWithin(ctx context.Context, base string, d time.Duration) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return scrapeMetrics(ctx, base)
}

func onlyDigitsStr(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// metricSum adds every series of a metric; metricLabel the one whose
// outcome label is the value.
func metricSum(m map[string]float64, name string) float64 {
	var n float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			n += v
		}
	}
	return n
}

func metricLabel(m map[string]float64, name, outcome string) float64 {
	return m[name+`{outcome="`+outcome+`"}`]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
