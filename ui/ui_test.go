package ui

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

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

	muted   []bool
	camera  []bool
	self    image.Image
	devices app.Devices
	devErr  error
}

func (f *fakeCaller) SetMuted(m bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.muted = append(f.muted, m)
}

func (f *fakeCaller) SetCamera(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.camera = append(f.camera, on)
}

func (f *fakeCaller) SelfView() image.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

func (f *fakeCaller) Devices() (app.Devices, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.devices, f.devErr
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

	if w.Button.Text != "Call" || !strings.Contains(w.State.Text, "Ready") || !strings.Contains(w.State.Text, "Local agent") {
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
	if w.Button.Text != "Try again" || w.Level.Value != 0 || w.Message.Hidden || !strings.Contains(w.State.Text, "Call failed") {
		t.Fatalf("after a failure: button %q, level %v, message hidden %v, state %q", w.Button.Text, w.Level.Value, w.Message.Hidden, w.State.Text)
	}
	// The meter stays at 0: the call's last level is not drawn again on the
	// avatar's clock (3 of its panel frames).
	time.Sleep(3 * PanelEvery * AvatarInterval)
	var level float64
	fyne.DoAndWait(func() { level = w.Level.Value })
	if level != 0 {
		t.Fatalf("the meter shows %v after the call ended", level)
	}
	test.Tap(w.Button)
	if fc.calls != 2 {
		t.Fatal("Try again did not call again")
	}

	go fc.push(app.Status{State: call.Reconnecting, Message: "Reconnecting (attempt 1 of 6)…"})
	waitFor(t, func() bool { return strings.Contains(w.State.Text, "Reconnecting") })
	if w.Button.Text != "Hang up" || !strings.Contains(w.State.Text, "Remote agent") || w.State.Importance != widget.WarningImportance {
		t.Fatalf("reconnecting: button %q, state %q", w.Button.Text, w.State.Text)
	}
}

// TestCallControls: mute and camera buttons and the keyboard (M, Esc,
// Ctrl+Enter) reach the app; the self-view shows the camera while it is
// on; the stats panel shows the connection.
func TestCallControls(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	// A 16:9 camera frame of one colour: the 4:3 thumbnail shows it with
	// black bars above and below.
	self := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	for i := range self.Y {
		self.Y[i] = 150
	}
	for i := range self.Cb {
		self.Cb[i], self.Cr[i] = 60, 190
	}
	want := color.RGBAModel.Convert(self.At(160, 90)).(color.RGBA)
	fc := &fakeCaller{st: app.Status{Local: true, State: call.InCall}, self: self}
	w := NewWindow(a, fc)
	test.Tap(w.Mute)
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return len(fc.muted) == 1 && fc.muted[0] })
	go fc.push(app.Status{Local: true, State: call.InCall, Muted: true})
	waitFor(t, func() bool { return w.Mute.Text == "Unmute" })
	w.Win.Canvas().Unfocus()
	test.TypeOnCanvas(w.Win.Canvas(), "m")
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return len(fc.muted) == 2 && !fc.muted[1] })

	test.Tap(w.Camera)
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return len(fc.camera) == 1 && fc.camera[0] })
	if w.SelfView.Image.Visible() {
		t.Fatal("the self-view shows before the camera is on")
	}
	go fc.push(app.Status{Local: true, State: call.InCall, Camera: true})
	waitFor(t, func() bool { return w.Camera.Text == "Camera off" && w.SelfView.Image.Visible() })
	var thumb *image.RGBA
	waitFor(t, func() bool {
		fyne.DoAndWait(func() { thumb, _ = w.SelfView.Image.Image.(*image.RGBA) })
		return thumb != nil
	})
	fyne.DoAndWait(func() {
		b := thumb.Bounds()
		mid, top := thumb.RGBAAt(b.Dx()/2, b.Dy()/2), thumb.RGBAAt(b.Dx()/2, 2)
		near := func(a, b uint8) bool { return int(a)-int(b) < 3 && int(b)-int(a) < 3 }
		if b.Dx() != 2*int(SelfViewSize.Width) || !near(mid.R, want.R) || !near(mid.G, want.G) || !near(mid.B, want.B) || top != (color.RGBA{A: 255}) {
			t.Errorf("self-view %v: middle %v (camera %v), top %v (want black bars)", b, mid, want, top)
		}
	})

	// Ctrl+Enter in the message box sends; Esc there hangs up.
	test.Type(w.Entry, "hello")
	w.Entry.TypedShortcut(SendShortcut)
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return len(fc.sent) == 1 && fc.sent[0] == "hello" })
	w.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return fc.hangups == 1 })
	// Esc with nothing focused hangs up too.
	w.Win.Canvas().Unfocus()
	w.Win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return fc.hangups == 2 })

	st := call.Stats{RTT: 1500 * time.Microsecond, RTTSource: call.RTTFromRTCP,
		AudioIn:  call.InboundStats{Jitter: 2 * time.Millisecond, RecentLoss: 0.05, BitRate: 32000, Packets: 100},
		AudioOut: call.OutboundStats{BitRate: 40000, Packets: 100, RecentLoss: 0.01}}
	go fc.push(app.Status{Local: true, State: call.InCall, Stats: &st})
	waitFor(t, func() bool { return w.RTT.Text == "1.5 ms (RTCP)" })
	if w.Loss.Text != "5.0 % in · 1.0 % at the agent" || w.Audio.Text != "40 kbit/s sent · 32 kbit/s received" || w.Video.Text != "none" {
		t.Fatalf("stats: loss %q, audio %q, video %q", w.Loss.Text, w.Audio.Text, w.Video.Text)
	}
	go fc.push(app.Status{Local: true, State: call.Ended})
	waitFor(t, func() bool { return w.RTT.Text == "—" })
}

// TestWindowSizeIsRemembered: the size the window had is the size it
// opens with next time.
func TestWindowSizeIsRemembered(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	w := NewWindow(a, &fakeCaller{st: app.Status{Local: true}})
	if got := w.savedSize(); got != DefaultSize {
		t.Fatalf("first launch: %v", got)
	}
	w.Win.Resize(fyne.NewSize(900, 640))
	w.SaveSize()
	w2 := NewWindow(a, &fakeCaller{st: app.Status{Local: true}})
	if got := w2.savedSize(); got.Width != 900 || got.Height != 640 {
		t.Fatalf("second launch: %v", got)
	}
	a.Preferences().SetFloat(prefWidth, 300)
	if got := w2.savedSize(); got.Width != MinSize.Width {
		t.Fatalf("a tiny saved size is not raised to the minimum: %v", got)
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
