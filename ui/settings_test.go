package ui

import (
	"context"
	"errors"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device"
)

// TestSettingsPersistAndApply: what is saved is applied and comes back in
// a new window (Fyne preferences); a bad address is refused with a reason
// and nothing is saved.
func TestSettingsPersistAndApply(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{}
	s := NewSettingsWindow(a, fc)
	if s.STT.Selected != choiceOffline || s.TTS.Selected != choiceOffline || s.LLMURL.Text != "" {
		t.Fatalf("defaults: STT %q, TTS %q, URL %q", s.STT.Selected, s.TTS.Selected, s.LLMURL.Text)
	}

	s.LLMURL.SetText("localhost:11434")
	test.Tap(s.Save)
	if !strings.Contains(s.Result.Text, "Not saved") || !strings.Contains(s.Result.Text, "http://127.0.0.1:11434/v1") || len(fc.configured) != 0 {
		t.Fatalf("bad URL: %q, %d applied", s.Result.Text, len(fc.configured))
	}

	s.LLMURL.SetText("http://127.0.0.1:11434/v1")
	s.Model.SetText("llama3.2")
	s.Vision.SetChecked(true)
	s.TTS.SetSelected(choiceServer)
	s.TTSModel.SetText("kokoro")
	s.Voice.SetText("af_heart")
	s.EndSilence.SetText("0,8")
	s.Memory.SetChecked(true)
	if !s.EchoCancel.Checked {
		t.Fatal("echo cancellation is off by default")
	}
	s.EchoCancel.SetChecked(false)
	s.Noise.SetChecked(true)
	test.Tap(s.Save)
	if len(fc.configured) != 1 || !strings.HasPrefix(s.Result.Text, "Saved") {
		t.Fatalf("save: %q, %d applied", s.Result.Text, len(fc.configured))
	}
	want := app.Settings{LLMURL: "http://127.0.0.1:11434/v1", LLMModel: "llama3.2", Vision: true, STT: app.ProviderOffline,
		TTS: app.ProviderServer, TTSModel: "kokoro", Voice: "af_heart", EndSilence: 800 * time.Millisecond, Memory: true,
		NoEchoCancellation: true, NoiseSuppression: true}
	if fc.configured[0] != want {
		t.Fatalf("applied %+v", fc.configured[0])
	}
	again := NewSettingsWindow(a, fc)
	if got, _ := again.read(); got != want {
		t.Fatalf("a new window shows %+v", got)
	}
	if LoadSettings(a.Preferences()) != want {
		t.Fatal("preferences differ")
	}
}

func TestFindModels(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	s := NewSettingsWindow(a, &fakeCaller{})
	var asked string
	s.listModels = func(_ context.Context, url, _ string) ([]string, error) {
		asked = url
		if url == "" {
			return nil, errors.New("Ollama is not running on this machine")
		}
		return []string{"llama3.2", "llava"}, nil
	}
	test.Tap(s.FindModels)
	waitFor(t, func() bool { return strings.HasPrefix(s.Result.Text, "No models found") })
	if !strings.Contains(s.Result.Text, "Ollama is not running") {
		t.Fatalf("result %q", s.Result.Text)
	}
	s.LLMURL.SetText("http://10.0.0.5:8080/v1")
	test.Tap(s.FindModels)
	waitFor(t, func() bool { return strings.HasPrefix(s.Result.Text, "2 models") })
	if asked != "http://10.0.0.5:8080/v1" || s.Model.Text != "llama3.2" {
		t.Fatalf("asked %q, model %q", asked, s.Model.Text)
	}
}

