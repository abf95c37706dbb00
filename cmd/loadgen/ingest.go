package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type ingestFlags struct {
	common      *commonFlags
	tenants     int
	conns       int
	contacts    int
	duration    time.Duration
	concurrency int
	ackRate     float64
	ackDuration time.Duration
	batches     string
	baseline    time.Duration
	processed   bool
	fraction    float64
	procDur     time.Duration
	procRate    float64
	procBatch   int
	profileSecs int
}

func ingestCommand(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	f := &ingestFlags{common: registerCommon(fs)}
	fs.IntVar(&f.tenants, "tenants", 20, "tenants")
	fs.IntVar(&f.conns, "connections", 2, "sandbox connections per tenant")
	fs.IntVar(&f.contacts, "contacts", 500, "contacts per connection")
	fs.DurationVar(&f.duration, "duration", 15*time.Second, "length of each as-fast-as-acknowledged phase")
	fs.IntVar(&f.concurrency, "concurrency", 128, "requests in flight")
	fs.Float64Var(&f.ackRate, "ack-rate", 5000, "fixed rate (messages/s, batch 1) of the ack latency phase; 0 skips it")
	fs.DurationVar(&f.ackDuration, "ack-duration", 15*time.Second, "length of the fixed-rate phase")
	fs.StringVar(&f.batches, "batches", "1,50", "messages per webhook for the as-fast-as-acknowledged phases")
	fs.DurationVar(&f.baseline, "baseline-duration", 8*time.Second, "length of each baseline measurement")
	fs.BoolVar(&f.processed, "processed", false, "instead: sustain a fixed rate (-fraction of the raw insert rate) for -processed-duration and watch the inbox depth and processing")
	fs.Float64Var(&f.fraction, "fraction", 0.25, "with -processed: rate as a fraction of the raw batched-insert rate measured first")
	fs.DurationVar(&f.procDur, "processed-duration", 60*time.Second, "with -processed: how long to sustain the rate")
	fs.Float64Var(&f.procRate, "rate", 0, "with -processed: offer this many messages/s instead of -fraction of the raw rate")
	fs.IntVar(&f.procBatch, "batch", 50, "with -processed: messages per webhook")
	fs.IntVar(&f.profileSecs, "profile-seconds", 10, "CPU profile of the node during the first as-fast-as-acknowledged phase (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := f.common.context()
	defer cancel()
	res := newResult("ingest")
	if f.processed {
		res.Scenario = "ingest-processed"
	}
	s, err := f.common.start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("%s: node %s (pid %d)\n", res.Scenario, s.base, s.pid)
	fx, err := makeFixture(ctx, s, fixtureOptions{Tenants: f.tenants, ConnsEach: f.conns})
	if err != nil {
		return err
	}
	res.Params = map[string]any{"tenants": f.tenants, "connections": len(fx.Connections), "contacts_per_connection": f.contacts,
		"concurrency": f.concurrency, "target": s.base}
	client := newHTTPClient(f.concurrency)
	run := randomHex(4)
	gen := func(batch int) *webhookGen {
		return &webhookGen{run: run, conns: fx.Connections, contacts: f.contacts, batch: batch}
	}
	// One generator per batch size, sharing the id sequence through offsets.
	var all []*driveResult
	g1 := gen(1)
	warm := drive(ctx, driveOptions{Base: s.base, Gen: g1, Rate: 500, Duration: 2 * time.Second, Concurrency: 16, Client: client})
	all = append(all, warm)
	fmt.Println("  warm-up:", warm)
	samples, err := makeSamples(&webhookGen{run: "sample" + randomHex(4), conns: fx.Connections, contacts: f.contacts, batch: 1}, 500)
	if err != nil {
		return fmt.Errorf("making sample inbox rows: %w", err)
	}
	time.Sleep(2 * time.Second) // let the warm-up's processing finish before the baseline

	// Storage limit: the same rows straight into a scratch copy of the table.
	var rawBest float64
	for _, method := range []string{"insert", "copy"} {
		r, err := rawInsert(ctx, s.dbURL, samples, method, 1000, 2, f.baseline)
		if err != nil {
			return fmt.Errorf("raw %s baseline: %w", method, err)
		}
		res.Figures["raw_"+method] = r
		rawBest = max(rawBest, r.RowsSec)
		fmt.Printf("  baseline raw %s: %.0f rows/s (batches of %d, %d writers)\n", method, r.RowsSec, r.Batch, r.Writers)
	}
	res.Figures["raw_rows_per_sec"] = rawBest

	if f.processed {
		return ingestProcessed(ctx, f, s, res, gen, rawBest, client)
	}

	batches := parseInts(f.batches)
	// HTTP limit: the bare handler, same generator, same concurrency.
	err = bareHTTP(fx, s.tmp, func(base string) error {
		for _, b := range batches {
			r := drive(ctx, driveOptions{Base: base, Gen: gen(b), Duration: f.baseline, Concurrency: f.concurrency, Client: newHTTPClient(f.concurrency)})
			res.Figures[fmt.Sprintf("bare_http_batch%d", b)] = r
			fmt.Printf("  baseline bare net/http + HMAC, batch %d: %s\n", b, r)
		}
		return nil
	})
	if err != nil {
		return err
	}

	if f.ackRate > 0 {
		r := drive(ctx, driveOptions{Base: s.base, Gen: g1, Rate: f.ackRate, Duration: f.ackDuration, Concurrency: max(f.concurrency, 256), Client: client})
		all = append(all, r)
		res.Figures["ack_at_rate"] = r
		res.Params["ack_rate"] = f.ackRate
		fmt.Printf("  fixed %.0f msg/s, batch 1: %s\n", f.ackRate, r)
	}
	for i, b := range batches {
		g := gen(b)
		g.seq.Store(int64(i+1) * 1_000_000_000) // disjoint id ranges per batch size
		if b == 1 {
			g = g1
		}
		var profile chan string
		if i == 0 && f.profileSecs > 0 && s.pprofAddr != "" {
			profile = make(chan string, 1)
			go func() {
				time.Sleep(2 * time.Second)
				top, path, err := s.cpuProfile(ctx, f.profileSecs, f.common.profileDir, "ingest")
				if err != nil {
					top = "profile failed: " + err.Error()
				}
				res.Profiles["ingest_cpu_file"] = path
				profile <- top
			}()
		}
		r := drive(ctx, driveOptions{Base: s.base, Gen: g, Duration: f.duration, Concurrency: f.concurrency, Client: client})
		all = append(all, r)
		res.Figures[fmt.Sprintf("max_batch%d", b)] = r
		fmt.Printf("  as fast as acknowledged, batch %d: %s\n", b, r)
		if profile != nil {
			res.Profiles["ingest_cpu_top"] = <-profile
		}
	}
	// Every acknowledged message is in the inbox exactly once.
	check, err := verifyInbox(ctx, s, g1.idPrefix(), all)
	if err != nil {
		return err
	}
	res.Figures["exactly_once"] = check
	fmt.Printf("  inbox check: %d acknowledged, %d stored, %d missing, %d duplicated\n", check.Acked, check.Stored, check.Missing, check.Duplicated)
	if ms, err := scrapeMetrics(ctx, s.base); err == nil {
		res.Figures["server_metrics"] = ms
	}
	return res.write(f.common.out)
}

type inboxCheck struct {
	Acked      int `json:"acked"`
	Stored     int `json:"stored"`
	Missing    int `json:"missing"`
	Duplicated int `json:"duplicated"`
}

func verifyInbox(ctx context.Context, s *server, prefix string, results []*driveResult) (*inboxCheck, error) {
	acked := map[int64]bool{}
	stored := map[int64]int{}
	// Each acknowledged message is either still in the inbox or processed
	// (its row deleted with the message stored, keyed by its external id):
	// exactly one of the two, once.
	rows, err := s.db.Pool.Query(ctx, `SELECT dedupe_key FROM inbound_events WHERE dedupe_key LIKE $1
		UNION ALL SELECT key FROM message_keys WHERE kind = 'external' AND key LIKE $1`, prefix+"%")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(key, prefix), 10, 64)
		if err == nil {
			stored[n]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	c := &inboxCheck{Stored: len(stored)}
	for _, r := range results {
		for _, first := range r.ackedRanges {
			for i := int64(0); i < r.batch; i++ {
				acked[first+i] = true
			}
		}
	}
	c.Acked = len(acked)
	for n := range acked {
		if stored[n] == 0 {
			c.Missing++
		}
	}
	for _, k := range stored {
		if k > 1 {
			c.Duplicated++
		}
	}
	return c, nil
}

func parseInts(s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// scrapeMetrics reads the node's own counters and histograms of interest.
func scrapeMetrics(ctx context.Context, base string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range []string{"crm_inbox_processed_total", "crm_dispatch_deferred_total", "crm_webhook_ack_seconds_sum",
			"crm_webhook_ack_seconds_count", "crm_ingest_lag_seconds_sum", "crm_ingest_lag_seconds_count", "crm_webhook_events_total",
			"crm_sends_total", "crm_bot_steps_total", "crm_bot_errors_total", "process_resident_memory_bytes", "go_goroutines"} {
			if strings.HasPrefix(line, p) {
				i := strings.LastIndexByte(line, ' ')
				if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
					out[line[:i]] = v
				}
			}
		}
	}
	return out, sc.Err()
}

