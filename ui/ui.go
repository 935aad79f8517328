// Package ui is Parley's Fyne front end. It renders the plain app.Status it
// is given and sends intents (Call, Hang up) back; all call logic lives in
// app. Every update from a background goroutine goes through fyne.Do.
package ui

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
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
	SetMuted(muted bool)
	SetCamera(on bool)
	SelfView() image.Image
	Animator
	Configurer
}

// Window is the main call window's widgets.
type Window struct {
	caller Caller
	prefs  fyne.Preferences
	Win    fyne.Window

	// Call controls: Call / Hang up (Try again after a failure), mute,
	// camera on/off, and the microphone's level.
	Button *widget.Button
	Mute   *widget.Button
	Camera *widget.Button
	Level  *widget.ProgressBar

	// The badge: mode (local / remote) and the call's state; the agent's
	// state (listening, thinking, speaking) beside it.
	State   *widget.Label
	Agent   *widget.Label
	Message *widget.Label // what went wrong, in words for a person
	Notice  *widget.Label // what the agent (or the app) wants the person to know

	// The conversation: the transcript and a box to type instead of speak.
	Transcript *widget.List
	Entry      *MessageEntry
	SendButton *widget.Button
	lines      []app.Line

	// The stats panel: connection and latency.
	StatsPanel *widget.Accordion
	Connect    *widget.Label
	RTT        *widget.Label
	Jitter     *widget.Label
	Loss       *widget.Label
	Audio      *widget.Label // bit rates sent / received
	Video      *widget.Label
	Latency    *widget.Label // the last turn's latencies
	Providers  *widget.Label // the local agent's STT · LLM · TTS

	HistoryButton *widget.Button
	History       *HistoryWindow // open history window, if any

	SettingsButton *widget.Button
	Settings       *SettingsWindow // open settings window, if any

	Avatar   *AvatarView
	SelfView *SelfView
	level    atomic.Uint64 // the microphone's latest level, float64 bits
	metering bool          // in a call: onFrame draws level (else the meter stays at 0)
}

