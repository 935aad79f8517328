// Package brain builds the agent's conversation handler from a
// configuration: which speech-to-text, language model and text-to-speech
// providers to use, and the VAD. The zero Config is the offline stack from
// Debian packages — pocketsphinx (STT) and espeak-ng (TTS) — with Ollama
// used as the language model when it runs on this machine, and the echo
// brain when no model is found. Both the app's in-process agent and
// parley-agent use it.
package brain

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/conversation"
	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/espeak"
	"github.com/parley-app/parley/agent/provider/openai"
	"github.com/parley-app/parley/agent/provider/sphinx"
	"github.com/parley-app/parley/agent/vad"
)

// Provider kinds for Config.STT and Config.TTS.
const (
	Offline = "offline" // pocketsphinx for STT, espeak-ng for TTS
	OpenAI  = "openai"  // an OpenAI-compatible server
)

// DefaultSystemPrompt asks for answers that sound right when spoken.
const DefaultSystemPrompt = "You are Parley, a friendly voice assistant. You are talking with a person out loud: " +
	"answer in one to three short sentences of plain spoken English, without markdown, lists, code or emoji."

// Config chooses the providers. Every field is optional.
type Config struct {
	// LLMURL is an OpenAI-compatible API root (ending in /v1). When empty
	// and AutoOllama is set, Ollama on 127.0.0.1:11434 is used if it runs.
	LLMURL   string
	LLMKey   string
	LLMModel string // empty: Ollama's first model, or no model (echo brain)
	Vision   bool   // the model accepts images: send the caller's camera
	// AutoOllama looks for Ollama when LLMURL is empty.
	AutoOllama bool

	STT      string // Offline (default) or OpenAI
	STTURL   string // default LLMURL
	STTKey   string // default LLMKey
	STTModel string // e.g. whisper-1

	TTS      string // Offline (default) or OpenAI
	TTSURL   string // default LLMURL
	TTSKey   string // default LLMKey
	TTSModel string // e.g. tts-1, kokoro
	Voice    string // e.g. alloy, af_heart; for Offline an espeak-ng voice (default en-us)

	SystemPrompt string        // default DefaultSystemPrompt; "-" for none
	EndSilence   time.Duration // default conversation.DefaultEndSilence
	// OllamaTimeout bounds the look for Ollama (default 500 ms).
	OllamaTimeout time.Duration
	// OllamaURL is where to look for Ollama (default openai.OllamaURL).
	OllamaURL string
	// Recall is the model's memory (conversation.Config.Recall); nil for
	// none. The app sets it to a search of the person's history.
	Recall func(ctx context.Context, text string) ([]string, error)

	Log *slog.Logger
}

// Brain is a built configuration.
type Brain struct {
	// Handler makes one conversation per caller.
	Handler agent.HandlerFunc
	// Names of what was chosen, for logs and the UI.
	STT, LLM, TTS, VAD string
	// Notices go to every caller at the start (VAD fallback); the
	// conversation adds the no-model notice itself.
	Notices []api.Event

	closers []func()
}

// Close releases the providers' resources (decoders, the VAD model).
func (b *Brain) Close() {
	for _, c := range b.closers {
		c()
	}
	b.closers = nil
}

