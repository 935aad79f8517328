package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app"
)

// Preference keys of the AI settings (Fyne preferences, kept per user by
// Fyne in the user config dir).
const (
	prefLLMURL     = "ai.llm_url"
	prefLLMKey     = "ai.llm_key"
	prefLLMModel   = "ai.llm_model"
	prefVision     = "ai.vision"
	prefSTT        = "ai.stt"
	prefSTTModel   = "ai.stt_model"
	prefTTS        = "ai.tts"
	prefTTSModel   = "ai.tts_model"
	prefVoice      = "ai.voice"
	prefPrompt     = "ai.system_prompt"
	prefEndSilence = "ai.end_silence_ms"
	prefMemory     = "ai.memory"
	prefNoAEC      = "sound.no_echo_cancellation"
	prefNoise      = "sound.noise_suppression"
	prefAGC        = "sound.gain_control"
)

// LoadSettings reads the AI settings from p (defaults where unset).
func LoadSettings(p fyne.Preferences) app.Settings {
	return app.Settings{
		LLMURL: p.String(prefLLMURL), LLMKey: p.String(prefLLMKey), LLMModel: p.String(prefLLMModel),
		Vision: p.Bool(prefVision),
		STT:    p.StringWithFallback(prefSTT, app.ProviderOffline), STTModel: p.String(prefSTTModel),
		TTS: p.StringWithFallback(prefTTS, app.ProviderOffline), TTSModel: p.String(prefTTSModel), Voice: p.String(prefVoice),
		SystemPrompt: p.String(prefPrompt),
		EndSilence:   time.Duration(p.Int(prefEndSilence)) * time.Millisecond,
		Memory:       p.Bool(prefMemory),

		NoEchoCancellation: p.Bool(prefNoAEC),
		NoiseSuppression:   p.Bool(prefNoise),
		GainControl:        p.Bool(prefAGC),
	}
}

// SaveSettings writes s to p.
func SaveSettings(p fyne.Preferences, s app.Settings) {
	p.SetString(prefLLMURL, s.LLMURL)
	p.SetString(prefLLMKey, s.LLMKey)
	p.SetString(prefLLMModel, s.LLMModel)
	p.SetBool(prefVision, s.Vision)
	p.SetString(prefSTT, s.STT)
	p.SetString(prefSTTModel, s.STTModel)
	p.SetString(prefTTS, s.TTS)
	p.SetString(prefTTSModel, s.TTSModel)
	p.SetString(prefVoice, s.Voice)
	p.SetString(prefPrompt, s.SystemPrompt)
	p.SetInt(prefEndSilence, int(s.EndSilence/time.Millisecond))
	p.SetBool(prefMemory, s.Memory)
	p.SetBool(prefNoAEC, s.NoEchoCancellation)
	p.SetBool(prefNoise, s.NoiseSuppression)
	p.SetBool(prefAGC, s.GainControl)
}

// Configurer applies settings (app.App does).
type Configurer interface {
	Configure(app.Settings) error
}

// SettingsWindow is the AI and sound settings: where the language model
// is, which speech-to-text and text-to-speech to use, the system prompt, the
// pause that ends a turn, memory, and echo cancellation, noise suppression
// and gain control.
type SettingsWindow struct {
	Win        fyne.Window
	LLMURL     *widget.Entry
	LLMKey     *widget.Entry
	Model      *widget.SelectEntry
	FindModels *widget.Button
	Vision     *widget.Check
	STT        *widget.RadioGroup
	STTModel   *widget.Entry
	TTS        *widget.RadioGroup
	TTSModel   *widget.Entry
	Voice      *widget.Entry
	Prompt     *widget.Entry
	EndSilence *widget.Entry // seconds
	Memory     *widget.Check
	EchoCancel *widget.Check
	Noise      *widget.Check
	Gain       *widget.Check
	Save       *widget.Button
	Result     *widget.Label // what Save or Find models did

	prefs fyne.Preferences
	conf  Configurer
	// listModels is app.ListModels; tests replace it.
	listModels func(ctx context.Context, url, key string) ([]string, error)
}

