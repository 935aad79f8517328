// Package app is the client core without any Fyne import: it owns the local
// agent, the audio devices and the call, and publishes a plain Status that
// the UI renders. The UI sends intents (Call, Hangup) and never touches
// media or signaling itself.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/history"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/cache"
	"github.com/parley-app/parley/media/aec"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/rtc"
)

// Config is the app's user-facing configuration.
type Config struct {
	AgentURL  string // remote agent; "" runs the agent in-process (local mode)
	Token     string // bearer token for AgentURL
	MicID     string // microphone ID or name; "" for the system default
	SpeakerID string // speaker ID or name; "" for the system default
	// CameraID is the camera (media/camera ID; "" for the first camera);
	// VideoPreset its size and bit rate ("" for camera.DefaultPreset).
	CameraID, VideoPreset string
	// Remote mode: STUN/TURN servers (rtc.ParseICEServer syntax) and whether
	// to accept the agent's private, loopback and link-local candidates.
	ICEServers   []string
	AllowPrivate bool
	// HistoryDir holds past conversations; "" means history.DefaultDir().
	HistoryDir string
	// CacheDir holds the avatar's asset cache; "" means the user cache
	// directory ($XDG_CACHE_HOME/parley).
	CacheDir string
	// NoHistory keeps calls out of the history.
	NoHistory bool
	// Memory lets the local agent's language model see the past turns most
	// relevant to what the person says (a search of the history).
	Memory bool
	// NoEchoCancellation turns off the client's echo canceller (with
	// headphones there is no echo); NoiseSuppression and GainControl turn
	// on speexdsp's (media/aec).
	NoEchoCancellation bool
	NoiseSuppression   bool
	GainControl        bool
	// ReconnectAttempts caps the new sessions tried after a connection is
	// lost mid-call; 0 means DefaultReconnectAttempts.
	ReconnectAttempts int
	// Local mode: Echo makes the agent play each turn back instead of
	// conversing (for checking the sound path); Brain chooses the
	// conversation's providers.
	Echo  bool
	Brain brain.Config
	// Settings, if not nil, are the saved settings Brain and Memory were
	// taken from: Configure then restarts the local agent only when their
	// AI part changes (nil: the first Configure restarts it).
	Settings *Settings
	Log      *slog.Logger
}

// RoleMemory marks a transcript line saying what the model was reminded of.
const RoleMemory = "memory"

// Line is one line of the call's transcript.
type Line struct {
	Turn        int64
	Role        string // api.RoleUser or api.RoleAssistant
	Text        string
	Final       bool
	Interrupted bool             // the caller cut the agent short
	Metrics     *api.TurnMetrics // the turn's latencies, on the assistant's final line
	Start, End  time.Time        // first words shown, final words shown
}

// Status is everything the UI shows about the call.
type Status struct {
	State       call.State
	Message     string        // for Failed: what went wrong, in words for a person
	ConnectTime time.Duration // offer → connected, once connected
	AgentState  string        // listening / thinking / speaking, from the agent
	Local       bool          // local mode
	// Notice is the agent's latest notice for a person (no model set up,
	// a provider failed, the VAD fell back), "" for none.
	Notice string
	// Transcript is this call's conversation so far (copy-on-write: a
	// Status's slice is never changed afterwards).
	Transcript []Line
	// Metrics are the last answered turn's latencies.
	Metrics *api.TurnMetrics
	// Providers names the local agent's STT · LLM · TTS ("" in remote mode).
	Providers string
	// Avatar is the avatar pack's preload.
	Avatar AvatarStatus
	// Muted: the microphone sends silence (SetMuted).
	Muted bool
	// Camera: the camera is on (SetCamera): shown in SelfView and sent in
	// calls.
	Camera bool
	// Stats are the connection's statistics (RTT, jitter, loss, bit
	// rates), refreshed every StatsInterval in a call; nil otherwise.
	Stats *call.Stats
}