// Build makes the providers. It returns an error, naming what is missing,
// when a configured provider cannot be made (a missing Debian package, a bad
// URL); a language model that is not configured is not an error (the echo
// brain answers).
func Build(ctx context.Context, cfg Config) (_ *Brain, err error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Brain{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()

	llm, err := buildLLM(ctx, &cfg, log)
	if err != nil {
		return nil, err
	}
	stt, err := buildSTT(cfg, b)
	if err != nil {
		return nil, err
	}
	tts, err := buildTTS(cfg)
	if err != nil {
		return nil, err
	}

	vf := vad.Open(log)
	b.closers = append(b.closers, func() { _ = vf.Close() })
	b.VAD = string(vf.Kind)
	if vf.Notice != "" {
		b.Notices = append(b.Notices, api.Event{Type: api.TypeNotice, Code: api.NoticeVADFallback, Message: vf.Notice})
	}

	prompt := cfg.SystemPrompt
	switch prompt {
	case "":
		prompt = DefaultSystemPrompt
	case "-":
		prompt = ""
	}
	cc := conversation.Config{
		STT: stt, TTS: tts, LLM: llm,
		NewVAD:       func() conversation.VAD { return vf.New() },
		Notices:      b.Notices,
		SystemPrompt: prompt,
		EndSilence:   cfg.EndSilence,
		Recall:       cfg.Recall,
		PartialEvery: partialEvery(cfg),
		Log:          log.With("component", "conversation"),
	}
	if b.Handler, err = conversation.New(cc); err != nil {
		return nil, err
	}
	b.STT, b.TTS = stt.Name(), tts.Name()
	b.LLM = "none (echo)"
	if llm != nil {
		b.LLM = llm.Name()
	}
	log.Info("conversation providers", "stt", b.STT, "llm", b.LLM, "tts", b.TTS, "vad", b.VAD)
	return b, nil
}

func buildLLM(ctx context.Context, cfg *Config, log *slog.Logger) (provider.LLM, error) {
	if cfg.LLMURL == "" && cfg.AutoOllama {
		timeout := cfg.OllamaTimeout
		if timeout == 0 {
			timeout = 500 * time.Millisecond
		}
		url := or(cfg.OllamaURL, openai.OllamaURL)
		models, err := openai.DetectOllama(ctx, url, timeout)
		switch {
		case err != nil:
			log.Info("no Ollama on this machine", "err", err)
		case len(models) == 0:
			log.Info("Ollama runs but has no models (ollama pull llama3.2)")
		default:
			cfg.LLMURL = url
			if cfg.LLMModel == "" {
				cfg.LLMModel = pickChatModel(models)
			}
			log.Info("using Ollama", "model", cfg.LLMModel, "models", len(models))
		}
	}
	if cfg.LLMURL == "" || cfg.LLMModel == "" {
		return nil, nil // the echo brain
	}
	return openai.NewLLM(openai.Config{BaseURL: cfg.LLMURL, APIKey: cfg.LLMKey, Model: cfg.LLMModel, Vision: cfg.Vision})
}

// pickChatModel prefers a model that is not an embedding model.
func pickChatModel(models []string) string {
	for _, m := range models {
		if !strings.Contains(strings.ToLower(m), "embed") {
			return m
		}
	}
	return models[0]
}

func buildSTT(cfg Config, b *Brain) (provider.STT, error) {
	switch cfg.STT {
	case "", Offline:
		s, err := sphinx.New(sphinx.Config{})
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, func() { _ = s.Close() })
		return s, nil
	case OpenAI:
		return openai.NewSTT(openai.Config{BaseURL: or(cfg.STTURL, cfg.LLMURL), APIKey: or(cfg.STTKey, cfg.LLMKey), STTModel: cfg.STTModel})
	}
	return nil, fmt.Errorf("brain: %w: speech-to-text %q is neither %q nor %q", provider.ErrNotConfigured, cfg.STT, Offline, OpenAI)
}

func buildTTS(cfg Config) (provider.TTS, error) {
	switch cfg.TTS {
	case "", Offline:
		return espeak.New(espeak.Config{Voice: cfg.Voice})
	case OpenAI:
		return openai.NewTTS(openai.Config{BaseURL: or(cfg.TTSURL, cfg.LLMURL), APIKey: or(cfg.TTSKey, cfg.LLMKey), TTSModel: cfg.TTSModel, Voice: cfg.Voice})
	}
	return nil, fmt.Errorf("brain: %w: text-to-speech %q is neither %q nor %q", provider.ErrNotConfigured, cfg.TTS, Offline, OpenAI)
}

