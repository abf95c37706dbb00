package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// reportCommand writes BENCHMARKS.md from the JSON results of one run.
func reportCommand(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory holding ingest.json, processed.json, capacity.json, e2e.json, e2e-low.json, sockets.json, send.json, bot.json, campaign.json, commands.tsv, micro.txt")
	out := fs.String("out", "BENCHMARKS.md", "file to write")
	notes := fs.String("notes", "", "a Markdown file of analysis to append (written by hand; labelled as such)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := func(name string) map[string]any {
		raw, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		return m
	}
	ingest, processed, e2e, sockets, send := load("ingest.json"), load("processed.json"), load("e2e.json"), load("sockets.json"), load("send.json")
	capacity, e2eLow, botRes := load("capacity.json"), load("e2e-low.json"), load("bot.json")
	campaignRes := load("campaign.json")
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	w("# Benchmarks\n\n")
	w("Written by `make bench` (scripts/bench.sh → `go run ./cmd/loadgen report`). Every figure below comes from this one run; ")
	w("each baseline is measured in the same run on the same machine, so a ratio is against this machine's limit at that moment. ")
	w("The load generator runs on the same 2 cores as the node and PostgreSQL (\"load generator included\").\n\n")
	w("| | |\n| --- | --- |\n")
	run := map[string]string{}
	if raw, err := os.ReadFile(filepath.Join(*dir, "run.txt")); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				run[k] = v
			}
		}
	}
	date, commit := run["date"], run["commit"]
	if date == "" {
		date = time.Now().UTC().Format("2006-01-02 15:04 MST")
	}
	if commit == "" {
		commit = gitDescribe()
	} else if run["dirty"] != "" {
		commit += " (" + run["dirty"] + ")"
	}
	w("| date (start of the run) | %s |\n", date)
	w("| machine | %d CPUs (%s), %s memory, %s |\n", runtime.NumCPU(), cpuModel(), memTotal(), kernel())
	w("| commit | %s |\n", commit)
	w("| Go | %s |\n", runtime.Version())
	w("| PostgreSQL | %s |\n\n", pgVersion())

	w("## Goals\n\n")
	w("| goal | figure | baseline (same run) | ratio | target | result |\n| --- | --- | --- | --- | --- | --- |\n")
	raw := num(ingest, "figures.raw_rows_per_sec")
	if ingest != nil {
		for _, batch := range []string{"1", "50"} {
			rate := num(ingest, "figures.max_batch"+batch+".messages_per_sec")
			w("| Durable ingest, batch %s (acknowledged = in the inbox) | %.0f msg/s | raw batched insert %.0f rows/s | %.0f%% | ≥ 50%% | %s |\n",
				batch, rate, raw, 100*rate/raw, passMiss(rate/raw >= 0.5, fmt.Sprintf("%.0f%% short", 100*(0.5-rate/raw))))
		}
	}
	if processed != nil {
		praw := num(processed, "figures.raw_rows_per_sec")
		prate := num(processed, "figures.processed_per_sec_second_half")
		offered := num(processed, "params.rate")
		acked := num(processed, "figures.sustained.messages_per_sec")
		bounded := processed["figures"].(map[string]any)["depth_bounded"] == true
		w("| Fully processed, sustained %.0f s at %.0f msg/s offered (%.0f acked), inbox depth bounded | %.0f msg/s processed; depth %v→%v (bounded: %v) | raw batched insert %.0f rows/s | %.0f%% | ≥ 25%%, bounded | %s |\n",
			num(processed, "figures.sustained.seconds"), offered, acked, prate,
			num(processed, "figures.depth_max_first_half"), num(processed, "figures.depth_at_end"), bounded, praw, 100*prate/praw,
			passMiss(bounded && prate/praw >= 0.25, fmt.Sprintf("processing reached %.0f%% of raw", 100*prate/praw)))
	}
	if capacity != nil {
		w("| (context) Processing at a fixed %.0f msg/s, batch %.0f, %.0f s | %.0f msg/s processed; depth %v→%v (bounded: %v) | raw %.0f rows/s | %.0f%% | — | (reported) |\n",
			num(capacity, "params.rate"), num(capacity, "params.batch"), num(capacity, "figures.sustained.seconds"),
			num(capacity, "figures.processed_per_sec_second_half"), num(capacity, "figures.depth_max_first_half"),
			num(capacity, "figures.depth_at_end"), get(capacity, "figures.depth_bounded"), num(capacity, "figures.raw_rows_per_sec"),
			100*num(capacity, "figures.processed_per_sec_second_half")/max(num(capacity, "figures.raw_rows_per_sec"), 1))
	}
	if ingest != nil && num(ingest, "figures.ack_at_rate.ack_latency.count") > 0 {
		p99 := num(ingest, "figures.ack_at_rate.ack_latency.p99_ms")
		target := num(ingest, "params.ack_rate")
		got := num(ingest, "figures.ack_at_rate.messages_per_sec")
		bare := num(ingest, "figures.bare_http_batch1.ack_latency.p99_ms")
		ok := p99 <= 20 && got >= 0.95*target
		w("| Ack p99 at %.0f msg/s (batch 1; latency from when each request was due) | p99 %.1f ms, %.0f msg/s achieved, %v not sent (fell behind) | bare net/http+HMAC as fast as possible: p99 %.1f ms at %.0f req/s | — | ≤ 20 ms | %s |\n",
			target, p99, got, num(ingest, "figures.ack_at_rate.not_sent_fell_behind"), bare, num(ingest, "figures.bare_http_batch1.messages_per_sec"),
			passMiss(ok, fmt.Sprintf("%.1f× the target", p99/20)))
	}
	if e2e != nil {
		p99 := num(e2e, "figures.webhook_to_console.p99_ms")
		missed := num(e2e, "figures.frames_missed_after_wait")
		w("| Webhook → console p99 at %.0f msg/s, %.0f consoles over %.0f tenants | p50 %.1f / p99 %.1f / max %.1f ms; %.0f msg/s acked; %.0f of %.0f frames missed | — | — | ≤ 50 ms | %s |\n",
			num(e2e, "params.rate"), num(e2e, "params.consoles"), num(e2e, "params.tenants"),
			num(e2e, "figures.webhook_to_console.p50_ms"), p99, num(e2e, "figures.webhook_to_console.max_ms"),
			num(e2e, "figures.webhooks.messages_per_sec"), missed, num(e2e, "figures.frames_expected"),
			passMiss(p99 <= 50 && missed == 0, fmt.Sprintf("%.1f× the target", p99/50)))
	}
	if e2eLow != nil {
		w("| (context) Webhook → console at %.0f msg/s, %.0f consoles | p50 %.1f / p99 %.1f / max %.1f ms; %.0f of %.0f frames not received | — | — | — | (reported) |\n",
			num(e2eLow, "params.rate"), num(e2eLow, "params.consoles"), num(e2eLow, "figures.webhook_to_console.p50_ms"),
			num(e2eLow, "figures.webhook_to_console.p99_ms"), num(e2eLow, "figures.webhook_to_console.max_ms"),
			num(e2eLow, "figures.frames_missed_after_wait"), num(e2eLow, "figures.frames_expected"))
	}
	if sockets != nil {
		ours := num(sockets, "figures.crm.rss_bytes_per_session")
		bare := num(sockets, "figures.bare_gobwas.rss_bytes_per_session")
		n := num(sockets, "figures.crm.sessions")
		w("| Idle socket RSS at %.0f sessions (goal is at 50k: see below) | %.0f B/session | bare gobwas/ws %.0f B/socket | %.2f× | ≤ 10 KB and ≤ 1.5× | %s |\n",
			n, ours, bare, ours/bare, passMiss(ours <= 10240 && ours/bare <= 1.5, fmt.Sprintf("%.0f B, %.2f×", ours, ours/bare)))
		w("| One event to all %.0f idle sessions | %.1f ms (received by %.0f) | — | — | (reported) | — |\n",
			n, num(sockets, "figures.one_event_to_all_ms"), num(sockets, "figures.one_event_received_by"))
	}
	if send != nil {
		p99 := num(send, "figures.send_to_provider.p99_ms")
		w("| Agent send → provider call p99 (%.0f sends/s over %.0f tenants) | p50 %.1f / p99 %.1f / max %.1f ms | — | — | ≤ 20 ms | %s |\n",
			num(send, "params.rate"), num(send, "params.tenants"), num(send, "figures.send_to_provider.p50_ms"), p99,
			num(send, "figures.send_to_provider.max_ms"), passMiss(p99 <= 20, fmt.Sprintf("%.1f× the target", p99/20)))
	}
	if botRes != nil {
		phases, _ := get(botRes, "figures.phases").([]any)
		failed := 0
		for _, x := range phases {
			if p, _ := x.(map[string]any); p["failed"] != nil {
				failed++
			}
		}
		if want := 2 * int(num(botRes, "params.pairs")); failed > 0 || len(phases) < want {
			w("| (context) Chatbot: processing with a one-question flow vs without | %d of %d phases measured: the node stopped answering (see the chatbot section and NOTES) | — | — | — | (reported) |\n",
				len(phases)-failed, want)
		} else {
			env := ""
			if e, _ := get(botRes, "params.node_env").(string); e != "" {
				env = ", node run with `" + e + "`"
			}
			w("| (context) Chatbot: inbound messages stored with a one-question flow active vs without (same node, alternating phases, as fast as stored%s) | %.0f vs %.0f msg/s; CPU per message node %.0f vs %.0f µs, PostgreSQL %.0f vs %.0f µs | tenants without flows, same run | %.2f× | — | (reported) |\n",
				env, num(botRes, "figures.processed_flow_per_sec"), num(botRes, "figures.processed_no_flow_per_sec"),
				num(botRes, "figures.node_cpu_us_per_msg_flow"), num(botRes, "figures.node_cpu_us_per_msg_no_flow"),
				num(botRes, "figures.pg_cpu_us_per_msg_flow"), num(botRes, "figures.pg_cpu_us_per_msg_no_flow"),
				num(botRes, "figures.flow_to_no_flow"))
		}
		w("| (context) Chatbot: webhook → the bot's reply at the provider, %.0f msg/s offered | p50 %.1f / p99 %.1f / max %.1f ms; %.0f msg/s acked, %.0f of %.0f replies matched | — | — | — | (reported) |\n",
			num(botRes, "params.latency_rate"), num(botRes, "figures.bot_reply.p50_ms"), num(botRes, "figures.bot_reply.p99_ms"),
			num(botRes, "figures.bot_reply.max_ms"), num(botRes, "figures.latency_webhooks.messages_per_sec"),
			num(botRes, "figures.bot_reply.count"), num(botRes, "figures.bot_reply_acked"))
	}
	if campaignRes != nil {
		writeCampaignGoals(w, campaignRes)
	}
	w("\n")

	if ingest != nil {
		w("## Ingest (`loadgen ingest`)\n\n")
		w("%v tenants, %v sandbox connections, %v contacts each; %v requests in flight. Signed WhatsApp webhooks (Meta's wire format, X-Hub-Signature-256) to `POST /webhooks/sandbox/:id`.\n\n",
			num(ingest, "params.tenants"), num(ingest, "params.connections"), num(ingest, "params.contacts_per_connection"), num(ingest, "params.concurrency"))
		w("| phase | msg/s | requests | ack p50 | p99 | max | errors / non-200 |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, k := range []string{"bare_http_batch1", "bare_http_batch50", "ack_at_rate", "max_batch1", "max_batch50"} {
			p := "figures." + k + "."
			if num(ingest, p+"requests") == 0 {
				continue
			}
			w("| %s | %.0f | %.0f | %.1f ms | %.1f ms | %.1f ms | %.0f / %.0f |\n", phaseName(k), num(ingest, p+"messages_per_sec"), num(ingest, p+"requests"),
				num(ingest, p+"ack_latency.p50_ms"), num(ingest, p+"ack_latency.p99_ms"), num(ingest, p+"ack_latency.max_ms"),
				num(ingest, p+"errors"), num(ingest, p+"non_200"))
		}
		w("\nStorage baseline (the rows the node writes for these webhooks, made by its own parser and encoding, inserted into `CREATE TABLE … (LIKE inbound_events INCLUDING ALL)`, batches of %.0f rows, %.0f writers, each batch its own transaction): multi-row INSERT %.0f rows/s, COPY %.0f rows/s.\n\n",
			num(ingest, "figures.raw_insert.batch"), num(ingest, "figures.raw_insert.writers"), num(ingest, "figures.raw_insert.rows_per_sec"), num(ingest, "figures.raw_copy.rows_per_sec"))
		w("Exactly once: %.0f messages acknowledged, %.0f stored (in the inbox, or processed: a message keyed by its id), %.0f missing, %.0f duplicated.\n\n",
			num(ingest, "figures.exactly_once.acked"), num(ingest, "figures.exactly_once.stored"), num(ingest, "figures.exactly_once.missing"), num(ingest, "figures.exactly_once.duplicated"))
	}
	for _, p := range []struct {
		res   map[string]any
		title string
	}{{processed, "Sustained processing at the goal's rate (`loadgen ingest -processed`)"}, {capacity, "Sustained processing at a lower fixed rate (`loadgen ingest -processed -rate …`)"}} {
		if p.res == nil {
			continue
		}
		m := p.res
		w("## %s\n\n", p.title)
		w("Offered %.0f msg/s (%.0f%% of the raw rate %.0f rows/s measured first in the same run), batches of %.0f, for %.0f s. Acked: %s. Processed (stored as messages and published to consoles) over the second half: %.0f msg/s. Inbox depth (unprocessed rows) sampled every second: ",
			num(m, "params.rate"), 100*num(m, "params.fraction_of_raw"), num(m, "figures.raw_rows_per_sec"), num(m, "params.batch"),
			num(m, "figures.sustained.seconds"), driveLine(m, "figures.sustained."), num(m, "figures.processed_per_sec_second_half"))
		if s, ok := get(m, "figures.depth_samples").([]any); ok {
			var parts []string
			for i, x := range s {
				if i%5 == 4 || i == len(s)-1 {
					d := x.(map[string]any)
					parts = append(parts, fmt.Sprintf("%.0fs: %.0f", d["t"], d["depth"]))
				}
			}
			w("%s. ", strings.Join(parts, ", "))
		}
		w("Bounded: %v. Unprocessed after the load stopped: %.0f (waited %.1f s; no wait when the depth ran away).\n\n",
			get(m, "figures.depth_bounded"), num(m, "figures.depth_after_drain"), num(m, "figures.drain_seconds"))
	}
	for _, p := range []struct {
		res   map[string]any
		title string
	}{{e2e, "Webhook → console at the goal's rate (`loadgen e2e`)"}, {e2eLow, "Webhook → console at a rate processing keeps up with (`loadgen e2e -rate …`)"}} {
		if p.res == nil {
			continue
		}
		m := p.res
		w("## %s\n\n", p.title)
		w("%.0f consoles (WebSocket, %.0f per tenant) while webhooks arrive at %.0f msg/s for %.0f s: %s. Webhook → console frame (from the webhook POST to the `message.created` frame on each console of the tenant): %s. Frames expected %.0f, not received %.0f (after waiting %.1f s more), duplicated %.0f.\n\n",
			num(m, "params.consoles"), num(m, "params.consoles")/num(m, "params.tenants"), num(m, "params.rate"), num(m, "params.duration_s"),
			driveLine(m, "figures.webhooks."), latLine(m, "figures.webhook_to_console."), num(m, "figures.frames_expected"),
			num(m, "figures.frames_missed_after_wait"), num(m, "figures.drain_wait_s"), num(m, "figures.frames_duplicated"))
		if get(m, "params.prewarm") == true {
			w("The %.0f conversations (%.0f contacts per connection) were created first, one message each, and processed before the consoles connected: the measured messages go to existing conversations.\n\n",
				num(m, "params.tenants")*num(m, "params.contacts_per_connection"), num(m, "params.contacts_per_connection"))
		}
	}
	if sockets != nil {
		w("## Idle sockets (`loadgen sockets`)\n\n")
		for _, k := range []string{"crm", "bare_gobwas"} {
			p := "figures." + k + "."
			w("- %s: %.0f sockets connected in %.1f s; VmRSS %.0f → %.0f (half) → %.0f KB; %.0f B per socket as the slope over the second half (%.0f B over the whole).\n",
				map[string]string{"crm": "crm node (authenticated sessions, one tenant)", "bare_gobwas": "bare gobwas/ws server (one reader goroutine per socket)"}[k],
				num(sockets, p+"sessions"), num(sockets, p+"connect_seconds"), num(sockets, p+"rss_before_kb"), num(sockets, p+"rss_half_kb"),
				num(sockets, p+"rss_after_kb"), num(sockets, p+"rss_bytes_per_session"), num(sockets, p+"rss_bytes_per_session_whole"))
		}
		w("- One webhook to the tenant: its `message.created` frame reached all %.0f sessions %.1f ms after the POST.\n",
			num(sockets, "figures.one_event_received_by"), num(sockets, "figures.one_event_to_all_ms"))
		w("- **50k sessions cannot be run on this machine**: a process may hold at most 20,000 open files (hard limit), so one node holds at most ~19.9k sockets. The figure above is at the largest standard size; the per-session figure is a slope, so it does not depend on the count until memory pressure.\n\n")
	}
	if send != nil {
		w("## Agent sends (`loadgen send`)\n\n")
		w("%.0f sends/s (%.0f accepted, %.0f failed) through `POST /api/v1/conversations/:id/messages` to sandbox connections (status delays %.0f ms). ",
			num(send, "figures.sends_per_sec"), num(send, "figures.sends_accepted"), num(send, "figures.sends_failed"), num(send, "params.sandbox_status_delay_ms"))
		w("POST → 202: %s. Send → provider call (the sandbox's `received_at`): %s (%.0f never reached it). Send → console shows sent: %s; delivered: %s; read: %s.\n\n",
			latLine(send, "figures.post_to_202."), latLine(send, "figures.send_to_provider."), num(send, "figures.sends_not_seen_by_provider"),
			latLine(send, "figures.send_to_console_sent."), latLine(send, "figures.send_to_console_delivered."), latLine(send, "figures.send_to_console_read."))
	}

	if botRes != nil {
		writeBotSection(w, botRes)
	}
	if campaignRes != nil {
		writeCampaignSection(w, campaignRes)
	}

	w("## Profiles\n\n")
	w("CPU profiles of the node (its own process, `go tool pprof -top` on `/debug/pprof/profile`; the binary is built with a `-overlay` file that serves net/http/pprof on `CRM_PPROF_ADDR`, the server's sources are unchanged).\n\n")
	for _, p := range []struct {
		res  map[string]any
		key  string
		name string
	}{{ingest, "profiles.ingest_cpu_top", "Ingest, as fast as acknowledged, batch 1"}, {processed, "profiles.processing_cpu_top", "Sustained processing"},
		{capacity, "profiles.processing_cpu_top", "Sustained processing at the lower fixed rate"},
		{e2e, "profiles.e2e_cpu_top", "Fan-out: webhooks to 1,000 consoles"},
		{botRes, "profiles.bot_cpu_top", "Chatbot: processing with the one-question flow active"},
		{campaignRes, "profiles.campaign_cpu_top", "Campaign at its fastest pace, with agents replying"}} {
		top, _ := get(p.res, p.key).(string)
		if top == "" {
			continue
		}
		w("### %s\n\n%s\n<details><summary>pprof -top (flat, then cumulative)</summary>\n\n```\n%s```\n</details>\n\n", p.name, profileBreakdown(top), trimTop(top))
	}

	if raw, err := os.ReadFile(filepath.Join(*dir, "micro.txt")); err == nil {
		w("## Go micro-benchmarks\n\n```\n%s```\n\n", string(raw))
	}
	if raw, err := os.ReadFile(filepath.Join(*dir, "commands.tsv")); err == nil {
		w("## Commands (as run by scripts/bench.sh)\n\n| step | seconds | command |\n| --- | --- | --- |\n")
		sc := bufio.NewScanner(strings.NewReader(string(raw)))
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), "\t", 3)
			if len(f) == 3 {
				w("| %s | %s | `%s` |\n", f[0], f[1], f[2])
			}
		}
		w("\n")
	}
	if *notes != "" {
		if raw, err := os.ReadFile(*notes); err == nil {
			w("%s\n", string(raw))
		}
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func phaseName(k string) string {
	return map[string]string{"bare_http_batch1": "baseline: bare net/http + HMAC, batch 1, as fast as possible",
		"bare_http_batch50": "baseline: bare net/http + HMAC, batch 50", "ack_at_rate": "node, fixed rate, batch 1",
		"max_batch1": "node, as fast as acknowledged, batch 1", "max_batch50": "node, as fast as acknowledged, batch 50"}[k]
}

func passMiss(ok bool, miss string) string {
	if ok {
		return "**pass**"
	}
	return "**miss** (" + miss + ")"
}

func get(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func num(m map[string]any, path string) float64 {
	switch v := get(m, path).(type) {
	case float64:
		return v
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

func latLine(m map[string]any, p string) string {
	return fmt.Sprintf("p50 %.1f / p90 %.1f / p99 %.1f / max %.1f ms (n=%.0f)", num(m, p+"p50_ms"), num(m, p+"p90_ms"), num(m, p+"p99_ms"), num(m, p+"max_ms"), num(m, p+"count"))
}

func driveLine(m map[string]any, p string) string {
	return fmt.Sprintf("%.0f msg/s acked, ack %s, %.0f errors, %.0f non-200, %.0f not sent", num(m, p+"messages_per_sec"),
		latLine(m, p+"ack_latency."), num(m, p+"errors"), num(m, p+"non_200"), num(m, p+"not_sent_fell_behind"))
}

// profileBreakdown picks, from pprof's cumulative listing, the share of the
// node's CPU under the functions that name the stages of the hot paths.
func profileBreakdown(top string) string {
	stages := []struct{ fn, name string }{
		{"net/http.(*conn).serve", "HTTP serving (all requests)"},
		{"crm/httpapi.(*Server).webhookRoutes.(*Server).webhookPost", "webhook handler"},
		{"crm/channels/meta.ParseWebhook", "webhook parsing (encoding/json)"},
		{"crm/persistence.(*InboxWriter).flush", "inbox group commit"},
		{"crm/actors.(*Engine).dispatchLoop", "engine dispatch workers"},
		{"crm/persistence.(*DB).ResolveContact", "contact resolution"},
		{"crm/actors.(*conversationGrain).Receive", "conversation grains"},
		{"crm/actors.(*conversationGrain).inboundAlone", "messages stored in their own transaction (tenants with flows)"},
		{"crm/actors.(*conversationGrain).botStep", "chatbot steps"},
		{"crm/actors.(*connectionGrain)", "connection grains (sends)"},
		{"crm/channels/sandbox.(*Sandbox).serveGraph", "sandbox Graph endpoint (the provider)"},
		{"crm/persistence.(*DB).inTx", "database transactions (all)"},
		{"github.com/jackc/pgx/v5/pgconn.(*PgConn).flushWithPotentialWriteReadDeadlock", "writes to PostgreSQL sockets"},
		{"crm/realtime.(*Session).write", "socket writes"},
		{"crm/realtime.(*Gateway)", "gateway"},
		{"runtime.gcBgMarkWorker", "garbage collector"},
		{"syscall.Syscall", "system calls (all)"},
	}
	var total string
	sc := bufio.NewScanner(strings.NewReader(top))
	found := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Duration:") && total == "" {
			total = line
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		name := strings.Join(f[5:], " ")
		for _, st := range stages {
			if _, done := found[st.name]; !done && strings.HasPrefix(name, st.fn) {
				found[st.name] = f[4]
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", total)
	for _, st := range stages {
		if v, ok := found[st.name]; ok {
			fmt.Fprintf(&b, "- %s: %s of samples (cumulative)\n", st.name, v)
		}
	}
	return b.String()
}

func trimTop(top string) string {
	var out []string
	for _, l := range strings.Split(top, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, v, _ := strings.Cut(l, ":")
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	raw, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%f", &kb)
			return fmt.Sprintf("%.1f GB", kb/1024/1024)
		}
	}
	return "unknown"
}

func kernel() string {
	out, _ := exec.Command("uname", "-sr").Output()
	return strings.TrimSpace(string(out))
}

func gitDescribe() string {
	head, _ := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	subject, _ := exec.Command("git", "log", "-1", "--format=%s").Output()
	s := strings.TrimSpace(string(head))
	if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", "*.go", "go.mod", "go.sum").Output(); len(strings.TrimSpace(string(st))) > 0 {
		s += " (with uncommitted Go changes in the working tree)"
	}
	subj := strings.TrimSpace(string(subject))
	if len(subj) > 90 {
		subj = subj[:90] + "…"
	}
	return s + " — " + subj
}

func pgVersion() string {
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
		"SELECT version() || '; synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' || current_setting('shared_buffers')").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// writeBotSection reports `loadgen bot`: each processing phase, then the
// reply latency.
func writeBotSection(w func(string, ...any), m map[string]any) {
	w("## Chatbot (`loadgen bot`)\n\n")
	w("%.0f tenants without flows and %.0f with a one-question flow active (trigger `always`: a message starts the flow, which asks a free-text question, or answers it, which sends a thank-you quoting the answer and ends), %.0f sandbox connections each, %.0f contacts per connection. ",
		num(m, "params.tenants_per_set"), num(m, "params.tenants_per_set"), num(m, "params.connections_per_tenant"), num(m, "params.contacts_per_connection"))
	w("Every conversation exists before the measurements (one message each, before the flows are published), and on the tenants with the flow each has its question waiting (prewarm: %.0f conversations, then one message to each of the %.0f conversations with the flow at 200 msg/s: %.0f acknowledged, %.0f bot steps; %.1f s in all). ",
		num(m, "figures.prewarm.conversations"), num(m, "figures.prewarm.flow_starts"), num(m, "figures.prewarm.flow_starts_acked"),
		num(m, "figures.prewarm.bot_steps"), num(m, "figures.prewarm.seconds"))
	if env, _ := get(m, "params.node_env").(string); env != "" {
		w("The node ran with `%s` (not its defaults). ", env)
	}
	w("The sandbox's status webhooks are delayed past the run (%.0f ms), so a bot step's cost is the step and its send to the provider, not the three statuses that follow.\n\n", num(m, "params.sandbox_status_delay_ms"))
	w("**Processing**: phases of %.0f s, back to back, alternating; each starts on an empty inbox and is offered the same load: webhooks of %.0f messages as fast as the node stores them, with at most %.0f messages acknowledged and not yet stored, and at most %.0f msg/s. Counted after the first %.1f s: inbound messages stored (`crm_inbox_processed_total{outcome=\"stored\"}`), and the CPU time (`/proc`) of the node and of this database's PostgreSQL client backends per message stored.\n\n",
		num(m, "params.phase_s"), num(m, "params.batch"), num(m, "params.window"), num(m, "params.rate"), num(m, "params.settle_s"))
	w("| phase | flows | stored msg/s | bot steps/s | acked msg/s | node CPU / msg | PostgreSQL CPU / msg | longest stall | processing errors | non-200 / errors | saturated |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	phases, _ := get(m, "figures.phases").([]any)
	for i, x := range phases {
		p, _ := x.(map[string]any)
		set := "none"
		if p["set"] == "flow" {
			set = "one question"
		}
		if f, _ := p["failed"].(string); f != "" {
			w("| %d | %s | failed: %s | | | | | | | | |\n", i+1, set, f)
			continue
		}
		w("| %d | %s | %.0f | %.0f | %.0f | %.0f µs | %.0f µs | %.1f s | %.0f | %.0f / %.0f | %v |\n", i+1, set, num(p, "processed_per_sec"), num(p, "bot_steps_per_sec"),
			num(p, "acked_per_sec"), num(p, "node_cpu_us_per_msg"), num(p, "pg_cpu_us_per_msg"), num(p, "longest_stall_s"),
			num(p, "processing_errors"), num(p, "non_200"), num(p, "errors"), p["saturated"])
	}
	w("\nMean: %.0f msg/s stored without flows, %.0f with the flow (%.2f×).\n\n", num(m, "figures.processed_no_flow_per_sec"),
		num(m, "figures.processed_flow_per_sec"), num(m, "figures.flow_to_no_flow"))
	w("**Reply latency**: %.0f msg/s (batch 1) for %.0f s to the tenants with the flow, before the processing phases: %s. ",
		num(m, "params.latency_rate"), num(m, "params.latency_s"), driveLine(m, "figures.latency_webhooks."))
	w("From each webhook POST to the sandbox Graph endpoint receiving the bot's reply to that message (its `received_at` in the sandbox outbox, read after the load: the provider call): %s; ", latLine(m, "figures.bot_reply."))
	w("replies to an answer (the thank-you, which quotes the message): %s; replies that started the flow (the question, matched per contact in order): %s. ",
		latLine(m, "figures.bot_reply_to_answer."), latLine(m, "figures.bot_reply_to_start."))
	w("%.0f messages acknowledged, %.0f replies matched, %.0f starts not matched (%.0f contacts), %.0f outbox entries not recognised, %.0f outbox reads failed.\n\n",
		num(m, "figures.bot_reply_acked"), num(m, "figures.bot_reply.count"), num(m, "figures.bot_reply_unmatched_starts"),
		num(m, "figures.bot_reply_contacts_skipped"), num(m, "figures.bot_reply_unknown_outbox_entries"), num(m, "figures.bot_reply_outbox_read_errors"))
}

// writeCampaignGoals adds the campaign goals' rows: pacing error per pace
// (≤ 1%), duplicates (0), and agents' replies during the fastest campaign.
func writeCampaignGoals(w func(string, ...any), m map[string]any) {
	outcomes, _ := get(m, "figures.campaigns").([]any)
	for _, o := range outcomes {
		c, _ := o.(map[string]any)
		errPct := num(c, "error_pct")
		result := "**pass**"
		if errPct > 1 || num(c, "sent") < num(c, "recipients") {
			result = fmt.Sprintf("**miss** (%.1f× the target)", errPct)
		}
		w("| Campaign pacing at %.0f/min, %.0f recipients: |actual − planned| / planned | %.3f%% (%.2f s for %.2f s planned; %.0f of %.0f sent) | — | — | ≤ 1%% | %s |\n",
			num(c, "rate_per_minute"), num(c, "recipients"), errPct, num(c, "actual_s"), num(c, "planned_s"), num(c, "sent"), num(c, "recipients"), result)
	}
	var dups float64
	for _, o := range outcomes {
		c, _ := o.(map[string]any)
		dups += num(c, "duplicates")
	}
	result := "**pass**"
	if dups > 0 {
		result = "**miss**"
	}
	w("| Campaign duplicates (provider calls beyond one per recipient, all paces) | %.0f | — | — | 0 | %s |\n", dups, result)
	w("| (context) Agent reply → provider p99 during the %.0f/min campaign vs none (same number, %.0f replies/s) | %.1f ms vs %.1f ms (p50 %.1f vs %.1f) | no campaign, same run | %.1f× | — | (reported) |\n",
		num(m, "figures.agent_busy_campaign_rate_per_minute"), num(m, "params.agent_rate"),
		num(m, "figures.agent_to_provider_busy.p99_ms"), num(m, "figures.agent_to_provider_idle.p99_ms"),
		num(m, "figures.agent_to_provider_busy.p50_ms"), num(m, "figures.agent_to_provider_idle.p50_ms"),
		num(m, "figures.agent_to_provider_busy.p99_ms")/max(num(m, "figures.agent_to_provider_idle.p99_ms"), 0.001))
}

// writeCampaignSection reports `loadgen campaign`: each campaign's pace.
func writeCampaignSection(w func(string, ...any), m map[string]any) {
	w("## Campaigns (`loadgen campaign`)\n\n")
	w("One tenant, one sandbox connection with `CRM_SEND_RATE=%v` (campaigns get 80%% of it). Each campaign goes to its own labelled contacts with the sandbox's approved template, one after another. ", get(m, "params.send_rate"))
	w("Actual = the last recipient's `sent_at` − the first's (when its message was first known sent: the provider's answer or its sent webhook); planned = (N − 1) intervals. Provider calls are the node's `crm_sends_total{outcome=\"sent\"}` over the campaign, less the agents' replies.\n\n")
	w("| rate / min | recipients | planned s | actual s | error | provider calls | sent | duplicates | first send after start | final status | recipients at the end |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	outcomes, _ := get(m, "figures.campaigns").([]any)
	for _, o := range outcomes {
		c, _ := o.(map[string]any)
		w("| %.0f | %.0f | %.2f | %.2f | %.3f%% | %.0f | %.0f | %.0f | %.2f s | %v | %v |\n", num(c, "rate_per_minute"), num(c, "recipients"),
			num(c, "planned_s"), num(c, "actual_s"), num(c, "error_pct"), num(c, "provider_calls"), num(c, "sent"), num(c, "duplicates"),
			num(c, "start_to_first_s"), get(c, "status"), get(c, "stats"))
	}
	w("\nAgent replies (request → provider answer), %.0f a second for %.0f s: with no campaign %s; during the %.0f/min campaign %s.\n\n",
		num(m, "params.agent_rate"), num(m, "params.agent_duration_s"), latLine(m, "figures.agent_to_provider_idle."),
		num(m, "figures.agent_busy_campaign_rate_per_minute"), latLine(m, "figures.agent_to_provider_busy."))
}