// App is one running client.
type App struct {
	cfg Config
	log *slog.Logger

	notify   sync.Mutex // serialises status callbacks so they arrive in order
	mu       sync.Mutex
	status   Status
	onStatus func(Status)
	onLevel  func(float64)
	agent    *localagent.Agent
	ready    chan struct{} // closed when the local agent has started (or failed)
	agentErr error
	pending  bool      // new settings wait for the call to end
	applied  *Settings // the settings last configured, nil before
	listed   *Devices  // the devices last logged (logDevices)
	logged   Status    // the last status logged
	hw       *historyWriter
	devs     *device.Context
	att      *attempt // the current call attempt, nil before the first
	closed   bool
	hist     *history.Store
	histMu   sync.Mutex // serialises opening the history
	store    *cache.Store
	storeMu  sync.Mutex     // serialises opening the asset cache
	cam      *camera.Source // the camera while it is on (under mu)
	camMu    sync.Mutex     // serialises SetCamera
	avatar   avatarState
	bg       sync.WaitGroup // avatar loading
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// History returns the conversation history, opening it (and rebuilding its
// search index if needed) on first use. Opening can take a while: call it
// off the UI goroutine. It returns history.ErrInUse when another Parley
// process holds the history, and an error after Close.
func (a *App) History() (*history.Store, error) {
	a.histMu.Lock() // not a.mu: a rebuild must not stall the call's status
	defer a.histMu.Unlock()
	a.mu.Lock()
	hist, closed := a.hist, a.closed
	a.mu.Unlock()
	if closed {
		return nil, errors.New("app: closed")
	}
	if hist != nil {
		return hist, nil
	}
	dir := a.cfg.HistoryDir
	if dir == "" {
		dir = history.DefaultDir()
	}
	s, err := history.Open(dir, a.cfg.Log)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.hist = s
	a.mu.Unlock()
	return s, nil
}

// attempt is one press of Call: connecting, then the call, until it ends.
type attempt struct {
	ctx     context.Context
	cancel  context.CancelFunc
	call    *call.Call     // set once connected (under App.mu)
	sentCam *camera.Source // the camera the call was dialled with
	mic     audio.Source
	speaker audio.Sink
	ended   bool                       // under App.mu
	conv    string                     // the history's conversation ID
	metrics map[int64]*api.TurnMetrics // by turn, until the final line files them
	lost    <-chan error               // the current call's Callbacks.OnLost (only dial touches it)
	done    chan struct{}
	once    sync.Once
}

// New returns an app; in local mode it starts the in-process agent in the
// background (Ready says when it is up; a failure shows as Status.Notice
// and fails the calls placed, with the reason).
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: cfg.Log.With("component", "app"), onStatus: func(Status) {}, onLevel: func(float64) {}, applied: cfg.Settings}
	a.status.Local = cfg.AgentURL == ""
	a.ready = make(chan struct{})
	a.hw = newHistoryWriter(a)
	a.bgCtx, a.bgCancel = context.WithCancel(context.Background())
	a.avatar.cached = make(chan struct{})
	a.background(a.loadCachedAvatar)
	// Loading the speech models takes a moment: do it while the window
	// opens. A call placed meanwhile waits for it. (In remote mode this
	// only starts the avatar's sync.)
	go a.startAgent(a.ready)
	return a, nil
}

// background runs f on a goroutine that Close waits for.
func (a *App) background(f func()) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		f()
	}()
}

// Ready is closed once the app can place a call (in local mode: once the
// in-process agent has started).
func (a *App) Ready() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ready
}

// Send sends a typed message to the agent, answered like speech. It returns
// an error when no call is connected.
func (a *App) Send(text string) error {
	a.mu.Lock()
	var c *call.Call
	connecting := false
	if a.att != nil && !a.att.ended {
		c, connecting = a.att.call, a.att.call == nil
	}
	a.mu.Unlock()
	switch {
	case connecting:
		return errors.New("the call is still connecting: send the message once it is in progress")
	case c == nil:
		return errors.New("there is no call to send the message in: press Call first")
	}
	return c.Send(api.Event{Type: api.TypeText, Text: text})
}

// SetMuted mutes or unmutes the microphone, in the current call and in the
// ones placed after (the call then sends silence).
func (a *App) SetMuted(muted bool) {
	a.update(func(s *Status) bool {
		s.Muted = muted
		if a.att != nil && a.att.call != nil {
			a.att.call.SetMuted(muted)
		}
		return true
	})
}

// OnStatus sets the function that receives every status change, and the one
// that receives the microphone level (0..1, every 20 ms). They are called
// from background goroutines, one status at a time and in order.
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

