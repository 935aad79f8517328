// Package localagent runs Parley's agent inside the app for local mode: an
// HTTP server on 127.0.0.1 at a random port, guarded by a random per-launch
// bearer token so that no other local process or web page can attach to the
// microphone. The app reaches it through the same signaling and WebRTC path
// as a remote agent.
package localagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/media/rtc"
)

// Options choose what answers.
type Options struct {
	// Echo serves agent/echo (each turn played back) instead of the
	// conversation: for measuring the media path.
	Echo bool
	// Brain chooses the conversation's providers (the zero value: offline
	// STT and TTS, Ollama if it runs on this machine).
	Brain brain.Config
}

// Agent is a running in-process agent.
type Agent struct {
	URL   string // e.g. http://127.0.0.1:41234
	Token string // 256-bit random, hex
	// Brain is the conversation's providers (nil for Options.Echo or when
	// they could not be made).
	Brain *brain.Brain
	// Problem says, for a person, why the conversation could not be set up
	// and the echo answers instead ("" when all is well).
	Problem string

	srv    *agent.Server
	http   *http.Server
	done   chan struct{}
	once   sync.Once
	closeE error
}

// Start listens on a random loopback port and serves the agent. When the
// conversation's providers cannot be made (a missing package, a bad
// setting), it serves the echo and says why in Agent.Problem, so the app
// still works. It returns an error if no loopback port can be had.
func Start(log *slog.Logger, o Options) (*Agent, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, fmt.Errorf("localagent: token: %w", err)
	}
	f, err := rtc.NewLoopback()
	if err != nil {
		return nil, err
	}
	token := hex.EncodeToString(tok)
	a := &Agent{Token: token, done: make(chan struct{})}
	handler := echo.New(echo.Config{Log: log})
	if !o.Echo {
		if o.Brain.Log == nil {
			o.Brain.Log = log
		}
		b, err := brain.Build(context.Background(), o.Brain)
		if err != nil {
			log.Error("conversation providers: the echo answers instead", "err", err)
			a.Problem = "The conversation could not start, so the agent only echoes you: " + err.Error()
		} else {
			a.Brain, handler = b, b.Handler
		}
	}
	srv, err := agent.NewServer(agent.Config{
		Token:   token,
		Handler: handler,
		Factory: f,
		Log:     log,
		Avatar:  avatar.Default(),
		// One person on this machine: a few calls at most, and nothing but
		// this machine may talk to it (DNS rebinding included).
		MaxSessions:  4,
		LoopbackOnly: true,
	})
	if err != nil {
		a.closeBrain()
		return nil, err
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		a.closeBrain()
		return nil, fmt.Errorf("localagent: listen on loopback: %w", err)
	}
	a.URL = "http://" + ln.Addr().String()
	a.srv = srv
	a.http = &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(a.done)
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("local agent stopped", "err", err)
		}
	}()
	log.Info("local agent listening", "url", a.URL)
	return a, nil
}

// Sessions returns how many calls the agent is serving.
func (a *Agent) Sessions() int { return a.srv.Sessions() }

// Close ends all sessions and stops the server; it is safe to call twice.
func (a *Agent) Close() error {
	a.once.Do(func() {
		// Sessions first (each caller gets a bye; new offers get 503), then
		// the HTTP server, which can then finish its last DELETEs.
		_ = a.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.closeE = a.http.Shutdown(ctx)
		<-a.done
		a.closeBrain()
	})
	return a.closeE
}

func (a *Agent) closeBrain() {
	if a.Brain != nil {
		a.Brain.Close()
	}
}
