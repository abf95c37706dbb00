#!/usr/bin/env bash
# make bench: the standard load scenarios (cmd/loadgen) and the Go
# micro-benchmarks, then BENCHMARKS.md. Needs PostgreSQL on 127.0.0.1:5432
# (or TEST_DATABASE_URL); every node and database it makes is its own and
# removed at the end. Bounded: each scenario has a hard -timeout; the whole
# set takes about 13 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${BENCH_DIR:-$(mktemp -d -t crm-bench-XXXXXX)}"
mkdir -p "$out"
echo "bench: results in $out"
: > "$out/commands.tsv"
# What is measured: the commit (and whether Go files differ from it) and when.
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown) — $(git log -1 --format=%s 2>/dev/null | cut -c1-90)"
	git status --porcelain --untracked-files=no -- '*.go' go.mod go.sum 2>/dev/null | grep -q . && echo "dirty=with uncommitted Go changes in the working tree when the run started"
} > "$out/run.txt" || true

pg_isready -q -h 127.0.0.1 -p 5432 || [ -n "${TEST_DATABASE_URL:-}" ] || {
	echo "bench: PostgreSQL is not answering on 127.0.0.1:5432 (set TEST_DATABASE_URL)"; exit 1; }

go build -o "$out/loadgen" ./cmd/loadgen
crm_bin="$("$out/loadgen" build-crm "$out")"
lg=("$out/loadgen")

step() { # step NAME COMMAND...: run, time, log the command
	local name="$1"; shift
	local start end
	echo; echo "== $name: $*"
	start=$(date +%s.%N)
	"$@" 2>>"$out/$name.stderr" || { echo "bench: $name failed (stderr in $out/$name.stderr)"; tail -20 "$out/$name.stderr"; }
	end=$(date +%s.%N)
	printf "%s\t%.0f\t%s\n" "$name" "$(awk "BEGIN{print $end - $start}")" "$*" | sed "s#$out#\$BENCH_DIR#g" >> "$out/commands.tsv"
}

common=(-crm-bin "$crm_bin" -profile-dir "$out")
# The durable-ingest goal measures the inbox ("acknowledged, in the inbox"):
# the node runs with load shedding off (CRM_MAX_BACKLOG=-1) so that every
# webhook is stored however far processing falls behind. Every other step
# runs the node's defaults, shedding included.
step ingest env CRM_MAX_BACKLOG=-1 "${lg[@]}" ingest "${common[@]}" -server-log "$out/ingest.server.log" -out "$out/ingest.json" \
	-tenants 20 -connections 2 -contacts 500 -concurrency 128 -duration 15s -ack-rate 5000 -ack-duration 15s \
	-baseline-duration 6s -profile-seconds 10 -timeout 4m
step processed "${lg[@]}" ingest -processed "${common[@]}" -server-log "$out/processed.server.log" -out "$out/processed.json" \
	-tenants 20 -connections 2 -contacts 500 -concurrency 128 -fraction 0.25 -processed-duration 60s \
	-baseline-duration 5s -profile-seconds 10 -timeout 4m
# What the node does sustain: a fixed rate below the goal's, batch 1.
step capacity "${lg[@]}" ingest -processed "${common[@]}" -server-log "$out/capacity.server.log" -out "$out/capacity.json" \
	-tenants 20 -connections 2 -contacts 10 -concurrency 64 -rate 300 -batch 1 -processed-duration 30s \
	-baseline-duration 4s -profile-seconds 8 -timeout 3m
step e2e "${lg[@]}" e2e "${common[@]}" -server-log "$out/e2e.server.log" -out "$out/e2e.json" \
	-tenants 100 -consoles 1000 -contacts 20 -rate 2000 -duration 20s -concurrency 256 -profile-seconds 10 -timeout 4m
# The same consoles at a rate processing keeps up with: the latency without a backlog.
step e2e-low "${lg[@]}" e2e "${common[@]}" -server-log "$out/e2e-low.server.log" -out "$out/e2e-low.json" \
	-tenants 100 -consoles 1000 -contacts 20 -rate 200 -duration 15s -concurrency 64 -profile-seconds 0 -timeout 3m
step sockets "${lg[@]}" sockets "${common[@]}" -server-log "$out/sockets.server.log" -out "$out/sockets.json" \
	-sessions 15000 -sources 8 -settle 3s -timeout 4m
step send "${lg[@]}" send "${common[@]}" -server-log "$out/send.server.log" -out "$out/send.json" \
	-tenants 4 -conversations 10 -rate 40 -duration 20s -timeout 3m
# The chatbot: inbound messages stored with a one-question flow active vs
# without (alternating phases), and webhook → the bot's reply at the provider
# at 200 msg/s. About a minute.
step bot "${lg[@]}" bot "${common[@]}" -server-log "$out/bot.server.log" -out "$out/bot.json" \
	-tenants 10 -connections 2 -contacts 25 -window 500 -batch 10 -phase-duration 6s -settle 1500ms -pairs 2 \
	-latency-rate 200 -latency-duration 10s -profile-seconds 4 -timeout 3m
# Campaigns at 20/min, 600/min and 60,000/min (the last as fast as the node
# goes), and agents' replies on the same number with and without one running.
# About three minutes.
step campaign "${lg[@]}" campaign "${common[@]}" -server-log "$out/campaign.server.log" -out "$out/campaign.json" \
	-phases 20:21,600:200,60000:3001 -send-rate 1500 -agent-rate 20 -agent-duration 10s -profile-seconds 4 -timeout 5m
step micro bash -c "go test -run '^\$' -bench . -benchmem -benchtime=200ms -timeout 5m ./... 2>&1 | grep -E '^(Benchmark|ok|FAIL|PASS|goos|goarch|pkg|cpu)' > '$out/micro.txt'"

"${lg[@]}" report -dir "$out" -out BENCHMARKS.md -notes cmd/loadgen/NOTES.md
echo; echo "bench: wrote BENCHMARKS.md (raw results and profiles in $out)"
