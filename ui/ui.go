// Package ui is Parley's Fyne front end. It renders the plain app.Status it
// is given and sends intents (Call, Hang up) back; all call logic lives in
// app. Every update from a background goroutine goes through fyne.Do.
package ui

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/history"
	"github.com/parley-app/parley/assets"
)

// Icon is the app icon (drawn by package assets) as a Fyne resource.
var Icon = fyne.NewStaticResource("parley.png", assets.IconPNG())

// Caller is what the window needs from the app.
type Caller interface {
	Call()
	Hangup()
	Status() app.Status
	OnStatus(status func(app.Status), level func(float64))
	History() (*history.Store, error)
	Send(text string) error
	Animator
	Configurer
}

// Window is the main call window's widgets.
type Window struct {
	caller  Caller
	Win     fyne.Window
	Button  *widget.Button
	State   *widget.Label
	Agent   *widget.Label
	Level   *widget.ProgressBar
	Connect *widget.Label
	Latency *widget.Label // the last turn's latencies
	Message *widget.Label
	Notice  *widget.Label // what the agent wants the person to know

	// The conversation: the transcript and a box to type instead of speak.
	Transcript *widget.List
	Entry      *widget.Entry
	SendButton *widget.Button
	lines      []app.Line

	HistoryButton *widget.Button
	History       *HistoryWindow // open history window, if any

	SettingsButton *widget.Button
	Settings       *SettingsWindow // open settings window, if any
	Providers      *widget.Label   // the local agent's STT · LLM · TTS

	Avatar *AvatarView
}

// openSettings shows the settings window.
func (w *Window) openSettings(a fyne.App) {
	if w.Settings == nil {
		w.Settings = NewSettingsWindow(a, w.caller)
		w.Settings.Win.SetOnClosed(func() { w.Settings = nil })
	}
	w.Settings.Win.Show()
	w.Settings.Win.RequestFocus()
}

// openHistory shows the history window, opening the history on first use
// off the UI goroutine (a first open may rebuild the search index).
func (w *Window) openHistory(a fyne.App) {
	if w.History != nil {
		w.History.Win.Show()
		w.History.Win.RequestFocus()
		return
	}
	w.HistoryButton.Disable()
	go func() {
		store, err := w.caller.History()
		fyne.Do(func() {
			w.HistoryButton.Enable()
			if err != nil {
				msg := "Your conversation history could not be opened: " + err.Error()
				if errors.Is(err, history.ErrInUse) {
					msg = "Your conversation history is open in another Parley window or command. Close it and try again."
				}
				w.Message.SetText(msg)
				return
			}
			w.History = NewHistoryWindow(a, store)
			w.History.Win.SetOnClosed(func() { w.History = nil })
			w.History.Win.Show()
		})
	}()
}

// NewWindow builds the main window in a and binds it to c.
func NewWindow(a fyne.App, c Caller) *Window {
	w := &Window{
		caller:    c,
		Win:       a.NewWindow("Parley"),
		State:     widget.NewLabel(""),
		Agent:     widget.NewLabel(""),
		Level:     widget.NewProgressBar(),
		Connect:   widget.NewLabel(""),
		Latency:   widget.NewLabel(""),
		Message:   widget.NewLabel(""),
		Notice:    widget.NewLabel(""),
		Entry:     widget.NewEntry(),
		Providers: widget.NewLabel(""),
	}
	w.SettingsButton = widget.NewButton("Settings", func() { w.openSettings(a) })
	w.Providers.Wrapping = fyne.TextWrapWord
	w.Transcript = widget.NewList(
		func() int { return len(w.lines) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Wrapping = fyne.TextWrapWord
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(w.lines) {
				o.(*widget.Label).SetText(lineText(w.lines[i]))
				w.Transcript.SetItemHeight(i, o.MinSize().Height)
			}
		},
	)
	w.Entry.SetPlaceHolder("Type a message instead of speaking, then press Enter")
	w.Entry.OnSubmitted = func(string) { w.send() }
	w.SendButton = widget.NewButton("Send", w.send)
	w.Notice.Wrapping = fyne.TextWrapWord
	w.Notice.Importance = widget.WarningImportance
	w.Button = widget.NewButton("Call", w.toggle)
	w.HistoryButton = widget.NewButton("History", func() { w.openHistory(a) })
	w.Button.Importance = widget.HighImportance
	w.Level.Max = 1
	w.Level.TextFormatter = func() string { return "" }
	w.Message.Wrapping = fyne.TextWrapWord
	w.Message.Importance = widget.DangerImportance
	form := widget.NewForm(
		widget.NewFormItem("Status", w.State),
		widget.NewFormItem("Agent", w.Agent),
		widget.NewFormItem("Microphone", w.Level),
		widget.NewFormItem("Connect time", w.Connect),
		widget.NewFormItem("Last turn", w.Latency),
		widget.NewFormItem("AI", w.Providers),
	)
	w.Win.SetIcon(Icon)
	top := container.NewVBox(w.Button, form, w.Notice, w.Message)
	bottom := container.NewVBox(container.NewBorder(nil, nil, nil, w.SendButton, w.Entry),
		container.NewGridWithColumns(2, w.HistoryButton, w.SettingsButton))
	w.Avatar = NewAvatarView(c)
	split := container.NewHSplit(w.Avatar.Box, w.Transcript)
	split.Offset = 0.45
	w.Win.SetContent(container.NewBorder(top, bottom, nil, nil, split))
	w.Win.Resize(fyne.NewSize(960, 720))
	w.Avatar.Start()
	a.Lifecycle().SetOnStopped(w.Avatar.Stop)
	c.OnStatus(
		func(s app.Status) { fyne.Do(func() { w.Render(s) }) },
		w.levelUpdates(),
	)
	w.Render(c.Status())
	return w
}