// TestConnectionSettings: the remote agent's address and token are kept
// and applied, a bad address is refused, and Test connection says what it
// found or the exact error.
func TestConnectionSettings(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{}
	s := NewSettingsWindow(a, fc)
	defer s.Close()
	if s.Mode.Selected != choiceLocal || !s.AgentURL.Disabled() || !s.TestButton.Disabled() {
		t.Fatalf("default: mode %q, address disabled %v", s.Mode.Selected, s.AgentURL.Disabled())
	}
	s.Mode.SetSelected(choiceRemote)
	if s.AgentURL.Disabled() || s.TestButton.Disabled() {
		t.Fatal("remote mode leaves the address disabled")
	}
	s.AgentURL.SetText("gpu-box:8443")
	test.Tap(s.Save)
	if !strings.Contains(s.Result.Text, "Not saved") || len(fc.configured) != 0 {
		t.Fatalf("an address without a scheme: %q, %d applied", s.Result.Text, len(fc.configured))
	}
	var asked []string
	s.testConnection = func(_ context.Context, url, token string) (app.ConnectionReport, error) {
		asked = append(asked, url+" "+token)
		if token != "good" {
			return app.ConnectionReport{}, errors.New("the agent at gpu-box:8443 refused the token")
		}
		r := app.ConnectionReport{URL: url, HostPort: "gpu-box:8443", Reachable: true, SameVersion: true, RoundTrip: 3 * time.Millisecond}
		r.Version, r.MaxSessions = api.ProtocolVersion, 4
		free := 3
		r.Free = &free
		return r, nil
	}
	s.AgentURL.SetText("https://gpu-box:8443")
	s.Token.SetText("bad")
	test.Tap(s.TestButton)
	waitFor(t, func() bool { return strings.Contains(s.TestResult.Text, "refused the token") })
	if s.TestResult.Importance != widget.DangerImportance {
		t.Fatal("an error is not shown as one")
	}
	s.Token.SetText("good")
	test.Tap(s.TestButton)
	waitFor(t, func() bool { return strings.Contains(s.TestResult.Text, "3 of its 4 call slots are free") })
	if len(asked) != 2 || asked[1] != "https://gpu-box:8443 good" {
		t.Fatalf("asked %q", asked)
	}
	test.Tap(s.Save)
	if len(fc.configured) != 1 {
		t.Fatalf("save: %q", s.Result.Text)
	}
	if got := fc.configured[0]; !got.Remote || got.AgentURL != "https://gpu-box:8443" || got.Token != "good" {
		t.Fatalf("applied %+v", got)
	}
	again := NewSettingsWindow(a, fc)
	defer again.Close()
	if again.Mode.Selected != choiceRemote || again.AgentURL.Text != "https://gpu-box:8443" || again.Token.Text != "good" {
		t.Fatalf("a new window shows mode %q, %q", again.Mode.Selected, again.AgentURL.Text)
	}
	// And back to local.
	again.Mode.SetSelected(choiceLocal)
	test.Tap(again.Save)
	if got := fc.configured[1]; got.Remote {
		t.Fatalf("back to local: %+v", got)
	}
}

// TestDevicePickers: the pickers list the devices the app finds; a saved
// device that is gone stays chosen, marked, with a notice; a device
// plugged in while the window is open shows up; the choice is saved.
func TestDevicePickers(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{devices: app.Devices{
		Mics:     []device.Info{{Name: "Built-in Microphone", Default: true}, {Name: "Pipe source"}},
		Speakers: []device.Info{{Name: "Null sink", Default: true}},
		Cameras:  []camera.Info{{ID: camera.TestPatternID, Label: "Test pattern", Kind: camera.TestPattern}},
	}}
	SaveSettings(a.Preferences(), app.Settings{Mic: "USB Headset", Camera: camera.TestPatternID, VideoPreset: "1024x768"})
	s := NewSettingsWindow(a, fc)
	defer s.Close()
	waitFor(t, func() bool { return len(s.Mic.Options) > 0 })
	if s.Mic.Selected != "USB Headset (not connected)" || !strings.Contains(s.DeviceNote.Text, "“USB Headset” is not connected") || s.DeviceNote.Hidden {
		t.Fatalf("gone mic: selected %q, note %q", s.Mic.Selected, s.DeviceNote.Text)
	}
	if s.Speaker.Selected != choiceDefault || s.Camera.Selected != "Test pattern" || s.Preset.Selected != "1024×768 at 800 kbit/s" {
		t.Fatalf("speaker %q, camera %q, preset %q", s.Speaker.Selected, s.Camera.Selected, s.Preset.Selected)
	}
	// Saving keeps the gone microphone (it is used again once it is back).
	test.Tap(s.Save)
	if got := fc.configured[0]; got.Mic != "USB Headset" || got.Camera != camera.TestPatternID || got.VideoPreset != "1024x768" {
		t.Fatalf("applied %+v", got)
	}
	fc.mu.Lock()
	fc.devices.Mics = append(fc.devices.Mics, device.Info{Name: "USB Headset"})
	fc.mu.Unlock()
	// The pickers and the note are filled on the watch's goroutine (the test
	// driver runs fyne.Do in place): wait for both, the note is set last.
	waitFor2(t, 3*DeviceRefresh, func() bool { return s.Mic.Selected == "USB Headset" && s.DeviceNote.Hidden })
	s.Mic.SetSelected("Pipe source")
	s.Speaker.SetSelected("Null sink")
	s.Preset.SetSelected("640×480 at 500 kbit/s")
	test.Tap(s.Save)
	if got := fc.configured[1]; got.Mic != "Pipe source" || got.Speaker != "Null sink" || got.VideoPreset != "" {
		t.Fatalf("applied %+v", got)
	}
	if got := LoadSettings(a.Preferences()); got.Mic != "Pipe source" || got.Speaker != "Null sink" {
		t.Fatalf("saved %+v", got)
	}
	// The sound system failing is said, not hidden.
	fc.mu.Lock()
	fc.devErr = errors.New("device: no audio device: no sound system could be opened")
	fc.mu.Unlock()
	waitFor2(t, 3*DeviceRefresh, func() bool { return strings.Contains(s.DeviceNote.Text, "could not list") })
}

