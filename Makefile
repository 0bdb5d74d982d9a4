# Atiende — `make run` to try it, `make test` to check it.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
PORT ?= 8080
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/atiende?sslmode=disable
export DATABASE_URL PORT
VENDOR := static/vendor/htmx.min.js static/vendor/Sortable.min.js

.PHONY: build run test bench assets templ postgres chromium check-generated clean

## build: bin/atiende with assets and templates generated
build: assets templ
	$(GO) build -o bin/atiende ./app/cmd/atiende

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## assets: front-end libraries from npm into static/vendor
assets: $(VENDOR)
$(VENDOR): node_modules/.package-lock.json
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js static/vendor/

templ:
	$(GO) tool templ generate -log-level error

postgres:
	@.ci/ensure-postgres

chromium:
	@.ci/ensure-chromium

FAKE_META_PORT ?= 9090

## run: everything a newcomer needs, then serve on http://localhost:$(PORT) in demo mode:
## the Graph API is the local fake (replies get ticks) and a gentle stream of customers writes in.
run: build postgres
	bin/atiende migrate
	bin/atiende demo
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	  bin/atiende fake-meta --port $(FAKE_META_PORT) --app-url http://127.0.0.1:$(PORT) & \
	  (sleep 4; WHATSAPP_GRAPH_URL=http://127.0.0.1:$(FAKE_META_PORT) bin/atiende templates sync >/dev/null 2>&1; bin/atiende simulate --url http://127.0.0.1:$(PORT) --pace team --duration 1h >/tmp/atiende-simulate.log 2>&1 || echo "simulate stopped: see /tmp/atiende-simulate.log") & \
	  WHATSAPP_GRAPH_URL=http://127.0.0.1:$(FAKE_META_PORT) bin/atiende serve

## test: vet, generated code current, gofmt, the whole suite with -race (real PostgreSQL and Chromium)
test: build postgres chromium
	$(GO) vet ./...
	@$(MAKE) --no-print-directory check-generated
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10s ./app/whatsapp/
	$(GO) test -run '^$$' -fuzz '^FuzzHandlers$$' -fuzztime 10s ./app/web/

check-generated:
	@if [ -n "$$(git status --porcelain -- '*_templ.go' 2>/dev/null)" ]; then \
	  echo "generated templ files are not current: run 'make templ' and commit them"; git status --short -- '*_templ.go'; exit 1; fi

## bench: speed and memory figures (not a pass/fail test): webhook ingestion vs pgbench,
## webhook-to-SSE latency, and the board with 200k conversations; then 3 minutes of
## hostile input to every route (FuzzHandlers, 10 s of it in `make test`).
bench: build postgres
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./app/...
	$(GO) test -run '^$$' -fuzz '^FuzzHandlers$$' -fuzztime 3m ./app/web/

clean:
	rm -rf bin static/vendor/*.js