// update applies f to the status under the lock if f returns true, then
// tells the listener. Listeners see updates in the order they were applied.
func (a *App) update(f func(*Status) bool) {
	a.notify.Lock()
	defer a.notify.Unlock()
	a.mu.Lock()
	if !f(&a.status) {
		a.mu.Unlock()
		return
	}
	st, cb := a.status, a.onStatus
	changed := st.State != a.logged.State || st.AgentState != a.logged.AgentState || st.Message != a.logged.Message
	a.logged = st
	a.mu.Unlock()
	if changed { // not every word of a transcript
		a.log.Info("call status", "state", st.State.String(), "agent", st.AgentState, "connect_ms", st.ConnectTime.Milliseconds(), "message", st.Message)
	}
	cb(st)
}

// Call starts a call in the background unless one is connecting or running.
func (a *App) Call() {
	a.mu.Lock()
	if a.closed || (a.att != nil && !a.att.ended) {
		a.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	att := &attempt{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	a.att = att
	a.mu.Unlock()
	a.update(func(s *Status) bool {
		*s = Status{State: call.Connecting, Local: s.Local, Notice: s.Notice, Providers: s.Providers, Muted: s.Muted, Camera: s.Camera}
		return true
	})
	go a.dial(att)
}

// Reconnection after a connection lost mid-call: first an ICE restart of
// the call over the same agent session (ICERestartTimeout), then up to
// DefaultReconnectAttempts new sessions, ReconnectBackoff apart at first
// and doubling up to maxBackoff (0.5 + 1 + 2 + 4 + 8 + 8 s: about 24 s of
// trying, plus each attempt's own connect time).
const (
	DefaultReconnectAttempts = 6
	ReconnectBackoff         = 500 * time.Millisecond
	maxBackoff               = 8 * time.Second
)

// ICERestartTimeout bounds the ICE restart that reconnecting tries first:
// new candidates gathered, the agent's answer (PATCH) and the connection
// back over the new path. A restart that works takes well under a second
// where the path is back; past this the path is taken to be still broken,
// and new sessions are tried with backoff. The agent keeps a lost
// session for api.RestartGrace (15 s) from its own loss detection (after
// the same 5 s without a pong as ours), so the restart comes well within it.
const ICERestartTimeout = 5 * time.Second

// ICERestartWindow is how long ICE restarts are tried again (the path
// still broken, the agent out of reach) before new sessions: 10 s from our
// loss detection, within the 15 s the agent keeps the session from its own
// (api.RestartGrace), so that a Wi-Fi roam or a short outage keeps the
// conversation on the agent.
const ICERestartWindow = 10 * time.Second

// restartAgain reports whether an ICE restart that failed with err may
// work if tried again: not when the agent answered that the session is
// gone (404), that it has no ICE restarts (405) or that the offer is bad
// (400), not when its host refused the connection (nothing listens: the
// agent, and its sessions, are gone), nor once the call has ended.
func restartAgain(err error) bool {
	var se *signal.StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusConflict || se.Status >= 500
	}
	return !errors.Is(err, call.ErrCallEnded) && !errors.Is(err, syscall.ECONNREFUSED)
}

// dial runs one attempt: it connects, then watches the call until it ends;
// a connection lost mid-call is brought back by an ICE restart, else
// redialled (a new session, the same conversation and transcript) until it
// comes back or the attempts run out.
func (a *App) dial(att *attempt) {
	start := time.Now()
	select {
	case <-a.Ready():
	case <-att.ctx.Done():
		a.finish(att, att.ctx.Err())
		return
	}
	a.mu.Lock()
	agentErr := a.agentErr
	att.conv = history.NewConversation(start)
	a.mu.Unlock()
	if agentErr != nil {
		a.finish(att, agentErr)
		return
	}
	if err := a.openDevices(att); err != nil {
		a.finish(att, err)
		return
	}
	c, err := a.connect(att, start)
	for {
		if err != nil {
			a.finish(att, err)
			return
		}
		if !a.connected(att, c) {
			c.Hangup() // Hang up was pressed while connecting
			a.finish(att, nil)
			return
		}
		select {
		case <-c.Done():
			err = c.Err()
		case err = <-att.lost: // the call is still up, Reconnecting
		}
		if !errors.Is(err, call.ErrConnectionLost) || att.ctx.Err() != nil {
			c.Hangup() // at once if it has ended
			a.finish(att, err)
			return
		}
		a.log.Warn("connection lost mid-call: reconnecting", "err", err)
		c, err = a.reconnect(att, c, err)
	}
}

// reconnect brings the call back after its connection was lost (lost):
// first by an ICE restart of old over the same session, then by dialling
// new sessions with backoff, showing each attempt in the status. It
// returns the call (old itself after a restart), or the error to end the
// attempt with.
func (a *App) reconnect(att *attempt, old *call.Call, lost error) (*call.Call, error) {
	if a.restartICE(att, old) {
		return old, nil
	}
	if att.ctx.Err() != nil {
		return nil, att.ctx.Err()
	}
	wait := ReconnectBackoff
	err := lost
	attempts := cmp.Or(a.cfg.ReconnectAttempts, DefaultReconnectAttempts)
	for try := 1; try <= attempts; try++ {
		msg := fmt.Sprintf("The connection to the agent was lost. Reconnecting (attempt %d of %d)…", try, attempts)
		if try > 1 {
			msg = fmt.Sprintf("Still reconnecting (attempt %d of %d): %s", try, attempts, call.Describe(err))
		}
		a.reconnecting(att, msg)
		select {
		case <-time.After(wait):
		case <-att.ctx.Done():
			return nil, att.ctx.Err()
		}
		wait = min(2*wait, maxBackoff)
		var c *call.Call
		c, err = a.connect(att, time.Now())
		if err == nil {
			a.log.Info("reconnected with a new session", "attempt", try)
			return c, nil
		}
		if !retryable(err) || att.ctx.Err() != nil {
			return nil, err
		}
		a.log.Info("reconnect failed", "attempt", try, "err", err)
	}
	return nil, &gaveUp{attempts: attempts, last: err}
}

// reconnecting shows att as Reconnecting with msg; the agent's state, the
// statistics and the avatar are cleared until the call is back.
func (a *App) reconnecting(att *attempt, msg string) {
	a.update(func(s *Status) bool {
		if a.att != att || att.ended {
			return false
		}
		s.State, s.Message, s.AgentState = call.Reconnecting, msg, ""
		s.Stats = nil
		a.resetAvatar()
		return true
	})
}

// restartICE tries to bring c back over its own agent session, within
// ICERestartTimeout, and reports whether it did. When it did not (the
// session is gone: 404; an agent without ICE restarts: 405; the path still
// broken; the agent unreachable), c is hung up, which also ends the old
// session at the agent if it can be reached, and reconnect makes a new
// one. A restart that worked keeps everything: the session's conversation
// on the agent, and the agent's state and avatar shown before the loss
// unless newer ones came meanwhile.
func (a *App) restartICE(att *attempt, c *call.Call) bool {
	a.mu.Lock()
	agentState := a.status.AgentState
	a.mu.Unlock()
	a.avatar.mu.Lock()
	expression, face, mode := a.avatar.expression, a.avatar.face, a.avatar.mode
	a.avatar.mu.Unlock()
	a.reconnecting(att, "The connection to the agent was lost. Reconnecting…")
	start := time.Now()
	var err error
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(att.ctx, ICERestartTimeout)
		err = c.RestartICE(ctx)
		cancel()
		if err == nil || !restartAgain(err) || att.ctx.Err() != nil || time.Since(start)+ICERestartTimeout > ICERestartWindow {
			break
		}
		a.log.Info("ICE restart failed: trying again", "try", try, "err", err)
		select {
		case <-time.After(ReconnectBackoff):
		case <-att.ctx.Done():
		}
	}
	if err != nil {
		a.log.Info("ICE restart failed: making a new session", "err", err, "ms", time.Since(start).Milliseconds())
		c.Hangup()
		return false
	}
	a.log.Info("reconnected by an ICE restart", "ms", time.Since(start).Milliseconds(), "restarts", c.Metrics().Restarts)
	a.update(func(s *Status) bool {
		if a.att == att && s.AgentState == "" {
			s.AgentState = agentState
		}
		return false // connected publishes it
	})
	a.avatar.mu.Lock()
	if a.avatar.expression == "" && a.avatar.face == "" && a.avatar.mode == "" {
		a.avatar.expression, a.avatar.face, a.avatar.mode = expression, face, mode
	}
	a.avatar.mu.Unlock()
	return true
}