const (
	choiceOffline = "On this computer (pocketsphinx / espeak-ng)"
	choiceServer  = "Through the server above"
)

// NewSettingsWindow builds the settings window, filled from a's
// preferences; Save checks, stores and applies them through c.
func NewSettingsWindow(a fyne.App, c Configurer) *SettingsWindow {
	s := &SettingsWindow{
		Win: a.NewWindow("Parley settings"), prefs: a.Preferences(), conf: c, listModels: app.ListModels,
		LLMURL: widget.NewEntry(), LLMKey: widget.NewPasswordEntry(), Model: widget.NewSelectEntry(nil),
		Vision:   widget.NewCheck("The model understands images: show it my camera", nil),
		STTModel: widget.NewEntry(), TTSModel: widget.NewEntry(), Voice: widget.NewEntry(),
		Prompt: widget.NewMultiLineEntry(), EndSilence: widget.NewEntry(),
		Memory:     widget.NewCheck("Remind the model of earlier conversations (searches your history)", nil),
		Result:     widget.NewLabel(""),
		EchoCancel: widget.NewCheck("Cancel the speaker's echo (turn off when you wear headphones)", nil),
		Noise:      widget.NewCheck("Suppress background noise", nil),
		Gain:       widget.NewCheck("Even out the loudness of my voice", nil),
	}
	s.STT = widget.NewRadioGroup([]string{choiceOffline, choiceServer}, nil)
	s.TTS = widget.NewRadioGroup([]string{choiceOffline, choiceServer}, nil)
	s.LLMURL.SetPlaceHolder("empty: Ollama on this computer, if it runs (else Parley repeats what it heard)")
	s.LLMKey.SetPlaceHolder("API key, if the server needs one")
	s.Model.SetPlaceHolder("e.g. llama3.2 — Find models lists them")
	s.STTModel.SetPlaceHolder("transcription model, e.g. whisper-1")
	s.TTSModel.SetPlaceHolder("speech model, e.g. tts-1 or kokoro")
	s.Voice.SetPlaceHolder("voice, e.g. alloy (on this computer: an espeak-ng voice, default en-us)")
	s.Prompt.SetPlaceHolder("system prompt (empty: short spoken answers)")
	s.Prompt.Wrapping = fyne.TextWrapWord
	s.Result.Wrapping = fyne.TextWrapWord
	s.FindModels = widget.NewButton("Find models", s.find)
	s.Save = widget.NewButton("Save", s.save)
	s.Save.Importance = widget.HighImportance
	s.fill(LoadSettings(s.prefs))

	form := widget.NewForm(
		widget.NewFormItem("Model server", s.LLMURL),
		widget.NewFormItem("API key", s.LLMKey),
		widget.NewFormItem("Model", container.NewBorder(nil, nil, nil, s.FindModels, s.Model)),
		widget.NewFormItem("", s.Vision),
		widget.NewFormItem("Speech-to-text", container.NewVBox(s.STT, s.STTModel)),
		widget.NewFormItem("Speech", container.NewVBox(s.TTS, s.TTSModel, s.Voice)),
		widget.NewFormItem("System prompt", s.Prompt),
		widget.NewFormItem("End of turn after (s)", s.EndSilence),
		widget.NewFormItem("", s.Memory),
		widget.NewFormItem("Sound", container.NewVBox(s.EchoCancel, s.Noise, s.Gain)),
	)
	s.Win.SetContent(container.NewVBox(form, s.Save, s.Result))
	s.Win.Resize(fyne.NewSize(640, 560))
	return s
}