// TestThemeChoice: the appearance setting holds the theme to light or
// dark and is kept.
func TestThemeChoice(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	s := NewSettingsWindow(a, &fakeCaller{})
	defer s.Close()
	if s.Theme.Selected != ThemeSystem {
		t.Fatalf("default theme %q", s.Theme.Selected)
	}
	bg := func() color.Color {
		return a.Settings().Theme().Color(theme.ColorNameBackground, a.Settings().ThemeVariant())
	}
	s.Theme.SetSelected(ThemeDark)
	test.Tap(s.Save)
	dark := bg()
	s.Theme.SetSelected(ThemeLight)
	test.Tap(s.Save)
	light := bg()
	if dark == light {
		t.Fatalf("light and dark have the same background %v", dark)
	}
	if dark != theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark) {
		t.Fatalf("dark background %v", dark)
	}
	if ThemeName(a.Preferences()) != ThemeLight {
		t.Fatal("the choice is not kept")
	}
}

func waitFor2(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var ok bool
		fyne.DoAndWait(func() { ok = cond() })
		if ok {
			return
		}
	}
	t.Fatalf("condition not met in %v", within)
}

// TestKeyboardShortcuts: Ctrl+, opens the settings, also while typing a
// message; in the settings Ctrl+PageDown and Ctrl+PageUp change tabs,
// Ctrl+S saves and Esc closes the window.
func TestKeyboardShortcuts(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	fc := &fakeCaller{}
	w := NewWindow(a, fc)
	press := func(c fyne.Canvas, s fyne.Shortcut) { c.(fyne.Shortcutable).TypedShortcut(s) }

	press(w.Win.Canvas(), SettingsShortcut)
	if w.Settings == nil {
		t.Fatal("Ctrl+, did not open the settings")
	}
	s := w.Settings
	cv := s.Win.Canvas()
	if s.Tabs.SelectedIndex() != 0 {
		t.Fatalf("the settings open on tab %d", s.Tabs.SelectedIndex())
	}
	press(cv, NextTabShortcut)
	if got := s.Tabs.Selected().Text; got != "Devices" {
		t.Fatalf("Ctrl+PageDown went to %q", got)
	}
	press(cv, PrevTabShortcut)
	press(cv, PrevTabShortcut) // from the first tab round to the last
	if got := s.Tabs.Selected().Text; got != "Appearance" {
		t.Fatalf("Ctrl+PageUp twice from Devices went to %q", got)
	}
	press(cv, SaveShortcut)
	waitFor(t, func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return len(fc.configured) == 1 })
	if !strings.HasPrefix(s.Result.Text, "Saved.") {
		t.Fatalf("Ctrl+S: %q", s.Result.Text)
	}
	cv.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if w.Settings != nil {
		t.Fatal("Esc did not close the settings")
	}

	// While the message box has the focus it gets every shortcut first.
	w.Win.Canvas().Focus(w.Entry)
	w.Entry.TypedShortcut(SettingsShortcut)
	if w.Settings == nil {
		t.Fatal("Ctrl+, in the message box did not open the settings")
	}
	press(w.Settings.Win.Canvas(), CloseShortcut)
	if w.Settings != nil {
		t.Fatal("Ctrl+W did not close the settings")
	}
}
