package ui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/media/camera"
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
	prefRemote     = "connection.remote"
	prefAgentURL   = "connection.agent_url"
	prefToken      = "connection.token"
	prefMic        = "devices.microphone"
	prefSpeaker    = "devices.speaker"
	prefCamera     = "devices.camera"
	prefPreset     = "video.preset"
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

		Remote: p.Bool(prefRemote), AgentURL: p.String(prefAgentURL), Token: p.String(prefToken),
		Mic: p.String(prefMic), Speaker: p.String(prefSpeaker), Camera: p.String(prefCamera),
		VideoPreset: p.String(prefPreset),
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
	p.SetBool(prefRemote, s.Remote)
	p.SetString(prefAgentURL, s.AgentURL)
	p.SetString(prefToken, s.Token)
	p.SetString(prefMic, s.Mic)
	p.SetString(prefSpeaker, s.Speaker)
	p.SetString(prefCamera, s.Camera)
	p.SetString(prefPreset, s.VideoPreset)
}

// Configurer applies settings and lists the devices to choose from
// (app.App does).
type Configurer interface {
	Configure(app.Settings) error
	Devices() (app.Devices, error)
}

// SettingsWindow is the app's settings, in tabs: the agent (local or
// remote, with its address and token and a connection test), the devices
// (microphone, speaker, camera, video quality), the AI providers (where
// the language model is, speech-to-text and text-to-speech, the system
// prompt, the pause that ends a turn, memory), the sound processing (echo
// cancellation, noise suppression, gain control) and the appearance.
type SettingsWindow struct {
	Win  fyne.Window
	Tabs *container.AppTabs

	// Agent
	Mode       *widget.RadioGroup // choiceLocal or choiceRemote
	AgentURL   *widget.Entry
	Token      *widget.Entry
	TestButton *widget.Button
	TestResult *widget.Label

	// Devices
	Mic, Speaker, Camera *widget.Select
	Preset               *widget.Select
	DeviceNote           *widget.Label // a saved device that is gone, or the sound system's problem
	mic, speaker, camera *devicePicker
	devices              app.Devices
	listed               bool // devices holds a complete listing

	// AI
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

	// Sound
	EchoCancel *widget.Check
	Noise      *widget.Check
	Gain       *widget.Check

	// Appearance
	Theme *widget.RadioGroup

	Save   *widget.Button
	Result *widget.Label // what Save or Find models did

	app   fyne.App
	prefs fyne.Preferences
	conf  Configurer
	// listModels is app.ListModels and testConnection app.TestConnection;
	// tests replace them.
	listModels     func(ctx context.Context, url, key string) ([]string, error)
	testConnection func(ctx context.Context, url, token string) (app.ConnectionReport, error)

	stopOnce sync.Once
	stop     chan struct{} // ends the device watch
}

const (
	choiceOffline = "On this computer (pocketsphinx / espeak-ng)"
	choiceServer  = "Through the server above"
	choiceLocal   = "On this computer (local agent)"
	choiceRemote  = "On another machine (remote agent)"
	choiceDefault = "System default"
	choiceAuto    = "First camera found"
	notConnected  = " (not connected)"
)

// DeviceRefresh is how often the open settings window looks for devices
// that were plugged in or removed.
const DeviceRefresh = 2 * time.Second

