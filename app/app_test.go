package app

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/device/pulsetest"
)

type recorder struct {
	mu     sync.Mutex
	states []Status
	levels int
	ch     chan Status
	logs   *lockedBuffer // the app's log, shown when waitFor gives up (nil: none)
}

// startApp starts an App from cfg for the test (closed when it ends) and
// records the statuses it publishes.
func startApp(t *testing.T, cfg Config) (*App, *recorder) {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	r := &recorder{ch: make(chan Status, 1000)}
	a.OnStatus(r.status, nil)
	return a, r
}

func (r *recorder) status(s Status) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.ch <- s
}

func (r *recorder) level(float64) {
	r.mu.Lock()
	r.levels++
	r.mu.Unlock()
}

func (r *recorder) waitFor(t testing.TB, want call.State) Status {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case s := <-r.ch:
			if s.State == want {
				return s
			}
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.logs != nil {
				t.Logf("log:\n%s", r.logs.String())
			}
			t.Fatalf("never reached %v; saw %+v", want, r.states)
		}
	}
}

// TestCallLifecycle drives the app as the window does, against real
// (user-mode PulseAudio) devices: idle → connecting → in call → ended.
func TestCallLifecycle(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	a, err := New(Config{Echo: true, NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := &recorder{ch: make(chan Status, 100)}
	a.OnStatus(r.status, r.level)
	if s := a.Status(); s.State != call.Idle || !s.Local {
		t.Fatalf("initial status %+v", s)
	}
	a.Call()
	a.Call() // a second press while connecting is ignored
	r.waitFor(t, call.Connecting)
	s := r.waitFor(t, call.InCall)
	if s.ConnectTime <= 0 {
		t.Fatalf("no connect time in %+v", s)
	}
	time.Sleep(200 * time.Millisecond)
	a.Hangup()
	r.waitFor(t, call.Ended)
	r.mu.Lock()
	levels := r.levels
	r.mu.Unlock()
	if levels == 0 {
		t.Fatal("no microphone levels were reported during the call")
	}
	// And again: a call can follow a call.
	a.Call()
	r.waitFor(t, call.InCall)
	a.Hangup()
	r.waitFor(t, call.Ended)
}

// TestCallEndsWhenTheSoundServerDies: the sound server dies mid-call
// (killed, so miniaudio never reports the device stopped). The call does
// not go on in silence: it ends within seconds with a message a person
// understands, and the app still closes.
func TestCallEndsWhenTheSoundServerDies(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	a, r := startApp(t, Config{Echo: true, NoHistory: true})
	a.Call()
	r.waitFor(t, call.InCall)
	time.Sleep(500 * time.Millisecond)
	if err := pa.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	s := r.waitFor(t, call.Failed)
	if !strings.Contains(s.Message, "stopped working") {
		t.Fatalf("the call failed %v after the sound server died with %q, want the device named as stopped", time.Since(killed), s.Message)
	}
	t.Logf("%v after the sound server died: %s", time.Since(killed).Round(time.Millisecond), s.Message)
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		t.Logf("Close: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the app does not close after the sound server died")
	}
}

// TestCallWithoutSoundSystem: with no sound server the call fails with a
// message a person understands, and nothing is left running.
func TestCallWithoutSoundSystem(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PULSE_SERVER", "unix:"+dir+"/nothing-here")
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("HOME", dir)
	t.Setenv("ALSA_CONFIG_PATH", dir+"/no-alsa.conf")
	a, r := startApp(t, Config{Echo: true, NoHistory: true})
	a.Call()
	s := r.waitFor(t, call.Failed)
	if s.Message == "" || s.Message == call.Describe(nil) {
		t.Fatalf("failed without a message: %+v", s)
	}
	t.Logf("message: %s", s.Message)
}