// partialEvery: with the offline STT, the caller sees their words while
// they speak (the turn so far is transcribed again every 700 ms: with
// pocketsphinx at ~0.2× real time that costs about 0.3 s of CPU per second
// of a 3 s turn, and grows with the turn's length); a server's STT is
// asked once per turn.
func partialEvery(cfg Config) time.Duration {
	if cfg.STT == "" || cfg.STT == Offline {
		return 700 * time.Millisecond
	}
	return 0
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Handler kinds for the --handler flag.
const (
	HandlerConversation = "conversation" // the conversation pipeline (default)
	HandlerEcho         = "echo"         // agent/echo: plays each turn back (tests, diagnostics)
)

// Flags registers the provider flags on fs, writing into c; parley-agent and
// `parley call` share them (with PARLEY_… environment variables through
// ff). It returns a pointer to the --handler value.
func (c *Config) Flags(fs *flag.FlagSet) *string {
	handler := fs.String("handler", HandlerConversation, "what answers: conversation (STT → LLM → TTS) or echo (plays each turn back)")
	fs.StringVar(&c.LLMURL, "llm-url", "", "OpenAI-compatible API `URL` of the language model, ending in /v1 (Ollama: http://127.0.0.1:11434/v1); empty looks for Ollama on this machine")
	fs.StringVar(&c.LLMKey, "llm-key", "", "API `key` for --llm-url (local servers need none)")
	fs.StringVar(&c.LLMModel, "llm-model", "", "chat `model` (e.g. llama3.2, gpt-4o-mini); empty takes Ollama's first; none found: the echo brain says back what it heard")
	fs.BoolVar(&c.Vision, "vision", false, "the model accepts images: send it the caller's camera, at most a frame a second")
	fs.StringVar(&c.STT, "stt", Offline, "speech-to-text: offline (pocketsphinx) or openai (/v1/audio/transcriptions)")
	fs.StringVar(&c.STTURL, "stt-url", "", "API `URL` for --stt openai (default --llm-url)")
	fs.StringVar(&c.STTKey, "stt-key", "", "API `key` for --stt openai (default --llm-key)")
	fs.StringVar(&c.STTModel, "stt-model", "", "transcription `model` for --stt openai (e.g. whisper-1)")
	fs.StringVar(&c.TTS, "tts", Offline, "text-to-speech: offline (espeak-ng) or openai (/v1/audio/speech)")
	fs.StringVar(&c.TTSURL, "tts-url", "", "API `URL` for --tts openai (default --llm-url)")
	fs.StringVar(&c.TTSKey, "tts-key", "", "API `key` for --tts openai (default --llm-key)")
	fs.StringVar(&c.TTSModel, "tts-model", "", "speech `model` for --tts openai (e.g. tts-1, kokoro)")
	fs.StringVar(&c.Voice, "voice", "", "`voice`: for --tts openai e.g. alloy; offline an espeak-ng voice (default en-us)")
	fs.StringVar(&c.SystemPrompt, "system-prompt", "", "system `prompt` for the model (default: short spoken answers); - for none")
	fs.DurationVar(&c.EndSilence, "end-silence", conversation.DefaultEndSilence, "pause that ends the caller's turn")
	fs.BoolVar(&c.AutoOllama, "ollama", true, "when --llm-url is empty, use Ollama on this machine (127.0.0.1:11434) if it runs")
	return handler
}

// Check validates what Flags parsed.
func (c *Config) Check(handler string) error {
	switch {
	case handler != HandlerConversation && handler != HandlerEcho:
		return fmt.Errorf("--handler %q: want conversation or echo", handler)
	case c.STT != Offline && c.STT != OpenAI:
		return fmt.Errorf("--stt %q: want offline or openai", c.STT)
	case c.TTS != Offline && c.TTS != OpenAI:
		return fmt.Errorf("--tts %q: want offline or openai", c.TTS)
	case c.EndSilence < 200*time.Millisecond || c.EndSilence > 3*time.Second:
		return fmt.Errorf("--end-silence %v: want 200ms to 3s", c.EndSilence)
	}
	return nil
}