// openSettings shows the settings window.
func (w *Window) openSettings(a fyne.App) {
	if w.Settings == nil {
		w.Settings = NewSettingsWindow(a, w.caller)
		w.Settings.Win.SetOnClosed(func() {
			w.Settings.Close()
			w.Settings = nil
		})
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

// Default and smallest sizes of the main window. The window remembers the
// size a person gave it (Fyne preferences). Fyne repaints the whole window
// for every change (the avatar's mouth: 25 times a second while the agent
// speaks); under a software renderer (Mesa's llvmpipe, as under Xvfb) a
// 1200×760 window took enough CPU from the audio on two cores to break up
// the agent's voice in 1 run of 5 (TestGUICall), 960×720 in none of 4.
var (
	DefaultSize = fyne.NewSize(960, 720)
	MinSize     = fyne.NewSize(800, 600)
)

const (
	prefWidth  = "window.width"
	prefHeight = "window.height"
)

// NewWindow builds the main window in a and binds it to c.
func NewWindow(a fyne.App, c Caller) *Window {
	w := &Window{
		caller:    c,
		prefs:     a.Preferences(),
		Win:       a.NewWindow("Parley"),
		State:     widget.NewLabel(""),
		Agent:     widget.NewLabel(""),
		Level:     widget.NewProgressBar(),
		Connect:   widget.NewLabel(""),
		RTT:       widget.NewLabel(""),
		Jitter:    widget.NewLabel(""),
		Loss:      widget.NewLabel(""),
		Audio:     widget.NewLabel(""),
		Video:     widget.NewLabel(""),
		Latency:   widget.NewLabel(""),
		Message:   widget.NewLabel(""),
		Notice:    widget.NewLabel(""),
		Providers: widget.NewLabel(""),
	}
	w.Entry = NewMessageEntry(w.send, w.hangup)
	w.SettingsButton = widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), func() { w.openSettings(a) })
	w.HistoryButton = widget.NewButtonWithIcon("History", theme.HistoryIcon(), func() { w.openHistory(a) })
	w.Providers.Wrapping = fyne.TextWrapWord
	w.Latency.Wrapping = fyne.TextWrapWord
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
	w.SendButton = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), w.send)
	w.Notice.Wrapping = fyne.TextWrapWord
	w.Notice.Importance = widget.WarningImportance
	w.Message.Wrapping = fyne.TextWrapWord
	w.Message.Importance = widget.DangerImportance
	w.State.TextStyle = fyne.TextStyle{Bold: true}
	w.Agent.TextStyle = fyne.TextStyle{Italic: true}
	w.Button = widget.NewButtonWithIcon("Call", theme.MediaPlayIcon(), w.toggle)
	w.Button.Importance = widget.HighImportance
	w.Mute = widget.NewButtonWithIcon("Mute", theme.VolumeMuteIcon(), w.toggleMute)
	w.Camera = widget.NewButtonWithIcon("Camera on", theme.MediaVideoIcon(), w.toggleCamera)
	w.Level.Max = 1
	w.Level.TextFormatter = func() string { return "" }

	stats := widget.NewForm(
		widget.NewFormItem("Connect time", w.Connect),
		widget.NewFormItem("Round trip", w.RTT),
		widget.NewFormItem("Jitter", w.Jitter),
		widget.NewFormItem("Packet loss", w.Loss),
		widget.NewFormItem("Audio", w.Audio),
		widget.NewFormItem("Video", w.Video),
		widget.NewFormItem("Last turn", w.Latency),
		widget.NewFormItem("AI", w.Providers),
	)
	w.StatsPanel = widget.NewAccordion(widget.NewAccordionItem("Connection and latency", stats))

	w.Win.SetIcon(Icon)
	w.Avatar = NewAvatarView(c)
	w.SelfView = NewSelfView(c)
	top := container.NewBorder(nil, nil, container.NewHBox(w.State, w.Agent), container.NewHBox(w.HistoryButton, w.SettingsButton))
	stage := container.NewStack(w.Avatar.Box, container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), w.SelfView.Image), nil, nil))
	controls := container.NewBorder(nil, nil, container.NewHBox(w.Button, w.Mute, w.Camera), nil, w.Level)
	left := container.NewBorder(nil, container.NewVBox(controls, w.Notice, w.Message), nil, nil, stage)
	typing := container.NewBorder(nil, nil, nil, w.SendButton, w.Entry)
	right := container.NewBorder(nil, container.NewVBox(typing, w.StatsPanel), nil, nil, w.Transcript)
	split := container.NewHSplit(left, right)
	split.Offset = 0.55
	w.Win.SetContent(container.NewBorder(top, nil, nil, nil, split))
	w.Win.Resize(w.savedSize())
	w.shortcuts(a)
	w.Avatar.OnFrame = w.onFrame
	w.Avatar.Start()
	a.Lifecycle().SetOnStopped(func() {
		w.SaveSize()
		w.Avatar.Stop()
	})
	c.OnStatus(
		func(s app.Status) { fyne.Do(func() { w.Render(s) }) },
		w.levelUpdates(),
	)
	w.Render(c.Status())
	return w
}

// savedSize is the size the window had when it was last closed, or
// DefaultSize; never smaller than MinSize.
func (w *Window) savedSize() fyne.Size {
	width, height := w.prefs.Float(prefWidth), w.prefs.Float(prefHeight)
	if width <= 0 || height <= 0 {
		return DefaultSize
	}
	return fyne.NewSize(max(float32(width), MinSize.Width), max(float32(height), MinSize.Height))
}

// SaveSize remembers the window's size for the next launch; the app's
// stop does it.
func (w *Window) SaveSize() {
	size := w.Win.Canvas().Size()
	if size.Width < 1 || size.Height < 1 {
		return
	}
	w.prefs.SetFloat(prefWidth, float64(size.Width))
	w.prefs.SetFloat(prefHeight, float64(size.Height))
}

// shortcuts binds the keyboard: M mutes (when not typing), Ctrl+Enter
// sends the typed message, Esc hangs up, Ctrl+, opens the settings (also
// while typing).
func (w *Window) shortcuts(a fyne.App) {
	cv := w.Win.Canvas()
	cv.SetOnTypedRune(func(r rune) {
		if r == 'm' || r == 'M' {
			w.toggleMute()
		}
	})
	cv.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			w.hangup()
		}
	})
	cv.AddShortcut(SendShortcut, func(fyne.Shortcut) { w.send() })
	settings := func(fyne.Shortcut) { w.openSettings(a) }
	cv.AddShortcut(SettingsShortcut, settings)
	w.Entry.shortcuts = map[string]func(fyne.Shortcut){SettingsShortcut.ShortcutName(): settings}
}

