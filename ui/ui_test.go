package ui

import (
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/history"
)

// fakeCaller stands in for app.App: it records intents and lets the test
// push statuses, as the app's goroutines do.
type fakeCaller struct {
	mu      sync.Mutex
	st      app.Status
	calls   int
	hangups int
	status  func(app.Status)
	level   func(float64)
	hist    *history.Store
	histErr error
}

func (f *fakeCaller) Call() {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
}
func (f *fakeCaller) Hangup() {
	f.mu.Lock()
	f.hangups++
	f.mu.Unlock()
}
func (f *fakeCaller) Status() app.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}
func (f *fakeCaller) OnStatus(s func(app.Status), l func(float64)) { f.status, f.level = s, l }
func (f *fakeCaller) History() (*history.Store, error)             { return f.hist, f.histErr }

func (f *fakeCaller) push(s app.Status) {
	f.mu.Lock()
	f.st = s
	f.mu.Unlock()
	f.status(s)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 2 s")
}

func TestWindowFollowsTheCall(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{st: app.Status{Local: true}}
	w := NewWindow(a, fc)

	if w.Button.Text != "Call" || !strings.Contains(w.State.Text, "Ready") || !strings.Contains(w.State.Text, "local") {
		t.Fatalf("idle window: button %q, state %q", w.Button.Text, w.State.Text)
	}
	test.Tap(w.Button)
	if fc.calls != 1 {
		t.Fatalf("pressing Call made %d calls", fc.calls)
	}

	go fc.push(app.Status{State: call.InCall, Local: true, ConnectTime: 4200 * time.Microsecond, AgentState: "listening"})
	waitFor(t, func() bool { return w.Button.Text == "Hang up" })
	if w.Connect.Text != "4.2 ms" || w.Agent.Text != "listening" {
		t.Fatalf("in call: connect %q, agent %q", w.Connect.Text, w.Agent.Text)
	}
	go fc.level(0.5)
	waitFor(t, func() bool { return w.Level.Value == 0.5 })

	test.Tap(w.Button)
	waitFor(t, func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.hangups == 1
	})

	msg := call.Describe(call.ErrConnectionLost)
	go fc.push(app.Status{State: call.Failed, Local: true, Message: msg})
	waitFor(t, func() bool { return w.Message.Text == msg })
	if w.Button.Text != "Call" || w.Level.Value != 0 {
		t.Fatalf("after a failure: button %q, level %v", w.Button.Text, w.Level.Value)
	}
}
