# holdup — build, test and simulate.
#
#   make sim    run the main job on simulated hardware
#   make test   vet, race tests, ARM builds (installs what it needs)

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
ARMFLAGS := -trimpath -ldflags '$(LDFLAGS)'
FUZZTIME ?= 10s

.PHONY: all build arm test vet unit stress torture arm-test unit-file guest-test idle-check sim bench fuzz deps clean

all: build

deps:
	@./.ci/deps

build: deps
	$(GO) build -o $(BIN)/holdup .

arm: deps
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(ARMFLAGS) -o $(BIN)/holdup-armv7 .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(ARMFLAGS) -o $(BIN)/holdup-arm64 .

# Static checks, each failing on a finding: gofmt (tracked and new files),
# go vet and staticcheck for the host and 32-bit ARM, go.mod/go.sum tidy,
# and dead code. The tools are pinned in .ci/deps and installed into
# TOOLBIN. deadcode -test counts what the tests reach as live (simulators,
# test helpers); an Example without an Output comment is documentation the
# tests compile but never run, so deadcode's report of it is dropped.
vet: export TOOLBIN ?= $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
vet: deps
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOARCH=arm GOARM=7 $(GO) vet ./...
	$(GO) mod tidy -diff
	$(TOOLBIN)/staticcheck ./...
	GOARCH=arm GOARM=7 $(TOOLBIN)/staticcheck ./...
	@out=$$($(TOOLBIN)/deadcode -test ./...) || exit 1; \
	  out=$$(printf '%s\n' "$$out" | grep -Ev '_test\.go:[0-9]+:[0-9]+: unreachable func: Example' || true); \
	  if [ -n "$$out" ]; then echo "dead code (deadcode -test):"; echo "$$out"; exit 1; fi

unit: deps
	$(GO) test -race -short ./...

# The race suite again on one CPU under two busy loops (.ci/stress): timing
# flakes and single-core starvation show here before they land.
stress: deps
	GO=$(GO) ./.ci/stress

# The journal's power-cut torture at full size (2,000 appends, every cut
# point, old/new/random torn pages); -race runs the -short size above.
torture: deps
	$(GO) test -count=1 -run '^TestTorture$$' ./store

# Unit tests for 32-bit ARM and arm64 under qemu-user (catches 64-bit
# alignment bugs). Tests that start the daemon as a child process are
# skipped there: without binfmt_misc the emulated binary cannot exec itself.
CHILD_TESTS := ^(TestScenario|TestSimCommand|TestChildStopsOnSignal)
arm-test: deps
	GOARCH=arm GOARM=7 $(GO) test -short -count=1 -exec qemu-arm-static -skip '$(CHILD_TESTS)' ./...
	GOARCH=arm64 $(GO) test -short -count=1 -exec qemu-aarch64-static -skip '$(CHILD_TESTS)' ./...

unit-file: build
	./deploy/verify-unit.sh deploy/holdup.service
	./deploy/verify-syscalls.sh $(BIN)/holdup testdata/sim.toml

# Hardware-in-the-loop tests on a real ARM kernel (test/guest/run-guest.sh; never skipped).
guest-test: deps
	./.ci/guest-test

# Idle cost of the daemon on the sim config: ≤ 0.1 % of a core over 60 s,
# RSS ≤ 16 MiB.
idle-check: deps
	./.ci/idle-check

# The hooks tests run Debian's mosquitto (.ci/deps installs it); under
# `make test` a missing broker fails them instead of skipping.
test: export HOLDUP_REQUIRE_MOSQUITTO = 1
test: vet unit stress torture arm arm-test unit-file idle-check guest-test

sim: build
	./$(BIN)/holdup sim

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./... 

fuzz: deps
	./.ci/fuzz $(FUZZTIME)

clean:
	rm -rf $(BIN)