var (
	// SendShortcut sends the typed message: Ctrl+Enter (Cmd+Enter on macOS).
	SendShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	// SettingsShortcut opens the settings window: Ctrl+, (Cmd+, on macOS),
	// as in most desktop apps.
	SettingsShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyComma, Modifier: fyne.KeyModifierShortcutDefault}
)

// MessageEntry is the box to type a message in: Enter or Ctrl+Enter sends
// it, Esc hangs up (as everywhere in the window).
type MessageEntry struct {
	widget.Entry
	onSend, onEscape func()
	// shortcuts are the window's shortcuts that also work while typing
	// (a focused entry gets every shortcut before the window does).
	shortcuts map[string]func(fyne.Shortcut)
}

// NewMessageEntry returns the message box.
func NewMessageEntry(onSend, onEscape func()) *MessageEntry {
	e := &MessageEntry{onSend: onSend, onEscape: onEscape}
	e.ExtendBaseWidget(e)
	e.SetPlaceHolder("Type a message instead of speaking, then press Enter")
	e.OnSubmitted = func(string) { onSend() }
	return e
}

// TypedShortcut sends on Ctrl+Enter, passes the window's shortcuts on and
// leaves the rest to the entry.
func (e *MessageEntry) TypedShortcut(s fyne.Shortcut) {
	if s.ShortcutName() == SendShortcut.ShortcutName() {
		e.onSend()
		return
	}
	if f := e.shortcuts[s.ShortcutName()]; f != nil {
		f(s)
		return
	}
	e.Entry.TypedShortcut(s)
}

