# Pedidos — the Makefile is the interface. `make help` lists the targets.

MODULES := events infra/devstack infra/logs infra/pedidos services/api services/control services/generator services/processor
PKGS    := $(addsuffix /...,$(addprefix ./,$(MODULES)))
GOLANGCI_LINT ?= golangci-lint
BIN     := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the whole stack in one process (embedded NATS, FerretDB, Redis unless URLs are set); dashboard on :3000
	go run ./infra/pedidos

.PHONY: build
build: ## build every binary into bin/
	@mkdir -p $(BIN)
	go build -o $(BIN)/ ./infra/pedidos ./services/api/cmd/pedidos-api ./services/control/cmd/pedidos-control \
		./services/generator/cmd/pedidos-generator ./services/processor/cmd/pedidos-processor

.PHONY: test
test: ## run every test, with the race detector
	go test -race -count=1 -timeout 20m $(PKGS)

# make bench: which order counts the harness measures, and its other flags
# (e.g. BENCH_FLAGS='-load -env ORDERS_BATCH_SIZE=1000'; see go run ./infra/pedidos/bench -h).
BENCH_N     ?= 100000,500000,1500000
BENCH_FLAGS ?=
# The packages that hold Go benchmarks.
BENCH_PKGS   = $(sort $(addprefix ./,$(dir $(shell grep -rl --include='*_test.go' '^func Benchmark' $(MODULES)))))

.PHONY: bench
bench: ## Go micro-benchmarks, then the end-to-end harness (BENCH_N, BENCH_FLAGS); JSON in bench-results/
	go test -run '^$$' -bench . -benchmem $(BENCH_PKGS)
	go run ./infra/pedidos/bench -n $(BENCH_N) $(BENCH_FLAGS)

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

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