// gaveUp ends a call whose reconnection attempts all failed.
type gaveUp struct {
	attempts int
	last     error // the last attempt's error
}

func (g *gaveUp) Error() string {
	return fmt.Sprintf("%v; gave up after %d attempts to reconnect: %v", call.ErrConnectionLost, g.attempts, g.last)
}

func (g *gaveUp) Unwrap() error { return call.ErrConnectionLost }

// describe is call.Describe, and what reconnecting tried.
func describe(err error) string {
	var g *gaveUp
	if errors.As(err, &g) {
		return fmt.Sprintf("The connection to the agent was lost and %d attempts to reconnect failed (the last: %s). Press Try again to call again.",
			g.attempts, strings.TrimSuffix(call.Describe(g.last), "."))
	}
	return call.Describe(err)
}

// retryable reports whether a failed connect is worth trying again while
// reconnecting: the agent unreachable, busy, slow, or the connection
// failing again; not a refused token or a request the agent rejects.
func retryable(err error) bool {
	var se *signal.StatusError
	switch {
	case errors.As(err, &se):
		return se.Status == http.StatusServiceUnavailable || se.Status >= 500
	case errors.Is(err, signal.ErrUnreachable), errors.Is(err, call.ErrConnectTimeout),
		errors.Is(err, call.ErrConnectionLost), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}

// connect places one call to the current agent with att's devices.
func (a *App) connect(att *attempt, start time.Time) (*call.Call, error) {
	a.mu.Lock()
	agentURL, token := a.cfg.AgentURL, a.cfg.Token
	if a.agent != nil {
		agentURL, token = a.agent.URL, a.agent.Token
	}
	iceServers, allowPrivate := a.cfg.ICEServers, a.cfg.AllowPrivate
	a.mu.Unlock()
	factory, err := rtc.NewForAgent(agentURL, iceServers, allowPrivate)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	cam := a.cam
	att.sentCam = cam
	a.mu.Unlock()
	cfg := call.Config{
		AgentURL: agentURL, Token: token, Factory: factory,
		Mic: att.mic, Speaker: att.speaker, Log: a.cfg.Log, Start: start,
		EchoCancel: a.echoConfig(), CameraPreset: a.preset(),
	}
	if cam != nil {
		cfg.Camera = cam
	}
	lost := make(chan error, 1)
	c, err := call.Dial(att.ctx, cfg, call.Callbacks{
		OnMicLevel: func(l float64) {
			a.mu.Lock()
			cb := a.onLevel
			a.mu.Unlock()
			cb(l)
		},
		OnEvent: func(e api.Event) { a.onEvent(att, e) },
		OnLost: func(err error) {
			select {
			case lost <- err:
			default: // told already
			}
		},
	})
	if err != nil {
		return nil, err
	}
	att.lost = lost
	return c, nil
}

// connected makes c att's call and shows it; false when Hang up was
// pressed meanwhile. A camera switched on or off while c was connecting
// is switched in c now.
func (a *App) connected(att *attempt, c *call.Call) bool {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	ok, watched := false, false
	var cam *camera.Source
	a.update(func(s *Status) bool {
		if att.ctx.Err() != nil || att.ended {
			return false
		}
		ok, watched = true, att.call == c // back by an ICE restart
		att.call = c
		c.SetMuted(s.Muted)
		cam = a.cam
		s.State, s.ConnectTime, s.Message = call.InCall, c.Metrics().ConnectTime, ""
		return true
	})
	if !ok {
		return false
	}
	if watched { // a switch of the camera reached the call meanwhile (swapCamera)
		return true
	}
	if cam != att.sentCam {
		a.sendCamera(c, cam)
	}
	go a.watch(att, c)
	return true
}

// currentCall returns the connected call, or nil.
func (a *App) currentCall() *call.Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.att == nil || a.att.ended {
		return nil
	}
	return a.att.call
}

