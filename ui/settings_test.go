package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parley-app/parley/app"
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