// NewSettingsWindow builds the settings window, filled from a's
// preferences; Save checks, stores and applies them through c. The device
// lists are read when it opens and every DeviceRefresh while it is open.
func NewSettingsWindow(a fyne.App, c Configurer) *SettingsWindow {
	s := &SettingsWindow{
		Win: a.NewWindow("Parley settings"), app: a, prefs: a.Preferences(), conf: c,
		listModels: app.ListModels, testConnection: app.TestConnection, stop: make(chan struct{}),
		AgentURL: widget.NewEntry(), Token: widget.NewPasswordEntry(), TestResult: widget.NewLabel(""),
		DeviceNote: widget.NewLabel(""),
		LLMURL:     widget.NewEntry(), LLMKey: widget.NewPasswordEntry(), Model: widget.NewSelectEntry(nil),
		Vision:   widget.NewCheck("The model understands images: show it my camera", nil),
		STTModel: widget.NewEntry(), TTSModel: widget.NewEntry(), Voice: widget.NewEntry(),
		Prompt: widget.NewMultiLineEntry(), EndSilence: widget.NewEntry(),
		Memory:     widget.NewCheck("Remind the model of earlier conversations (searches your history)", nil),
		Result:     widget.NewLabel(""),
		EchoCancel: widget.NewCheck("Cancel the speaker's echo (turn off when you wear headphones)", nil),
		Noise:      widget.NewCheck("Suppress background noise", nil),
		Gain:       widget.NewCheck("Even out the loudness of my voice", nil),
	}
	s.Mode = widget.NewRadioGroup([]string{choiceLocal, choiceRemote}, func(string) { s.modeChanged() })
	s.Mode.Required = true
	s.AgentURL.SetPlaceHolder("e.g. https://gpu-box.example:8443")
	s.Token.SetPlaceHolder("the agent's access token (parley-agent --token)")
	s.TestButton = widget.NewButton("Test connection", s.test)
	s.TestResult.Wrapping = fyne.TextWrapWord
	s.mic, s.speaker, s.camera = newDevicePicker("microphone", choiceDefault), newDevicePicker("speaker", choiceDefault), newDevicePicker("camera", choiceAuto)
	s.Mic, s.Speaker, s.Camera = s.mic.sel, s.speaker.sel, s.camera.sel
	presets := make([]string, len(camera.Presets))
	for i, p := range camera.Presets {
		presets[i] = presetLabel(p)
	}
	s.Preset = widget.NewSelect(presets, nil)
	s.DeviceNote.Wrapping = fyne.TextWrapWord
	s.DeviceNote.Importance = widget.WarningImportance
	s.STT = widget.NewRadioGroup([]string{choiceOffline, choiceServer}, nil)
	s.TTS = widget.NewRadioGroup([]string{choiceOffline, choiceServer}, nil)
	s.Theme = widget.NewRadioGroup([]string{ThemeSystem, ThemeLight, ThemeDark}, nil)
	s.Theme.Required = true
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
	s.Theme.SetSelected(ThemeName(s.prefs))

	agentTab := widget.NewForm(
		widget.NewFormItem("The agent runs", s.Mode),
		widget.NewFormItem("Agent address", s.AgentURL),
		widget.NewFormItem("Access token", s.Token),
		widget.NewFormItem("", s.TestButton),
		widget.NewFormItem("", s.TestResult),
	)
	devicesTab := widget.NewForm(
		widget.NewFormItem("Microphone", s.Mic),
		widget.NewFormItem("Speaker", s.Speaker),
		widget.NewFormItem("Camera", s.Camera),
		widget.NewFormItem("Video quality", s.Preset),
		widget.NewFormItem("", s.DeviceNote),
	)
	aiTab := widget.NewForm(
		widget.NewFormItem("Model server", s.LLMURL),
		widget.NewFormItem("API key", s.LLMKey),
		widget.NewFormItem("Model", container.NewBorder(nil, nil, nil, s.FindModels, s.Model)),
		widget.NewFormItem("", s.Vision),
		widget.NewFormItem("Speech-to-text", container.NewVBox(s.STT, s.STTModel)),
		widget.NewFormItem("Speech", container.NewVBox(s.TTS, s.TTSModel, s.Voice)),
		widget.NewFormItem("System prompt", s.Prompt),
		widget.NewFormItem("End of turn after (s)", s.EndSilence),
		widget.NewFormItem("", s.Memory),
	)
	soundTab := container.NewVBox(s.EchoCancel, s.Noise, s.Gain)
	s.Tabs = container.NewAppTabs(
		container.NewTabItem("Agent", agentTab),
		container.NewTabItem("Devices", devicesTab),
		container.NewTabItem("AI", container.NewVScroll(aiTab)),
		container.NewTabItem("Sound", soundTab),
		container.NewTabItem("Appearance", widget.NewForm(widget.NewFormItem("Theme", s.Theme))),
	)
	s.Win.SetContent(container.NewBorder(nil, container.NewVBox(s.Save, s.Result), nil, nil, s.Tabs))
	s.Win.Resize(fyne.NewSize(680, 560))
	s.Win.SetOnClosed(s.Close)
	s.shortcuts()
	for _, sel := range []*widget.Select{s.Mic, s.Speaker, s.Camera} {
		sel.PlaceHolder = "Looking for devices…"
	}
	go s.watchDevices()
	return s
}

