// Package app is the client core without any Fyne import: it owns the local
// agent, the audio devices and the call, and publishes a plain Status that
// the UI renders. The UI sends intents (Call, Hangup) and never touches
// media or signaling itself.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/rtc"
)

// Config is the app's user-facing configuration.
type Config struct {
	AgentURL  string // remote agent; "" runs the agent in-process (local mode)
	Token     string // bearer token for AgentURL
	MicID     string // microphone ID or name; "" for the system default
	SpeakerID string // speaker ID or name; "" for the system default
	Log       *slog.Logger
}

// Status is everything the UI shows about the call.
type Status struct {
	State       call.State
	Message     string        // for Failed: what went wrong, in words for a person
	ConnectTime time.Duration // offer → connected, once connected
	AgentState  string        // listening / thinking / speaking, from the agent
	Local       bool          // local mode
}

// App is one running client.
type App struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	status   Status
	onStatus func(Status)
	onLevel  func(float64)
	agent    *localagent.Agent
	call     *call.Call
	devs     *device.Context
	mic      audio.Source
	speaker  audio.Sink
	cancel   context.CancelFunc
	busy     sync.WaitGroup
	closed   bool
}

// New returns an app; in local mode it starts the in-process agent. It
// returns the agent's start error.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: cfg.Log.With("component", "app"), onStatus: func(Status) {}, onLevel: func(float64) {}}
	a.status.Local = cfg.AgentURL == ""
	if a.status.Local {
		la, err := localagent.Start(cfg.Log)
		if err != nil {
			return nil, err
		}
		a.agent = la
	}
	return a, nil
}

// OnStatus sets the function that receives every status change, and the one
// that receives the microphone level (0..1, every 20 ms). They are called
// from background goroutines.
func (a *App) OnStatus(status func(Status), level func(float64)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if status != nil {
		a.onStatus = status
	}
	if level != nil {
		a.onLevel = level
	}
}

// Status returns the current status.
func (a *App) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

func (a *App) update(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	st, cb := a.status, a.onStatus
	a.mu.Unlock()
	a.log.Info("call status", "state", st.State.String(), "agent", st.AgentState, "connect_ms", st.ConnectTime.Milliseconds(), "message", st.Message)
	cb(st)
}

// Call starts a call in the background unless one is connecting or running.
func (a *App) Call() {
	a.mu.Lock()
	if a.closed || a.status.State == call.Connecting || a.status.State == call.InCall {
		a.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.busy.Add(1)
	a.mu.Unlock()
	a.update(func(s *Status) { *s = Status{State: call.Connecting, Local: s.Local} })
	go func() {
		defer a.busy.Done()
		a.dial(ctx)
	}()
}

func (a *App) dial(ctx context.Context) {
	start := time.Now()
	agentURL, token := a.cfg.AgentURL, a.cfg.Token
	if a.agent != nil {
		agentURL, token = a.agent.URL, a.agent.Token
	}
	if err := a.openDevices(); err != nil {
		a.fail(err)
		return
	}
	factory, err := factoryFor(agentURL)
	if err != nil {
		a.fail(err)
		return
	}
	c, err := call.Dial(ctx, call.Config{
		AgentURL: agentURL, Token: token, Factory: factory,
		Mic: a.mic, Speaker: a.speaker, Log: a.cfg.Log, Start: start,
	}, call.Callbacks{
		OnMicLevel: func(l float64) {
			a.mu.Lock()
			cb := a.onLevel
			a.mu.Unlock()
			cb(l)
		},
		OnEvent: func(e api.Event) {
			if e.Type == api.TypeState {
				a.update(func(s *Status) { s.AgentState = e.State })
			}
		},
		OnEnd: func(err error) {
			a.closeDevices()
			if err != nil {
				a.fail(err)
				return
			}
			a.update(func(s *Status) { s.State, s.AgentState = call.Ended, "" })
		},
	})
	if err != nil {
		a.fail(err)
		return
	}
	a.mu.Lock()
	a.call = c
	a.mu.Unlock()
	a.update(func(s *Status) { s.State, s.ConnectTime = call.InCall, c.Metrics().ConnectTime })
}

// factoryFor returns the peer connection factory for an agent at agentURL:
// ICE-free loopback for a local agent, normal ICE otherwise.
func factoryFor(agentURL string) (*rtc.Factory, error) {
	u, err := url.Parse(agentURL)
	if err != nil {
		return nil, fmt.Errorf("app: agent URL %q: %w", agentURL, err)
	}
	return rtc.NewFor(u.Hostname(), nil)
}

// Hangup ends the call, or gives up connecting. It waits until the call's
// goroutines have stopped.
func (a *App) Hangup() {
	a.mu.Lock()
	c, cancel := a.call, a.cancel
	a.call = nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if c != nil {
		c.Hangup()
	}
	a.busy.Wait()
}

func (a *App) fail(err error) {
	a.closeDevices()
	if errors.Is(err, context.Canceled) {
		a.update(func(s *Status) { s.State, s.AgentState = call.Ended, "" })
		return
	}
	a.log.Warn("call failed", "err", err)
	a.update(func(s *Status) { s.State, s.Message, s.AgentState = call.Failed, call.Describe(err), "" })
}

func (a *App) openDevices() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.devs == nil {
		d, err := device.NewContext(a.cfg.Log)
		if err != nil {
			return err
		}
		a.devs = d
	}
	mic, err := a.devs.OpenCapture(a.cfg.MicID)
	if err != nil {
		return err
	}
	spk, err := a.devs.OpenPlayback(a.cfg.SpeakerID)
	if err != nil {
		mic.Close()
		return err
	}
	a.mic, a.speaker = mic, spk
	return nil
}

func (a *App) closeDevices() {
	a.mu.Lock()
	mic, spk := a.mic, a.speaker
	a.mic, a.speaker = nil, nil
	a.mu.Unlock()
	if mic != nil {
		mic.Close()
	}
	if spk != nil {
		spk.Close()
	}
}

// Close hangs up and stops the local agent; it is safe to call twice.
func (a *App) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.Hangup()
	a.closeDevices()
	a.mu.Lock()
	devs := a.devs
	a.devs = nil
	a.mu.Unlock()
	if devs != nil {
		devs.Close()
	}
	if a.agent != nil {
		return a.agent.Close()
	}
	return nil
}
