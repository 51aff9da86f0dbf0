# smsagent build entry points. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
FUZZTIME ?= 10s
BIN := bin

.PHONY: all build demo screenshot test test-race test-later test-windows fuzz fuzz-short soak lint fmt vet staticcheck bench cross clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smsagent ./cmd/smsagent

# Linux .deb and .rpm (amd64, arm64) and the Windows zip into dist/, from the
# binaries `cross` builds; see packaging/package.sh for VERSION and signing.
# `go test ./packaging` builds the same packages and checks their contents.
# smsagent beside a bare client and Kannel, against an SMPP server on npm's
# smpp package (bench/external): 20,000 messages, 4 binds × window 10, at
# 0 and 20 ms round trip. Needs node, npm and Kannel (apt-get install
# kannel); run it on an idle machine.
.PHONY: bench-external
bench-external: build
	$(GO) run ./bench/external -smsagent $(BIN)/smsagent

.PHONY: package
package: cross
	packaging/package.sh $(BIN) dist

# The README's first command: the agent and the built-in SMSC simulator in one
# process, with sample messages, until Ctrl-C. DEMO_DIR keeps the configuration,
# spool and database between runs. It runs the binary rather than `go run`,
# which exits 1 after any Ctrl-C and would have make report a clean stop as an
# error.
DEMO_DIR ?= smsagent-demo
demo: build
	$(BIN)/smsagent demo --dir $(DEMO_DIR)

# The README's test command: vet, race-enabled tests, then a short run of every fuzz target.
test: vet test-race fuzz-short

test-race:
	$(GO) test -race -timeout 20m ./...

# Every test again with the wall clock three years on (scripts/test-later.sh):
# a test that compares a date fixed in its code with time.Now fails here
# today instead of on every clone once the calendar passes that date.
test-later:
	scripts/test-later.sh -timeout 20m ./...

# The tests as windows/amd64 binaries under Wine (scripts/test-windows.sh
# installs Wine from apt when missing): every package but packaging, which
# builds the Linux packages with host tools, and soak, which signals and
# mounts (Linux only).
WINDOWS_PKGS = $$($(GO) list ./... | grep -v -e '/packaging$$' -e '/soak$$')
# The agent package needs about 4.5 minutes under Wine with the cluster's
# end-to-end tests (a JetStream cluster in the test process); 4 would cut it.
test-windows:
	scripts/test-windows.sh -timeout 7m $(WINDOWS_PKGS)

# The full fault and soak matrix (soak/): the real binary against the
# simulator, under 20 minutes; prints the table the README's "Reliability"
# shows. `make test` runs the same cases, shorter.
SOAK_TABLE ?= $(BIN)/soak-table.md
soak:
	@mkdir -p $(BIN)
	SOAK=1 SOAK_TABLE=$(abspath $(SOAK_TABLE)) $(GO) test -count=1 -timeout 25m ./soak/; status=$$?; cat $(SOAK_TABLE) 2>/dev/null; exit $$status

fuzz-short:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

fuzz:
	FUZZTIME=5m scripts/fuzz.sh

# The README's picture of the status page, taken by its browser test
# (headless Debian chromium against an agent and the simulator).
screenshot:
	SMSAGENT_REQUIRE_BROWSER=1 $(GO) test ./admin -run '^TestStatusPage_browser$$' -count=1 -args -screenshot=$(CURDIR)/docs/status-page.png

lint: fmt vet staticcheck

fmt:
	@out="$$(gofmt -s -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...

staticcheck:
	cd tools && $(GO) build -o ../$(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck
	$(BIN)/staticcheck ./...

# The standard workloads of `smsagent bench` (README "Performance") and the
# Go micro-benchmarks, then one summary: each target, the figure measured,
# pass or MISS. Run it on an otherwise idle machine; the summary prints the
# load average. BENCH_PKGS narrows the micro-benchmarks.
BENCH_PKGS ?= ./...
# A failing micro-benchmark still lets the summary print (it lists the
# failure), and make fails at the end.
bench: build
	set -o pipefail; status=0; \
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_PKGS) | tee $(BIN)/bench-micro.txt || status=$$?; \
	$(BIN)/smsagent bench --standard --micro $(BIN)/bench-micro.txt || status=$$?; \
	exit $$status

cross:
	@mkdir -p $(BIN)
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smsagent-linux-amd64 ./cmd/smsagent
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smsagent-linux-arm64 ./cmd/smsagent
	GOOS=windows GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/smsagent-windows-amd64.exe ./cmd/smsagent

clean:
	rm -rf $(BIN) dist