// echoNotice says what a person should know about the echo canceller
// since the last look, once per call each: it diverged and restarted, or
// the two devices' clocks drifted apart.
func echoNotice(last, now call.EchoStats, toldReset, toldDrift *bool) string {
	switch {
	case now.Resets > last.Resets && !*toldReset:
		*toldReset = true
		return "The echo canceller lost track and restarted: the speaker may be too loud, or the room changed. The agent may hear itself for a moment."
	case now.Drift > last.Drift && !*toldDrift:
		*toldDrift = true
		return "The speaker and the microphone run at different speeds, so echo cancellation works less well. A headset, or one sound card for both, helps."
	}
	return ""
}

// echoConfig is the echo canceller's configuration, nil when it is off.
func (a *App) echoConfig() *aec.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.NoEchoCancellation {
		return nil
	}
	return &aec.Config{NoiseSuppression: a.cfg.NoiseSuppression, GainControl: a.cfg.GainControl}
}

// watch follows a connected call until it ends: once a second it
// publishes the call's statistics, and it tells the person, once per call
// each, when the echo canceller diverged or the speaker's and microphone's
// clocks drift apart.
func (a *App) watch(att *attempt, c *call.Call) {
	tick := time.NewTicker(StatsInterval)
	defer tick.Stop()
	var last call.EchoStats
	var toldReset, toldDrift bool
	for {
		select {
		case <-c.Done():
			return
		case <-tick.C:
		}
		if c.State() != call.InCall {
			continue // reconnecting: no statistics to show
		}
		st := c.Stats()
		msg := ""
		if e := c.Metrics().Echo; e.On {
			msg = echoNotice(last, e, &toldReset, &toldDrift)
			last = e
		}
		a.update(func(s *Status) bool {
			if a.att != att || att.ended || att.call != c || s.State != call.InCall {
				return false
			}
			s.Stats = &st
			if msg != "" {
				s.Notice = msg
			}
			return true
		})
	}
}

