package ui

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parley-app/parley/agent/api"
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
	sent    []string
	sendErr error

	configured []app.Settings
	frame      app.AvatarFrame
}

func (f *fakeCaller) Avatar(time.Time) app.AvatarFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frame
}

func (f *fakeCaller) Configure(s app.Settings) error {
	if err := s.Check(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.configured = append(f.configured, s)
	return nil
}

func (f *fakeCaller) Send(text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, text)
	return f.sendErr
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

// TestTranscriptTypingAndNotices: the conversation shows up line by line
// (partial lines replaced by final ones, latencies under the reply), a typed
// message goes to the agent, and notices and send errors are shown.
func TestTranscriptTypingAndNotices(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{st: app.Status{Local: true}}
	w := NewWindow(a, fc)
	if !w.Entry.Disabled() {
		t.Fatal("the message box is usable without a call")
	}
	m := &api.TurnMetrics{EndOfTurnMS: 600, STTMS: 250, TTFTMS: 300, TTSMS: 120, FirstAudioMS: 1300, VoiceToVoiceMS: 1350}
	go fc.push(app.Status{State: call.InCall, Local: true, Notice: "No language model is set up.", Transcript: []app.Line{
		{Turn: 1, Role: api.RoleUser, Text: "go forward ten meters", Final: true},
		{Turn: 1, Role: api.RoleAssistant, Text: "Going forward", Final: false},
	}})
	waitFor(t, func() bool { return w.Transcript.Length() == 2 })
	if w.Notice.Text != "No language model is set up." || w.Notice.Hidden || w.Entry.Disabled() {
		t.Fatalf("notice %q hidden %v, entry disabled %v", w.Notice.Text, w.Notice.Hidden, w.Entry.Disabled())
	}
	if got := lineText(w.lines[1]); got != "Parley: Going forward …" {
		t.Fatalf("partial line %q", got)
	}
	go fc.push(app.Status{State: call.InCall, Local: true, Metrics: m, Transcript: []app.Line{
		{Turn: 1, Role: api.RoleUser, Text: "go forward ten meters", Final: true},
		{Turn: 1, Role: api.RoleAssistant, Text: "Going forward ten meters.", Final: true, Metrics: m},
		{Turn: 2, Role: api.RoleAssistant, Text: "And then", Final: true, Interrupted: true},
	}})
	waitFor(t, func() bool { return w.Transcript.Length() == 3 })
	if got := lineText(w.lines[1]); got != "Parley: Going forward ten meters.\n1350 ms voice to voice · end of turn 600 · speech-to-text 250 · first token 300 · speech 120 · first audio 1300" {
		t.Fatalf("final line %q", got)
	}
	if got := lineText(w.lines[2]); !strings.HasSuffix(got, "(you interrupted)") {
		t.Fatalf("interrupted line %q", got)
	}
	if !strings.HasPrefix(w.Latency.Text, "1350 ms voice to voice") || !w.Notice.Hidden {
		t.Fatalf("latency %q, notice hidden %v", w.Latency.Text, w.Notice.Hidden)
	}

	test.Type(w.Entry, "what time is it?")
	test.Tap(w.SendButton)
	waitFor(t, func() bool { return w.Entry.Text == "" })
	fc.mu.Lock()
	sent := fc.sent
	fc.sendErr = errors.New("there is no call to send the message in: press Call first")
	fc.mu.Unlock()
	if len(sent) != 1 || sent[0] != "what time is it?" {
		t.Fatalf("sent %q", sent)
	}
	test.Type(w.Entry, "again")
	w.Entry.OnSubmitted(w.Entry.Text)
	waitFor(t, func() bool { return strings.Contains(w.Message.Text, "press Call first") })
	if w.Entry.Text != "again" {
		t.Fatal("a message that could not be sent was cleared")
	}
}