func (s *SettingsWindow) fill(v app.Settings) {
	s.LLMURL.SetText(v.LLMURL)
	s.LLMKey.SetText(v.LLMKey)
	s.Model.SetText(v.LLMModel)
	s.Vision.SetChecked(v.Vision)
	s.STT.SetSelected(choice(v.STT))
	s.STTModel.SetText(v.STTModel)
	s.TTS.SetSelected(choice(v.TTS))
	s.TTSModel.SetText(v.TTSModel)
	s.Voice.SetText(v.Voice)
	s.Prompt.SetText(v.SystemPrompt)
	if v.EndSilence > 0 {
		s.EndSilence.SetText(strconv.FormatFloat(v.EndSilence.Seconds(), 'f', -1, 64))
	} else {
		s.EndSilence.SetText("")
		s.EndSilence.SetPlaceHolder(strconv.FormatFloat(0.6, 'f', -1, 64))
	}
	s.Memory.SetChecked(v.Memory)
	s.EchoCancel.SetChecked(!v.NoEchoCancellation)
	s.Noise.SetChecked(v.NoiseSuppression)
	s.Gain.SetChecked(v.GainControl)
}

func choice(kind string) string {
	if kind == app.ProviderServer {
		return choiceServer
	}
	return choiceOffline
}

func kind(choice string) string {
	if choice == choiceServer {
		return app.ProviderServer
	}
	return app.ProviderOffline
}

// read returns what the form says, or an error a person understands.
func (s *SettingsWindow) read() (app.Settings, error) {
	v := app.Settings{
		LLMURL: strings.TrimSpace(s.LLMURL.Text), LLMKey: strings.TrimSpace(s.LLMKey.Text),
		LLMModel: strings.TrimSpace(s.Model.Text), Vision: s.Vision.Checked,
		STT: kind(s.STT.Selected), STTModel: strings.TrimSpace(s.STTModel.Text),
		TTS: kind(s.TTS.Selected), TTSModel: strings.TrimSpace(s.TTSModel.Text), Voice: strings.TrimSpace(s.Voice.Text),
		SystemPrompt: strings.TrimSpace(s.Prompt.Text), Memory: s.Memory.Checked,
		NoEchoCancellation: !s.EchoCancel.Checked, NoiseSuppression: s.Noise.Checked, GainControl: s.Gain.Checked,
	}
	if t := strings.TrimSpace(s.EndSilence.Text); t != "" {
		sec, err := strconv.ParseFloat(strings.ReplaceAll(t, ",", "."), 64)
		if err != nil {
			return v, fmt.Errorf("the end-of-turn pause %q is not a number of seconds", t)
		}
		v.EndSilence = time.Duration(sec * float64(time.Second))
	}
	return v, v.Check()
}

func (s *SettingsWindow) save() {
	v, err := s.read()
	if err == nil {
		err = s.conf.Configure(v)
	}
	if err != nil {
		s.Result.SetText("Not saved: " + err.Error())
		s.Result.Importance = widget.DangerImportance
		s.Result.Refresh()
		return
	}
	SaveSettings(s.prefs, v)
	s.Result.SetText("Saved. The agent restarts with these settings (after the current call, if one is running).")
	s.Result.Importance = widget.SuccessImportance
	s.Result.Refresh()
}

// find lists the server's models, off the UI goroutine.
func (s *SettingsWindow) find() {
	url, key := strings.TrimSpace(s.LLMURL.Text), strings.TrimSpace(s.LLMKey.Text)
	s.FindModels.Disable()
	s.Result.SetText("Looking for models…")
	go func() {
		models, err := s.listModels(context.Background(), url, key)
		fyne.Do(func() {
			s.FindModels.Enable()
			switch {
			case err != nil:
				s.Result.SetText("No models found: " + err.Error())
			case len(models) == 0:
				s.Result.SetText("The server has no models yet (with Ollama: ollama pull llama3.2).")
			default:
				s.Model.SetOptions(models)
				if s.Model.Text == "" {
					s.Model.SetText(models[0])
				}
				s.Result.SetText(fmt.Sprintf("%d models: %s", len(models), strings.Join(models, ", ")))
			}
		})
	}()
}