// send sends the typed message, off the UI goroutine.
func (w *Window) send() {
	text := strings.TrimSpace(w.Entry.Text)
	if text == "" {
		return
	}
	go func() {
		err := w.caller.Send(text)
		fyne.Do(func() {
			if err != nil {
				w.Message.SetText(err.Error())
				return
			}
			w.Entry.SetText("")
		})
	}()
}

// lineText is how a transcript line reads.
func lineText(l app.Line) string {
	who := "You"
	switch l.Role {
	case api.RoleAssistant:
		who = "Parley"
	case app.RoleMemory:
		return "Memory: " + l.Text
	}
	text := l.Text
	switch {
	case l.Interrupted:
		text += " … (you interrupted)"
	case !l.Final:
		text += " …"
	}
	if l.Metrics != nil {
		text += "\n" + latencyText(l.Metrics)
	}
	return who + ": " + text
}

// latencyText sums up a turn's latencies in milliseconds.
func latencyText(m *api.TurnMetrics) string {
	var parts []string
	if m.VoiceToVoiceMS > 0 {
		parts = append(parts, fmt.Sprintf("%.0f ms voice to voice", m.VoiceToVoiceMS))
	}
	add := func(name string, v float64) {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", name, v))
		}
	}
	add("end of turn", m.EndOfTurnMS)
	add("speech-to-text", m.STTMS)
	add("first token", m.TTFTMS)
	add("speech", m.TTSMS)
	add("first audio", m.FirstAudioMS)
	return strings.Join(parts, " · ")
}

// LevelInterval is how often the microphone meter is redrawn: 15 times a
// second is smooth to the eye, where the 50 levels a second the call
// reports would redraw the whole window 50 times a second (software GL
// under load then starves the audio).
const LevelInterval = time.Second / 15

// levelUpdates returns the level callback: it passes at most one level per
// LevelInterval to the UI goroutine (and always a 0, so the meter drops
// when the call ends).
func (w *Window) levelUpdates() func(float64) {
	var last atomic.Int64
	return func(l float64) {
		now := time.Now().UnixNano()
		if l != 0 && now-last.Load() < int64(LevelInterval) {
			return
		}
		last.Store(now)
		fyne.Do(func() { w.Level.SetValue(l) })
	}
}

func (w *Window) toggle() {
	switch w.caller.Status().State {
	case call.Connecting, call.InCall:
		go w.caller.Hangup() // Hangup waits for the call to stop; keep the UI responsive
	default:
		w.caller.Call()
	}
}

var stateText = map[call.State]string{
	call.Idle:       "Ready to call",
	call.Connecting: "Connecting…",
	call.InCall:     "In call",
	call.Ended:      "Call ended",
	call.Failed:     "Call failed",
}

// Render shows s; call it on the Fyne goroutine.
func (w *Window) Render(s app.Status) {
	mode := "remote agent"
	if s.Local {
		mode = "local agent"
	}
	w.State.SetText(fmt.Sprintf("%s (%s)", stateText[s.State], mode))
	w.Agent.SetText(s.AgentState)
	switch s.State {
	case call.Connecting, call.InCall:
		w.Button.SetText("Hang up")
		w.Button.Importance = widget.DangerImportance
	default:
		w.Button.SetText("Call")
		w.Button.Importance = widget.HighImportance
		w.Level.SetValue(0)
	}
	w.Button.Refresh()
	if s.ConnectTime > 0 {
		w.Connect.SetText(fmt.Sprintf("%.1f ms", float64(s.ConnectTime.Microseconds())/1000))
	} else {
		w.Connect.SetText("—")
	}
	w.Message.SetText(s.Message)
	w.Providers.SetText(s.Providers)
	w.Avatar.Render(s.Avatar)
	if s.Providers == "" && !s.Local {
		w.Providers.SetText("chosen by the remote agent")
	}
	w.Notice.SetText(s.Notice)
	w.Notice.Hidden = s.Notice == ""
	if s.Metrics != nil {
		w.Latency.SetText(latencyText(s.Metrics))
	} else {
		w.Latency.SetText("—")
	}
	inCall := s.State == call.InCall
	if inCall {
		w.SendButton.Enable()
		w.Entry.Enable()
	} else {
		w.SendButton.Disable()
		w.Entry.Disable()
	}
	grew := len(s.Transcript) > len(w.lines)
	w.lines = s.Transcript
	w.Transcript.Refresh()
	if grew {
		w.Transcript.ScrollToBottom()
	}
}