func processedTotal(m map[string]float64) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, "crm_inbox_processed_total") && !strings.Contains(k, `"error"`) {
			n += v
		}
	}
	return n
}

func inboxDepth(ctx context.Context, s *server) (int64, error) {
	var n int64
	err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_events WHERE processed_at IS NULL`).Scan(&n)
	return n, err
}

// ingestProcessed sustains a fixed rate and samples, every second, the
// inbox depth and how many events the engine processed.
func ingestProcessed(ctx context.Context, f *ingestFlags, s *server, res *Result, gen func(int) *webhookGen, raw float64, client *http.Client) error {
	rate := raw * f.fraction
	if f.procRate > 0 {
		rate = f.procRate
	}
	batch := f.procBatch
	res.Params["rate"] = rate
	res.Params["batch"] = batch
	res.Params["fraction_of_raw"] = rate / raw
	type sample struct {
		T         float64 `json:"t"`
		Depth     int64   `json:"depth"`
		Processed float64 `json:"processed"`
	}
	var samples []sample
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	m0, _ := scrapeMetrics(ctx, s.base)
	p0 := processedTotal(m0)
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				d, _ := inboxDepth(ctx, s)
				m, _ := scrapeMetrics(ctx, s.base)
				samples = append(samples, sample{T: time.Since(start).Seconds(), Depth: d, Processed: processedTotal(m) - p0})
			}
		}
	}()
	var profile chan string
	if f.profileSecs > 0 && s.pprofAddr != "" {
		profile = make(chan string, 1)
		go func() {
			time.Sleep(f.procDur / 2)
			top, path, err := s.cpuProfile(ctx, f.profileSecs, f.common.profileDir, "processing")
			if err != nil {
				top = "profile failed: " + err.Error()
			}
			res.Profiles["processing_cpu_file"] = path
			profile <- top
		}()
	}
	g := gen(batch)
	g.seq.Store(1_000_000_000) // after the warm-up's ids: a message sent twice would be a redelivery
	r := drive(ctx, driveOptions{Base: s.base, Gen: g, Rate: rate, Duration: f.procDur, Concurrency: f.concurrency, Client: client})
	close(stop)
	<-done
	if profile != nil {
		res.Profiles["processing_cpu_top"] = <-profile
	}
	res.Figures["sustained"] = r
	fmt.Printf("  sustained %.0f msg/s (%.0f%% of raw %.0f rows/s), batch %d: %s\n", rate, 100*rate/raw, raw, batch, r)
	// Processing rate over the second half (steady state), and the depth trend.
	var depthFirst, depthLast int64
	var procRate float64
	if n := len(samples); n >= 4 {
		mid := samples[n/2]
		last := samples[n-1]
		procRate = (last.Processed - mid.Processed) / (last.T - mid.T)
		depthFirst = slices.MaxFunc(samples[:n/2], func(a, b sample) int { return int(a.Depth - b.Depth) }).Depth
		depthLast = last.Depth
	}
	bounded := depthLast <= max(int64(rate*2), 2*depthFirst) && depthLast <= int64(rate*5)
	res.Figures["depth_samples"] = samples
	res.Figures["processed_per_sec_second_half"] = procRate
	res.Figures["depth_max_first_half"] = depthFirst
	res.Figures["depth_at_end"] = depthLast
	res.Figures["depth_bounded"] = bounded
	fmt.Printf("  processed %.0f msg/s over the second half; inbox depth max %d in the first half, %d at the end: bounded=%v\n",
		procRate, depthFirst, depthLast, bounded)
	// Drain: how long until the backlog is processed (bounded wait, only
	// when the depth stayed bounded: a runaway backlog takes far longer).
	drainStart := time.Now()
	for bounded && time.Since(drainStart) < 30*time.Second {
		d, err := inboxDepth(ctx, s)
		if err != nil || d == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	d, _ := inboxDepth(ctx, s)
	res.Figures["depth_after_drain"] = d
	res.Figures["drain_seconds"] = time.Since(drainStart).Seconds()
	m1, _ := scrapeMetrics(ctx, s.base)
	res.Figures["server_metrics"] = m1
	return res.write(f.common.out)
}