// Keyboard shortcuts of the settings window, as in GTK and browser
// dialogs: Ctrl+PageDown and Ctrl+PageUp go to the next and previous tab,
// Ctrl+S saves, Esc and Ctrl+W close the window.
var (
	NextTabShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyPageDown, Modifier: fyne.KeyModifierShortcutDefault}
	PrevTabShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyPageUp, Modifier: fyne.KeyModifierShortcutDefault}
	SaveShortcut    = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}
	CloseShortcut   = &desktop.CustomShortcut{KeyName: fyne.KeyW, Modifier: fyne.KeyModifierShortcutDefault}
)

// shortcuts binds the settings window's keyboard shortcuts. Fyne gives a
// focused text box every shortcut and a focused field every key, so the
// shortcuts work while no text box has the focus (Tab moves it on to the
// next field), and Esc while no field has it (Ctrl+W closes from a list
// or a choice too).
func (s *SettingsWindow) shortcuts() {
	cv := s.Win.Canvas()
	step := func(by int) {
		n := len(s.Tabs.Items)
		s.Tabs.SelectIndex((s.Tabs.SelectedIndex() + by + n) % n)
		cv.Unfocus() // the focus stays in the tab shown
	}
	cv.AddShortcut(NextTabShortcut, func(fyne.Shortcut) { step(1) })
	cv.AddShortcut(PrevTabShortcut, func(fyne.Shortcut) { step(-1) })
	cv.AddShortcut(SaveShortcut, func(fyne.Shortcut) { s.save() })
	cv.AddShortcut(CloseShortcut, func(fyne.Shortcut) { s.Win.Close() })
	cv.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			s.Win.Close()
		}
	})
}

// Close stops the device watch; closing the window does it.
func (s *SettingsWindow) Close() { s.stopOnce.Do(func() { close(s.stop) }) }

