package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/provider/openai"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/camera"
)

// Where speech-to-text and speech run, for Settings.STT and Settings.TTS.
const (
	ProviderOffline = brain.Offline // on this computer: pocketsphinx, espeak-ng
	ProviderServer  = brain.OpenAI  // the OpenAI-compatible server of Settings.LLMURL
)

// Settings are the AI provider settings a person chooses in the app; the
// window keeps them in Fyne preferences and the app turns them into the
// local agent's brain.Config.
type Settings struct {
	LLMURL, LLMKey, LLMModel string // empty URL: Ollama on this machine, if it runs
	Vision                   bool
	STT                      string // brain.Offline or brain.OpenAI
	STTModel                 string
	TTS                      string // brain.Offline or brain.OpenAI
	TTSModel, Voice          string
	SystemPrompt             string // "" for the default
	EndSilence               time.Duration
	Memory                   bool
	// Sound: echo cancellation is on unless NoEchoCancellation (headphones).
	NoEchoCancellation, NoiseSuppression, GainControl bool

	// Connection: Remote calls the agent at AgentURL with Token (remote
	// mode); otherwise the agent runs inside the app (local mode).
	Remote          bool
	AgentURL, Token string
	// Devices, by the ID or name their lists give ("" for the system
	// default): microphone and speaker (media/device), camera (media/camera).
	Mic, Speaker, Camera string
	// VideoPreset names the camera's size and bit rate (camera.Presets);
	// "" for camera.DefaultPreset.
	VideoPreset string
}

// ai is s without what the local agent does not depend on: the sound,
// connection and device settings.
func (s Settings) ai() Settings {
	s.NoEchoCancellation, s.NoiseSuppression, s.GainControl = false, false, false
	s.Remote, s.AgentURL, s.Token = false, "", ""
	s.Mic, s.Speaker, s.Camera, s.VideoPreset = "", "", "", ""
	return s
}

// Check says, in words for a person, what is wrong with s (nil if nothing).
func (s Settings) Check() error {
	if s.LLMURL != "" {
		u, err := url.Parse(s.LLMURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("the model's address %q should look like http://127.0.0.1:11434/v1", s.LLMURL)
		}
		if s.LLMModel == "" {
			return errors.New("choose a model for that address (Find models lists them)")
		}
	}
	if s.STT == brain.OpenAI && (s.LLMURL == "" || s.STTModel == "") {
		return errors.New("speech-to-text through the server needs the server's address and a transcription model (e.g. whisper-1)")
	}
	if s.TTS == brain.OpenAI && (s.LLMURL == "" || s.TTSModel == "" || s.Voice == "") {
		return errors.New("speech through the server needs the server's address, a speech model and a voice (e.g. tts-1 and alloy)")
	}
	if s.EndSilence != 0 && (s.EndSilence < 200*time.Millisecond || s.EndSilence > 3*time.Second) {
		return errors.New("the pause that ends your turn should be between 0.2 and 3 seconds")
	}
	if s.Remote {
		if _, err := CheckAgentURL(s.AgentURL); err != nil {
			return err
		}
	}
	if _, ok := camera.PresetByName(s.VideoPreset); s.VideoPreset != "" && !ok {
		return fmt.Errorf("unknown video quality %q", s.VideoPreset)
	}
	return nil
}

// Brain returns the local agent's provider configuration for s.
func (s Settings) Brain() brain.Config {
	return brain.Config{
		LLMURL: s.LLMURL, LLMKey: s.LLMKey, LLMModel: s.LLMModel, Vision: s.Vision, AutoOllama: true,
		STT: s.STT, STTModel: s.STTModel, TTS: s.TTS, TTSModel: s.TTSModel, Voice: s.Voice,
		SystemPrompt: s.SystemPrompt, EndSilence: s.EndSilence,
	}
}