// TypedKey hangs up on Esc and leaves the rest to the entry.
func (e *MessageEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// hangup ends the call or stops connecting (Esc), off the UI goroutine.
func (w *Window) hangup() {
	switch w.caller.Status().State {
	case call.Connecting, call.InCall, call.Reconnecting:
		go w.caller.Hangup() // Hangup waits for the call to stop; keep the UI responsive
	}
}

func (w *Window) toggleMute() { w.caller.SetMuted(!w.caller.Status().Muted) }

func (w *Window) toggleCamera() { go w.caller.SetCamera(!w.caller.Status().Camera) }

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
				w.Message.Show()
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

// PanelEvery is how many avatar frames (AvatarInterval, 40 ms) pass
// between two updates of the self-view and the microphone meter: every
// 3rd, 8.3 times a second. They are drawn in the same frame as the avatar
// so that all three share one repaint: Fyne repaints the whole window for
// any change, and under a software renderer (Mesa's llvmpipe, as under
// Xvfb) a repaint of a 1280×800 window costs ~13 ms of CPU
// (BenchmarkInCall).
const PanelEvery = 3

// levelUpdates returns the level callback: it keeps the latest level for
// the avatar clock to draw (onFrame).
func (w *Window) levelUpdates() func(float64) {
	return func(l float64) { w.level.Store(math.Float64bits(l)) }
}

// onFrame runs on the Fyne goroutine after the avatar clock's n-th frame:
// every PanelEvery-th it draws the self-view's new camera frame and, in a
// call, the microphone's level, if they changed (a silent microphone
// repaints nothing).
func (w *Window) onFrame(n int) {
	if n%PanelEvery != 0 {
		return
	}
	w.SelfView.Show()
	if !w.metering {
		return // the last level of a call that ended is not shown
	}
	if l := math.Float64frombits(w.level.Load()); w.Level.Value != l {
		w.Level.SetValue(l)
	}
}

func (w *Window) toggle() {
	switch w.caller.Status().State {
	case call.Connecting, call.InCall, call.Reconnecting:
		go w.caller.Hangup() // Hangup waits for the call to stop; keep the UI responsive
	default:
		w.caller.Call()
	}
}

var stateText = map[call.State]string{
	call.Idle:         "Ready to call",
	call.Connecting:   "Connecting…",
	call.InCall:       "In call",
	call.Reconnecting: "Reconnecting…",
	call.Ended:        "Call ended",
	call.Failed:       "Call failed",
}

// Render shows s; call it on the Fyne goroutine. It touches only the
// widgets whose content changed: every refresh repaints the window, and
// under a software renderer repaints take CPU from the audio.
func (w *Window) Render(s app.Status) {
	mode := "Remote agent"
	if s.Local {
		mode = "Local agent"
	}
	badge := widget.MediumImportance
	switch s.State {
	case call.InCall:
		badge = widget.SuccessImportance
	case call.Connecting, call.Reconnecting:
		badge = widget.WarningImportance
	case call.Failed:
		badge = widget.DangerImportance
	}
	setLabel(w.State, fmt.Sprintf("%s · %s", mode, stateText[s.State]), badge)
	setLabel(w.Agent, s.AgentState, w.Agent.Importance)
	switch s.State {
	case call.Connecting, call.InCall, call.Reconnecting:
		setButton(w.Button, "Hang up", theme.MediaStopIcon(), widget.DangerImportance)
	case call.Failed:
		setButton(w.Button, "Try again", theme.MediaReplayIcon(), widget.HighImportance)
	default:
		setButton(w.Button, "Call", theme.MediaPlayIcon(), widget.HighImportance)
	}
	w.metering = s.State == call.InCall
	if !w.metering && w.Level.Value != 0 {
		w.Level.SetValue(0)
	}
	if s.Muted {
		setButton(w.Mute, "Unmute", theme.VolumeUpIcon(), widget.WarningImportance)
	} else {
		setButton(w.Mute, "Mute", theme.VolumeMuteIcon(), widget.MediumImportance)
	}
	if s.Camera {
		setButton(w.Camera, "Camera off", theme.MediaVideoIcon(), widget.MediumImportance)
	} else {
		setButton(w.Camera, "Camera on", theme.MediaVideoIcon(), widget.MediumImportance)
	}
	if s.Camera != w.SelfView.Image.Visible() {
		w.SelfView.Render(s.Camera)
	}
	connect := "—"
	if s.ConnectTime > 0 {
		connect = fmt.Sprintf("%.1f ms", float64(s.ConnectTime.Microseconds())/1000)
	}
	setLabel(w.Connect, connect, w.Connect.Importance)
	w.renderStats(s.Stats)
	setLabel(w.Message, s.Message, w.Message.Importance)
	setHidden(w.Message, s.Message == "")
	providers := s.Providers
	if providers == "" && !s.Local {
		providers = "chosen by the remote agent"
	}
	setLabel(w.Providers, providers, w.Providers.Importance)
	w.Avatar.Render(s.Avatar)
	setLabel(w.Notice, s.Notice, w.Notice.Importance)
	setHidden(w.Notice, s.Notice == "")
	latency := "—"
	if s.Metrics != nil {
		latency = latencyText(s.Metrics)
	}
	setLabel(w.Latency, latency, w.Latency.Importance)
	if inCall := s.State == call.InCall; inCall == w.Entry.Disabled() {
		if inCall {
			w.SendButton.Enable()
			w.Entry.Enable()
		} else {
			w.SendButton.Disable()
			w.Entry.Disable()
		}
	}
	if sameLines(w.lines, s.Transcript) {
		return
	}
	grew := len(s.Transcript) > len(w.lines)
	w.lines = s.Transcript
	w.Transcript.Refresh()
	if grew {
		w.Transcript.ScrollToBottom()
	}
}

// sameLines reports whether a and b are the same transcript (a Status's
// transcript is copy-on-write: a change is a new slice).
func sameLines(a, b []app.Line) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// setLabel sets a label's text and importance, refreshing it only if one
// changed.
func setLabel(l *widget.Label, text string, imp widget.Importance) {
	if l.Text == text && l.Importance == imp {
		return
	}
	l.Importance = imp
	l.SetText(text) // refreshes
}

// setButton sets a button's text, icon and importance, refreshing it only
// if one changed.
func setButton(b *widget.Button, text string, icon fyne.Resource, imp widget.Importance) {
	if b.Text == text && b.Icon == icon && b.Importance == imp {
		return
	}
	b.Text, b.Icon, b.Importance = text, icon, imp
	b.Refresh()
}

// setHidden shows or hides o, only if that changes.
func setHidden(o fyne.CanvasObject, hidden bool) {
	switch {
	case hidden && o.Visible():
		o.Hide()
	case !hidden && !o.Visible():
		o.Show()
	}
}
