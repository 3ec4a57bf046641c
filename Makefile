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

.PHONY: all build arm test vet unit sim bench fuzz deps clean

all: build

deps:
	@./.ci/deps

build: deps
	$(GO) build -o $(BIN)/holdup .

arm: deps
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(ARMFLAGS) -o $(BIN)/holdup-armv7 .
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(ARMFLAGS) -o $(BIN)/holdup-arm64 .

vet: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOARCH=arm GOARM=7 $(GO) vet ./...

unit: deps
	$(GO) test -race ./...

test: vet unit arm

sim: build
	./$(BIN)/holdup sim

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./... 

fuzz: deps
	./.ci/fuzz $(FUZZTIME)

clean:
	rm -rf $(BIN)