// watchDevices lists the devices now and every DeviceRefresh until Close.
func (s *SettingsWindow) watchDevices() {
	t := time.NewTicker(DeviceRefresh)
	defer t.Stop()
	for {
		d, err := s.conf.Devices()
		select {
		case <-s.stop:
			return
		default:
		}
		fyne.Do(func() { s.showDevices(d, err) })
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// presetLabel is how a video preset reads in the picker.
func presetLabel(p camera.Preset) string {
	return fmt.Sprintf("%d×%d at %d kbit/s", p.Width, p.Height, p.BitRate/1000)
}

// modeChanged enables the remote agent's fields only in remote mode.
func (s *SettingsWindow) modeChanged() {
	if s.Mode.Selected == choiceRemote {
		s.AgentURL.Enable()
		s.Token.Enable()
		s.TestButton.Enable()
		return
	}
	s.AgentURL.Disable()
	s.Token.Disable()
	s.TestButton.Disable()
}

// devicePicker is one device picker: the value saved (a device name or ID,
// "" for the default) and the values of the devices listed, in the order of
// their labels.
type devicePicker struct {
	sel    *widget.Select
	what   string // "microphone"
	def    string // the first option, meaning the default
	want   string // the chosen value, kept while its device is gone
	values []string
}

func newDevicePicker(what, def string) *devicePicker {
	p := &devicePicker{what: what, def: def}
	p.sel = widget.NewSelect(nil, p.chosen)
	return p
}

// chosen follows the person's pick.
func (p *devicePicker) chosen(label string) {
	i := slices.Index(p.sel.Options, label)
	switch {
	case label == p.def || i < 0:
		p.want = ""
	case i-1 < len(p.values):
		p.want = p.values[i-1]
	} // else: the gone device, still wanted
}

// show lists the devices (values and their labels) and selects the wanted
// one; it returns a note when the wanted device is gone.
func (p *devicePicker) show(values, labels []string) string {
	p.values = values
	opts := append([]string{p.def}, labels...)
	selected, note := p.def, ""
	if p.want != "" {
		if i := slices.Index(values, p.want); i >= 0 {
			selected = labels[i]
		} else {
			selected = p.want + notConnected
			opts = append(opts, selected)
			note = fmt.Sprintf("The %s “%s” is not connected: calls use the %s until it is back.", p.what, p.want, strings.ToLower(p.def))
		}
	}
	want := p.want
	p.sel.SetOptions(opts)
	p.sel.SetSelected(selected)
	p.want = want
	return note
}

// showDevices fills the pickers from d, keeping what is chosen; a saved
// device that is gone stays chosen, marked not connected, with a note that
// calls use the default until it is back.
func (s *SettingsWindow) showDevices(d app.Devices, err error) {
	if err == nil && s.listed && s.devices.Equal(d) {
		return // nothing was plugged in or removed
	}
	s.devices, s.listed = d, err == nil
	var mics, spks, camIDs, camLabels []string
	for _, m := range d.Mics {
		mics = append(mics, m.Name)
	}
	for _, m := range d.Speakers {
		spks = append(spks, m.Name)
	}
	for _, c := range d.Cameras {
		camIDs, camLabels = append(camIDs, c.ID), append(camLabels, c.Label)
	}
	var notes []string
	for _, n := range []string{s.mic.show(mics, mics), s.speaker.show(spks, spks), s.camera.show(camIDs, camLabels)} {
		if n != "" {
			notes = append(notes, n)
		}
	}
	if err != nil {
		notes = append(notes, "The sound system could not list the microphones and speakers: "+err.Error())
	}
	s.DeviceNote.SetText(strings.Join(notes, "\n"))
	s.DeviceNote.Hidden = len(notes) == 0
	s.DeviceNote.Refresh()
}

// test asks the agent at the address given what it is, off the UI
// goroutine, and says what it found.
func (s *SettingsWindow) test() {
	url, token := strings.TrimSpace(s.AgentURL.Text), strings.TrimSpace(s.Token.Text)
	s.TestButton.Disable()
	s.TestResult.Importance = widget.MediumImportance
	s.TestResult.SetText("Asking the agent…")
	go func() {
		rep, err := s.testConnection(context.Background(), url, token)
		fyne.Do(func() {
			s.TestButton.Enable()
			if err != nil {
				s.TestResult.Importance = widget.DangerImportance
				s.TestResult.SetText(err.Error())
				return
			}
			s.TestResult.Importance = widget.SuccessImportance
			if !rep.SameVersion {
				s.TestResult.Importance = widget.WarningImportance
			}
			s.TestResult.SetText(rep.Summary())
		})
	}()
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
	if v.Remote {
		s.Mode.SetSelected(choiceRemote)
	} else {
		s.Mode.SetSelected(choiceLocal)
	}
	s.AgentURL.SetText(v.AgentURL)
	s.Token.SetText(v.Token)
	s.modeChanged()
	s.mic.want, s.speaker.want, s.camera.want = v.Mic, v.Speaker, v.Camera
	preset, ok := camera.PresetByName(v.VideoPreset)
	if !ok {
		preset = camera.DefaultPreset
	}
	s.Preset.SetSelected(presetLabel(preset))
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
		Remote: s.Mode.Selected == choiceRemote, AgentURL: strings.TrimSpace(s.AgentURL.Text), Token: strings.TrimSpace(s.Token.Text),
		Mic: s.mic.want, Speaker: s.speaker.want, Camera: s.camera.want,
	}
	for _, p := range camera.Presets {
		if presetLabel(p) == s.Preset.Selected && p != camera.DefaultPreset {
			v.VideoPreset = p.Name
		}
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
	SetTheme(s.app, s.Theme.Selected)
	s.Result.SetText("Saved. Devices and sound apply to the next call; the agent and AI settings apply now, or when the current call ends.")
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
