// Package ui is Parley's Fyne front end. It renders the plain app.Status it
// is given and sends intents (Call, Hang up) back; all call logic lives in
// app. Every update from a background goroutine goes through fyne.Do.
package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

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
	Message *widget.Label

	HistoryButton *widget.Button
	History       *HistoryWindow // open history window, if any
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
		caller:  c,
		Win:     a.NewWindow("Parley"),
		State:   widget.NewLabel(""),
		Agent:   widget.NewLabel(""),
		Level:   widget.NewProgressBar(),
		Connect: widget.NewLabel(""),
		Message: widget.NewLabel(""),
	}
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
	)
	w.Win.SetIcon(Icon)
	w.Win.SetContent(container.NewVBox(w.Button, form, w.Message, w.HistoryButton))
	w.Win.Resize(fyne.NewSize(480, 320))
	c.OnStatus(
		func(s app.Status) { fyne.Do(func() { w.Render(s) }) },
		func(l float64) { fyne.Do(func() { w.Level.SetValue(l) }) },
	)
	w.Render(c.Status())
	return w
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
}
