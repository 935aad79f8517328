# Parley — build, run and test. `make run` and `make test` do their own set-up
# on a fresh Debian/Ubuntu machine (they call `deps`).

# Go from the official tarball lives in /usr/local/go; Debian's golang-go in /usr/bin.
export PATH := /usr/local/go/bin:$(PATH)
GO       ?= go
BIN      := bin
# Fyne rejects the bare C locale; a UTF-8 English locale is always parseable.
export LANG := en_US.UTF-8
export LC_ALL :=

# Debian packages: build (cgo, Fyne/GLFW, libvpx), headless run (Xvfb, Mesa,
# PulseAudio) and the real recordings the tests use.
DEB_BUILD := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
             libxinerama-dev libxi-dev libxxf86vm-dev libxext-dev libvpx-dev libpocketsphinx-dev libspeexdsp-dev \
             curl ca-certificates
DEB_RUN   := xvfb xauth libgl1-mesa-dri pulseaudio pulseaudio-utils pocketsphinx-en-us espeak-ng
DEB_TEST  := pocketsphinx-testdata alsa-utils xdotool iproute2
DEB_ALL   := $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test bench bench-load lint clean

all: build

## deps: install the Debian packages that are missing, and the Go modules
deps:
	@missing=$$(for p in $(DEB_ALL); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { \
	  echo "installing Go from Debian (golang-go); go.mod's toolchain is then fetched by Go itself"; \
	  $(SUDO) apt-get install -y -qq golang-go; }
	@$(GO) version >/dev/null || { echo "Go does not run: install Go 1.26 from https://go.dev/doc/install"; exit 1; }
	$(GO) mod download
	bash scripts/fetch-silero.sh

## build: bin/parley (the app) and bin/parley-agent (the headless agent)
build: deps
	$(GO) build -o $(BIN)/parley .
	$(GO) build -o $(BIN)/parley-agent ./cmd/parley-agent

## run: build and open the app in local mode
run: build
	./$(BIN)/parley

## test: build and run every test, the headless end-to-end ones included, one
## package at a time (the audio and GUI tests measure real time)
test: build
	$(GO) vet ./...
	$(GO) test -count=1 -p 1 -timeout 20m ./...

## bench: connect time over 50 calls, echo round trip, transport and codec costs,
## conversation latencies (pipeline overhead, barge-in, the offline stack), VAD,
## STT and TTS costs, the avatar (cache, preload, lip sync, event bytes vs a VP8 avatar),
## then parley-agent under 10..200 concurrent echo calls (bench-load)
bench: build
	$(GO) test -run '^$$' -bench LocalConnect -benchtime 1x -count 1 ./app/call
	$(GO) test -run '^$$' -bench EchoRoundTrip -benchtime 5x -count 1 ./app/headless
	$(GO) test -run '^$$' -bench . -count 1 ./media/...
	$(GO) test -run '^$$' -bench History100k -benchtime 1x -count 1 ./app/history
	$(GO) test -run '^$$' -bench 'PipelineOverhead|BargeIn|OfflineVoiceToVoice' -benchtime 10x -count 1 ./app/call
	$(GO) test -run '^$$' -bench . -count 1 ./agent/vad
	$(GO) test -run '^$$' -bench EchoOverRealDevices -benchtime 5x -count 1 ./app
	$(GO) test -run '^$$' -bench . -benchtime 5x -count 1 ./agent/provider/sphinx ./agent/provider/espeak
	$(GO) test -run '^$$' -bench . -count 1 ./cache ./agent/lipsync ./assets/avatar
	$(GO) test -run '^$$' -bench AvatarPreload -benchtime 20x -count 1 ./app
	$(GO) test -run '^$$' -bench AvatarBandwidth -benchtime 1x -count 1 ./app/call
	$(MAKE) --no-print-directory bench-load

LOAD_STEPS ?= 10,25,50,100,200
LOAD_SECONDS ?= 10s
## bench-load: parley-agent on loopback under LOAD_STEPS concurrent echo calls
bench-load: build
	$(GO) build -o $(BIN)/parley-load ./cmd/parley-load
	@PARLEY_TOKEN=bench ./$(BIN)/parley-agent --listen 127.0.0.1:18443 --handler echo --max-sessions 1000 \
	    --log-level error & pid=$$!; \
	  trap "kill $$pid 2>/dev/null" EXIT; \
	  PARLEY_TOKEN=bench ./$(BIN)/parley-load --agent http://127.0.0.1:18443 \
	    --steps $(LOAD_STEPS) --duration $(LOAD_SECONDS)

## lint: formatting and vet
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
