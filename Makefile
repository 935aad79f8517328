# Parley — build, run and test. `make run` and `make test` do their own set-up
# on a fresh Debian/Ubuntu machine (they call `deps`).

# Go from the official tarball lives in /usr/local/go; Debian's golang-go in /usr/bin.
export PATH := /usr/local/go/bin:$(PATH)
GO       ?= go
BIN      := bin
# Fyne rejects the bare C locale; a UTF-8 English locale is always parseable.
export LANG := en_US.UTF-8
export LC_ALL :=
# Fyne's no_emoji tag leaves out its bundled colour emoji font (4.2 MB), which
# Fyne otherwise parses once per text style whether or not an emoji is ever
# shown (~13 MB of heap); emoji then come from the system's fonts, as other
# symbols Fyne's font lacks do. Every go command below (tests included) builds
# with it.
export GOFLAGS := $(strip $(GOFLAGS) -tags=no_emoji)

# Debian packages: build (cgo, Fyne/GLFW, libvpx), headless run (Xvfb, Mesa,
# PulseAudio) and the real recordings the tests use.
DEB_BUILD := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
             libxinerama-dev libxi-dev libxxf86vm-dev libxext-dev libvpx-dev libpocketsphinx-dev libspeexdsp-dev \
             curl ca-certificates xz-utils
DEB_RUN   := xvfb xauth libgl1-mesa-dri pulseaudio pulseaudio-utils pocketsphinx-en-us espeak-ng
DEB_TEST  := pocketsphinx-testdata alsa-utils xdotool iproute2 desktop-file-utils
DEB_ALL   := $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test bench bench-load lint clean package tarball install install-tarball uninstall screenshots

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
## the app's launch (window shown, ready for a call), the app's CPU and RSS in a 60 s
## call with microphone, camera and avatar, then parley-agent under 10..200
## concurrent echo calls (bench-load)
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
	$(GO) test -run '^$$' -bench Launch -benchtime 5x -count 1 .
	$(GO) test -run '^$$' -bench InCall -benchtime 1x -count 1 -timeout 10m .
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

## screenshots: docs/screenshots/*.png, the app's windows rendered under Xvfb with
## a user-mode PulseAudio (in a call, at 800×600, the settings, the light theme)
screenshots: build
	PARLEY_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -run '^TestScreenshots$$' -count=1 -v .

## lint: formatting and vet
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Packaging and installing. `fyne` is the packaging tool of fyne.io/fyne/v2
# v2.7.1 (cmd/fyne; fyne.io/tools is not on our module mirror), a tool in go.mod.
# It is built with go build rather than run with `go tool fyne` because it writes
# into its working directory, which need not be inside the module.
DIST      ?= dist
EXE       ?= $(BIN)/parley
USER_BIN  ?= $(HOME)/.local/bin
DATA_HOME := $(or $(XDG_DATA_HOME),$(HOME)/.local/share)
ICON_DIR  := $(DATA_HOME)/icons/hicolor/256x256/apps

## package: dist/Parley.tar.xz, the Linux desktop package of bin/parley (fyne
## package): the binary, its .desktop menu entry and the icon; needs no display
package: build
	@$(MAKE) --no-print-directory tarball EXE=$(BIN)/parley

# tarball: wrap the already-built EXE into $(DIST)/Parley.tar.xz. fyne package
# gets the binary through --exe so that it packs it as built (cgo, our flags)
# instead of building its own, and runs on a copy of FyneApp.toml and the icon
# because it bumps the Build number in the FyneApp.toml it reads. It writes into
# its working directory, hence the cd.
tarball:
	@test -x "$(EXE)" || { echo "$(EXE) is not an executable: run make build"; exit 1; }
	@mkdir -p $(DIST) && stage=$$(mktemp -d) && trap 'rm -rf "$$stage"' EXIT && \
	  mkdir "$$stage/assets" && cp FyneApp.toml "$$stage/" && cp assets/icon.png "$$stage/assets/" && \
	  $(GO) build -o "$$stage/fyne" fyne.io/fyne/v2/cmd/fyne && \
	  exe=$$(realpath "$(EXE)") && rm -f $(DIST)/Parley.tar.xz && cd $(DIST) && \
	  XZ_OPT="$${XZ_OPT:--T0}" "$$stage/fyne" package -os linux --exe "$$exe" --src "$$stage"
	@test -f $(DIST)/Parley.tar.xz && echo "wrote $(DIST)/Parley.tar.xz ($$(du -h $(DIST)/Parley.tar.xz | cut -f1))"

## install: install dist/Parley.tar.xz for you, no sudo: the binary in ~/.local/bin,
## the menu entry and icon under $XDG_DATA_HOME (~/.local/share), so Parley is in the
## applications menu and starts by double-click
install: package
	@$(MAKE) --no-print-directory install-tarball

# install-tarball: what the tarball's own `make user-install` does, but under
# $XDG_DATA_HOME when it is set (where the desktop then looks for menu entries) and
# with the icon in the hicolor theme; Exec= names the installed binary.
install-tarball:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  tar -xJf $(DIST)/Parley.tar.xz -C "$$tmp" && \
	  usr="$$tmp/parley/usr/local" && { [ -d "$$usr" ] || usr="$$tmp/parley/usr"; } && \
	  install -Dm755 "$$usr/bin/parley" "$(USER_BIN)/parley" && \
	  install -Dm644 "$$usr/share/pixmaps/Parley.png" "$(ICON_DIR)/Parley.png" && \
	  sed 's,^Exec=parley,Exec=$(USER_BIN)/parley,' "$$usr/share/applications/Parley.desktop" >"$$tmp/Parley.desktop" && \
	  install -Dm644 "$$tmp/Parley.desktop" "$(DATA_HOME)/applications/Parley.desktop"
	@echo "installed $(USER_BIN)/parley and $(DATA_HOME)/applications/Parley.desktop"

## uninstall: remove what install put there (your settings, history and cache stay)
uninstall:
	rm -f "$(USER_BIN)/parley" "$(DATA_HOME)/applications/Parley.desktop" "$(ICON_DIR)/Parley.png"

clean:
	rm -rf $(BIN) $(DIST)