// ListModels asks the server at baseURL ("" for Ollama on this machine) for
// its models, for the settings' model picker.
func ListModels(ctx context.Context, baseURL, key string) ([]string, error) {
	if strings.TrimSpace(baseURL) == "" {
		models, err := openai.DetectOllama(ctx, openai.OllamaURL, 2*time.Second)
		if err != nil {
			return nil, errors.New("Ollama is not running on this machine (install it from ollama.com, or give a server's address)")
		}
		return models, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return openai.ListModels(ctx, openai.Config{BaseURL: baseURL, APIKey: key, Timeout: 5 * time.Second})
}

// Configure applies new settings. The sound and device settings apply to
// the next call. The connection and AI settings restart the agent: the
// in-process one is restarted with the new providers, or stopped when the
// app switches to a remote agent (whose operator chooses the providers);
// that happens now when no call is running, else when the current call
// ends. It returns s.Check's error.
func (a *App) Configure(s Settings) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.Remote {
		s.AgentURL, _ = CheckAgentURL(s.AgentURL)
	} else {
		s.AgentURL, s.Token = "", ""
	}
	a.log.Info("settings applied", "remote", s.Remote, "agent", s.AgentURL, "microphone", s.Mic, "speaker", s.Speaker,
		"camera", s.Camera, "video", s.VideoPreset, "echo_cancellation", !s.NoEchoCancellation)
	a.mu.Lock()
	a.cfg.NoEchoCancellation, a.cfg.NoiseSuppression, a.cfg.GainControl = s.NoEchoCancellation, s.NoiseSuppression, s.GainControl
	a.cfg.MicID, a.cfg.SpeakerID, a.cfg.CameraID, a.cfg.VideoPreset = s.Mic, s.Speaker, s.Camera, s.VideoPreset
	moved := s.AgentURL != a.cfg.AgentURL || s.Token != a.cfg.Token
	a.cfg.AgentURL, a.cfg.Token = s.AgentURL, s.Token
	restart := moved || (!s.Remote && (a.applied == nil || s.ai() != a.applied.ai()))
	a.applied = &s
	a.cfg.Brain, a.cfg.Memory = s.Brain(), s.Memory
	if !restart {
		a.mu.Unlock()
		return nil
	}
	busy := a.att != nil && !a.att.ended
	a.pending = busy
	a.mu.Unlock()
	if !busy {
		a.restartAgent()
	}
	return nil
}

// restartAgent replaces the local agent with one built from the current
// config (or with none, in remote mode), in the background; calls placed
// meanwhile wait for it. Restarts run one after another: each closes the
// agent the one before it started.
func (a *App) restartAgent() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	oldReady := a.ready
	ready := make(chan struct{})
	a.ready, a.pending = ready, false
	a.mu.Unlock()
	go func() {
		<-oldReady // the previous start has set a.agent
		a.mu.Lock()
		old := a.agent
		a.agent, a.agentErr = nil, nil
		a.mu.Unlock()
		if old != nil {
			_ = old.Close()
		}
		a.startAgent(ready)
	}()
}

// startAgent starts the local agent from a.cfg and closes ready. In
// remote mode it only switches the status and the avatar to the remote
// agent.
func (a *App) startAgent(ready chan struct{}) {
	defer close(ready)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	if remote, token := a.cfg.AgentURL, a.cfg.Token; remote != "" {
		a.mu.Unlock()
		a.log.Info("using the remote agent", "url", remote)
		a.update(func(s *Status) bool {
			s.Local, s.Notice, s.Providers = false, "", ""
			return true
		})
		a.background(func() { a.syncAvatar(a.bgCtx, remote, token) })
		return
	}
	bc, echo := a.cfg.Brain, a.cfg.Echo
	if a.cfg.Memory && !a.cfg.NoHistory {
		bc.Recall = a.recall
	}
	a.mu.Unlock()
	la, err := localagent.Start(a.cfg.Log, localagent.Options{Echo: echo, Brain: bc})
	a.mu.Lock()
	a.agent, a.agentErr = la, err
	a.mu.Unlock()
	if err == nil {
		a.background(func() { a.syncAvatar(a.bgCtx, la.URL, la.Token) })
	}
	notice := ""
	switch {
	case err != nil:
		notice = "The built-in agent could not start: " + err.Error()
	case la.Problem != "":
		notice = la.Problem
	case la.Brain != nil:
		notice = "" // a fresh start clears an old problem
	}
	a.update(func(s *Status) bool {
		s.Local = true
		s.Notice = notice
		s.Providers = ""
		if la != nil && la.Brain != nil {
			s.Providers = fmt.Sprintf("%s · %s · %s", la.Brain.STT, la.Brain.LLM, la.Brain.TTS)
		}
		return true
	})
}
