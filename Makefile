# The README's two commands: `make run` and `make test`.
SHELL := /usr/bin/env bash
export PATH := $(PATH):$(shell go env GOPATH)/bin
GO ?= go
BIN := bin/crm
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build ui ui-deps ui-test run test test-go check-generated generate lint bench clean secret

all: build

## build: the UI (when its sources exist) and the single binary
build: ui
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/crm

# The console's build inputs (tests excluded): ui/dist is rebuilt only when one of them is newer
# than the index.html the last build wrote (or there is none), so `make run` does not spend a
# minute on an unchanged UI.
UI_SOURCES := $(shell find ui/src ui/index.html ui/package.json ui/package-lock.json ui/vite.config.ts \
	ui/tsconfig.json ui/tailwind.config.js ui/postcss.config.js -type f \
	-not -name '*.test.ts' -not -name '*.test.tsx' -not -path 'ui/src/test/*' 2>/dev/null)
UI_STAMP := ui/dist/index.html

## ui: build the console into ui/dist when its sources changed (skipped until ui/package.json exists)
ui: ui-deps
	@if [ -f ui/package.json ]; then $(MAKE) --no-print-directory $(UI_STAMP); fi

$(UI_STAMP): $(UI_SOURCES)
	cd ui && npm run build
	@touch $@

# npm ci again whenever the lock file is newer than what is installed.
ui-deps:
	@if [ -f ui/package.json ] && ! [ ui/node_modules/.package-lock.json -nt ui/package-lock.json ]; then \
		cd ui && npm ci --no-audit --no-fund; fi

## ui-test: the console's component tests (Vitest)
ui-test: ui-deps
	@if [ -f ui/package.json ]; then cd ui && npm test; fi

var/secret.key:
	@mkdir -p var && umask 077 && head -c 32 /dev/urandom | base64 > var/secret.key

var/license.key: | build
	@mkdir -p var && umask 077 && ./$(BIN) license keygen | sed -n 's/^CRM_LICENSE_SIGNING_KEY=//p' > var/license.key

## run: one node with embedded defaults and the demo tenant; prints the URL and logins
run: build var/secret.key var/license.key
	@DATABASE_URL="$$(./scripts/dev-postgres.sh)" && export DATABASE_URL && \
	export CRM_SECRET_KEY="$${CRM_SECRET_KEY:-$$(cat var/secret.key)}" && \
	export CRM_LICENSE_SIGNING_KEY="$${CRM_LICENSE_SIGNING_KEY:-$$(cat var/license.key)}" && \
	export CRM_MEDIA_DIR="$${CRM_MEDIA_DIR:-$$PWD/var/media}" && \
	exec ./$(BIN) serve --demo --create-database

## test: every test: gofmt and vet, generated code, the console's Vitest tests and build, then the Go
## tests (unit, integration against real PostgreSQL, clusters, fuzz seeds, the browser end-to-end run).
## One package at a time (-p 1): the cluster tests measure failover times on a 2-core machine.
test: lint check-generated ui-test ui test-go

test-go:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432 (TEST_DATABASE_URL=$${TEST_DATABASE_URL:-unset}); .ci/run starts it"; [ -n "$${TEST_DATABASE_URL:-}" ]; }
	$(GO) test -count=1 -p 1 -timeout 25m ./...

## generate: regenerate the protobuf Go code
generate:
	cd proto && $(GO) generate

## check-generated: fail when generated code is stale
check-generated:
	@if ls proto/*.proto >/dev/null 2>&1 && command -v protoc >/dev/null && command -v protoc-gen-go >/dev/null; then \
		tmp=$$(mktemp -d) && cp -r proto/. $$tmp/ && (cd $$tmp && protoc --proto_path=. --go_out=. --go_opt=paths=source_relative *.proto) && \
		for f in $$tmp/*.pb.go; do cmp -s $$f proto/$$(basename $$f) || { echo "stale generated code: proto/$$(basename $$f); run make generate"; rm -rf $$tmp; exit 1; }; done; \
		rm -rf $$tmp; echo "generated code is up to date"; \
	else echo "protoc or protoc-gen-go missing: skipping the generated-code check"; fi

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: load scenarios (cmd/loadgen) and Go micro-benchmarks → BENCHMARKS.md (≤ 10 min, needs PostgreSQL)
bench:
	./scripts/bench.sh

clean:
	rm -rf bin
