# Pedidos — the Makefile is the interface. `make help` lists the targets.

MODULES := events infra/logs infra/metrics infra/redisstate infra/fleet infra/opsserver infra/devstack infra/pedidos infra/bench infra/deploy services/api services/control services/generator services/processor
PKGS    := $(addsuffix /...,$(addprefix ./,$(MODULES)))
GOLANGCI_LINT ?= golangci-lint
# The Go toolchain every target uses: go1.27.3, which the go command fetches
# from the Go module proxy on first use (its standard library has the fixes
# govulncheck asks for; the modules still say go 1.26, so a plain go command
# builds them too).
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN
BIN     := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the whole stack in one process (embedded NATS, FerretDB, Redis unless URLs are set); dashboard on :3000
	go run ./infra/pedidos/cmd/pedidos

.PHONY: build
build: ## build every binary into bin/
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./infra/pedidos/cmd/pedidos ./infra/devstack/cmd/pedidos-devstack ./services/api/cmd/pedidos-api ./services/control/cmd/pedidos-control \
		./services/generator/cmd/pedidos-generator ./services/processor/cmd/pedidos-processor

.PHONY: test
test: ## run every test, with the race detector
	go test -race -count=1 -timeout 20m $(PKGS)

# The fault matrix of infra/pedidos's TestFaults: every service, Redis, and
# NATS with MongoDB, killed (and a processor stopped) at each stage of a run
# of 50 000 orders; make test runs two of its cases.
.PHONY: faults
faults: ## the whole fault matrix (21 cases of 50 000 orders, ~10 min): one table of what each case left
	cd infra/pedidos && PEDIDOS_FAULTS=all go test -count=1 -timeout 60m -run '^TestFaults$$' -v .

.PHONY: test-short
test-short: ## the quick loop: every test but the end-to-end ones (-short), no race detector
	go test -short -count=1 -timeout 5m $(PKGS)

# The pedidosbench tag builds the processor's discarding sink (the bench
# harness's queue-layer runs); CI builds it so that it cannot rot.
.PHONY: build-all
build-all: build ## every binary, and every build tag
	@for m in $(MODULES); do (cd $$m && go vet -tags pedidosbench ./... && go build -tags pedidosbench ./...) || exit 1; done

.PHONY: tidy-check
tidy-check: ## fail if go mod tidy would change a module (outside the workspace, as go mod tidy does)
	@for m in $(MODULES); do \
		(cd $$m && GOWORK=off go mod tidy && git diff --exit-code -- go.mod go.sum) || { echo "go mod tidy changes $$m"; exit 1; }; \
	done

# The vulnerability database: vuln.go.dev where it answers, else one built
# from golang.org/x/vulndb through the Go module proxy (infra/vulndb.sh).
VULNDB ?= $(HOME)/.cache/pedidos/vulndb

.PHONY: vulncheck
vulncheck: ## govulncheck on every module: fails on a reachable vulnerability that has a fix
	@if curl -fsS -m 5 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then \
		infra/vulncheck.sh "" $(MODULES); \
	else \
		[ -f $(VULNDB)/index/db.json ] && [ -z "$$(find $(VULNDB)/index/db.json -mmin +1440)" ] || infra/vulndb.sh $(VULNDB); \
		infra/vulncheck.sh $(VULNDB) $(MODULES); \
	fi

.PHONY: ci
ci: lint tidy-check vulncheck build-all test ## what CI runs (.ci/run): lint, tidy, vulnerabilities, every build, every test

# make bench: which order counts the harness measures, and its other flags
# (e.g. BENCH_FLAGS='-load -fallback -env ORDERS_BATCH_SIZE=1000'; see go run ./infra/bench -h).
BENCH_N     ?= 100000,500000,1500000
BENCH_FLAGS ?=
# The packages that hold Go benchmarks.
BENCH_PKGS   = $(sort $(addprefix ./,$(dir $(shell grep -rl --include='*_test.go' '^func Benchmark' $(MODULES)))))

.PHONY: bench
bench: ## Go micro-benchmarks, then the end-to-end harness (BENCH_N, BENCH_FLAGS); JSON in bench-results/
	go test -run '^$$' -bench . -benchmem $(BENCH_PKGS)
	go run ./infra/bench -n $(BENCH_N) $(BENCH_FLAGS)

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint on every module
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	@for m in $(MODULES); do echo "golangci-lint $$m"; (cd $$m && $(GOLANGCI_LINT) run --allow-parallel-runners ./...) || exit 1; done

# The dashboard's chart library, vendored from npm into services/api/web/vendor/uplot.
UPLOT_VERSION := 1.6.32
UPLOT_DIR     := services/api/web/vendor/uplot

.PHONY: web-vendor
web-vendor: ## refresh the dashboard's vendored uPlot (UPLOT_VERSION) from npm
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm install --prefix "$$tmp" --no-save --no-audit --no-fund --ignore-scripts uplot@$(UPLOT_VERSION) && \
	pkg="$$tmp/node_modules/uplot" && \
	grep -q '"version": "$(UPLOT_VERSION)"' "$$pkg/package.json" && \
	cp "$$pkg/dist/uPlot.iife.min.js" "$$pkg/dist/uPlot.min.css" "$$pkg/LICENSE" $(UPLOT_DIR)/ && \
	echo "uPlot $(UPLOT_VERSION) copied to $(UPLOT_DIR)"

.PHONY: screenshot
screenshot: ## run the dashboard's browser test during a real run; it saves docs/dashboard.png
	PEDIDOS_SCREENSHOT_DIR=docs go test -race -count=1 -run '^TestDashboard$$' ./infra/pedidos

# Images (infra/Dockerfile, built by infra/images.sh): pedidos-api,
# pedidos-control, pedidos-generator, pedidos-processor and the all-in-one
# pedidos, tagged IMAGE_TAG (default: git describe) under IMAGE_REPO (e.g.
# ghcr.io/you/); IMAGE_ENGINE is docker when a daemon answers, else podman.
.PHONY: images
images: ## build the five images, compiled in the Dockerfile's golang stage (needs the base image: a registry, or a cache)
	infra/images.sh source

.PHONY: images-host
images-host: ## build the same images from static binaries compiled here into bin/image/ (pulls nothing: works offline)
	infra/images.sh host

# The production-shaped stack (infra/compose.yaml): docker compose (the v2
# plugin) when the docker CLI has it, else docker-compose (v1). Both need a
# Docker daemon, and infra/.env (from infra/.env.example).
.PHONY: up
up: ## start infra/compose.yaml (3 NATS nodes, MongoDB replica set, Redis, the four services) and wait until healthy
	@test -f infra/.env || { echo "infra/.env is missing: cp infra/.env.example infra/.env, then set its passwords" >&2; exit 1; }
	@if docker compose version >/dev/null 2>&1; then \
		docker compose -f infra/compose.yaml up -d --build --wait; \
	else \
		docker-compose -f infra/compose.yaml up -d --build; \
	fi

.PHONY: down
down: ## stop infra/compose.yaml; its volumes stay (COMPOSE_DOWN_FLAGS=-v deletes them)
	@if docker compose version >/dev/null 2>&1; then \
		docker compose -f infra/compose.yaml down $(COMPOSE_DOWN_FLAGS); \
	else \
		docker-compose -f infra/compose.yaml down $(COMPOSE_DOWN_FLAGS); \
	fi

.PHONY: compose-check
compose-check: ## validate infra/compose.yaml without a daemon: compose-go and the Compose schema, plus docker compose / docker-compose config where installed
	go test -count=1 -run '^TestCompose' ./infra/deploy

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