// StatsInterval is how often Status.Stats is refreshed during a call.
const StatsInterval = time.Second

// onEvent applies one event from the agent to the status (and the
// history).
func (a *App) onEvent(att *attempt, e api.Event) {
	var file *history.Turn
	a.update(func(s *Status) bool {
		if a.att != att || att.ended {
			return false // a late event from a call that is over
		}
		switch e.Type {
		case api.TypeState:
			s.AgentState = e.State
		case api.TypeAvatar, api.TypeMediaMode:
			a.onAvatarEvent(e)
			return false
		case api.TypeNotice:
			if e.Code == api.NoticeMemory { // shown where it happened, in the transcript
				now := time.Now()
				s.Transcript = withLine(s.Transcript, Line{Turn: e.Turn, Role: RoleMemory, Text: e.Message, Final: true, Start: now, End: now})
				return true
			}
			s.Notice = e.Message
		case api.TypeMetrics:
			if att.metrics == nil {
				att.metrics = map[int64]*api.TurnMetrics{}
			}
			att.metrics[e.Turn] = e.Metrics
			s.Metrics = e.Metrics
		case api.TypeTranscript:
			now := time.Now()
			line := Line{Turn: e.Turn, Role: e.Role, Text: e.Text, Final: e.Final, Interrupted: e.Interrupted, Start: now, End: now}
			if e.Final && e.Role == api.RoleAssistant {
				line.Metrics = att.metrics[e.Turn]
				delete(att.metrics, e.Turn)
			}
			s.Transcript = withLine(s.Transcript, line)
			if e.Final && strings.TrimSpace(e.Text) != "" && line.Role != RoleMemory {
				file = historyTurn(att.conv, line)
			}
		default:
			return false
		}
		return true
	})
	if file != nil {
		a.hw.add(file)
	}
}

// recall is the local agent's memory: the past turns (other conversations)
// most relevant to text, from the history.
func (a *App) recall(_ context.Context, text string) ([]string, error) {
	store, err := a.History()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	conv := ""
	if a.att != nil {
		conv = a.att.conv
	}
	a.mu.Unlock()
	hits, err := store.Recall(text, conv, 3)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		who := "you said"
		if h.Role == history.RoleAgent {
			who = "Parley said"
		}
		out = append(out, fmt.Sprintf("on %s %s: %s", h.Start.Local().Format("Jan 2"), who, h.Text))
	}
	return out, nil
}

// withLine returns a new transcript with line added, or replacing the
// partial line of the same turn and role.
// An empty final line closes a partial one (its words went to the next turn).
func withLine(tr []Line, line Line) []Line {
	out := make([]Line, len(tr), len(tr)+1)
	copy(out, tr)
	for i := len(out) - 1; i >= 0 && i >= len(out)-3; i-- {
		if out[i].Turn == line.Turn && out[i].Role == line.Role && !out[i].Final {
			if line.Final && strings.TrimSpace(line.Text) == "" {
				return append(out[:i], out[i+1:]...)
			}
			line.Start = out[i].Start
			out[i] = line
			return out
		}
	}
	if line.Final && strings.TrimSpace(line.Text) == "" {
		return out
	}
	return append(out, line)
}

// finish ends an attempt once: it closes its devices and publishes Ended
// (a hang-up) or Failed with a sentence for a person.
func (a *App) finish(att *attempt, err error) {
	att.once.Do(func() {
		if att.mic != nil {
			att.mic.Close()
		}
		if att.speaker != nil {
			att.speaker.Close()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			a.log.Warn("call failed", "err", err)
		}
		a.update(func(s *Status) bool {
			att.ended = true
			if a.att != att {
				return false
			}
			s.AgentState, s.Stats = "", nil
			a.resetAvatar()
			if err == nil || errors.Is(err, context.Canceled) {
				s.State, s.Message = call.Ended, ""
			} else {
				s.State, s.Message = call.Failed, describe(err)
			}
			return true
		})
		close(att.done)
		a.mu.Lock()
		pending := a.pending
		a.mu.Unlock()
		if pending {
			a.restartAgent() // settings changed during the call
		}
	})
}

// Hangup ends the call, or gives up connecting, and waits until the call's
// goroutines and devices have stopped.
func (a *App) Hangup() {
	a.mu.Lock()
	att := a.att
	a.mu.Unlock()
	if att == nil {
		return
	}
	att.cancel()
	a.mu.Lock()
	c := att.call
	a.mu.Unlock()
	if c != nil {
		c.Hangup()
	}
	<-att.done
}

// openDevices opens the microphone and speaker for att, without holding the
// app's lock (a backend can take a while). With echo cancellation on they
// are opened as one duplex device when the backend allows, so that the
// canceller gets what was played paired with what was captured on one
// clock; otherwise, or if that fails, as two devices.
func (a *App) openDevices(att *attempt) error {
	devs, err := a.soundSystem()
	if err != nil {
		return err
	}
	a.mu.Lock()
	micID, spkID, duplex := a.cfg.MicID, a.cfg.SpeakerID, !a.cfg.NoEchoCancellation
	a.mu.Unlock()
	var notices []string
	if micID != "" && !devs.Exists(device.Microphone, micID) {
		notices = append(notices, fmt.Sprintf("The microphone “%s” is not connected: using the default microphone.", micID))
		micID = ""
	}
	if spkID != "" && !devs.Exists(device.Speaker, spkID) {
		notices = append(notices, fmt.Sprintf("The speaker “%s” is not connected: using the default speaker.", spkID))
		spkID = ""
	}
	if len(notices) > 0 {
		msg := strings.Join(notices, " ")
		a.log.Warn("saved device missing", "notice", msg)
		a.update(func(s *Status) bool {
			s.Notice = msg
			return true
		})
	}
	if duplex {
		d, err := devs.OpenDuplex(micID, spkID)
		if err == nil {
			att.mic, att.speaker = d, d
			return nil
		}
		a.log.Warn("cannot open the microphone and speaker as one duplex device; opening them apart", "err", err)
	}
	mic, err := devs.OpenCapture(micID)
	if err != nil {
		return err
	}
	spk, err := devs.OpenPlayback(spkID)
	if err != nil {
		mic.Close()
		return err
	}
	att.mic, att.speaker = mic, spk
	return nil
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
	a.SetCamera(false)
	a.hw.close() // the last turns reach the history
	<-a.Ready()
	a.bgCancel()
	a.bg.Wait()
	a.storeMu.Lock()
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("closing the asset cache", "err", err)
		}
	}
	a.storeMu.Unlock()
	a.histMu.Lock() // wait for an opening history
	defer a.histMu.Unlock()
	a.mu.Lock()
	devs, hist := a.devs, a.hist
	a.devs, a.hist = nil, nil
	a.mu.Unlock()
	if hist != nil {
		if err := hist.Close(); err != nil {
			a.log.Warn("closing the history", "err", err)
		}
	}
	if devs != nil {
		if err := devs.Close(); err != nil {
			a.log.Warn("closing the sound system", "err", err)
		}
	}
	a.mu.Lock()
	la := a.agent
	a.mu.Unlock()
	if la != nil {
		return la.Close()
	}
	return nil
}
