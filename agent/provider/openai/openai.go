// Package openai implements the agent's providers against any server that
// speaks the OpenAI HTTP API, through the official client
// github.com/openai/openai-go/v3: speech-to-text (POST
// /v1/audio/transcriptions, a multipart upload of a WAV file), chat (POST
// /v1/chat/completions with stream=true: server-sent events, image parts for
// vision models) and speech (POST /v1/audio/speech, response_format pcm:
// raw 24 kHz mono s16le). That covers Ollama, llama.cpp server, speaches,
// Kokoro-FastAPI, LocalAI and OpenAI itself.
package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/wavfile"
)

// SpeechSampleRate is the sample rate of response_format "pcm" in the
// OpenAI speech API: 24 kHz mono signed 16-bit little-endian.
const SpeechSampleRate = 24000

// MaxSpeechBytes caps one speech response: 10 MiB, 3.6 minutes of 24 kHz
// audio — far more than a sentence.
const MaxSpeechBytes = 10 << 20

// Config says where the server is and which models to use.
type Config struct {
	// BaseURL is the API root, ending in /v1 (e.g.
	// http://127.0.0.1:11434/v1 for Ollama).
	BaseURL string
	// APIKey is sent as a bearer token; local servers ignore it.
	APIKey string
	// Model is the chat model (LLM).
	Model string
	// Vision says the chat model accepts image parts.
	Vision bool
	// STTModel is the transcription model (e.g. whisper-1,
	// Systran/faster-whisper-small).
	STTModel string
	// TTSModel and Voice choose the speech model and voice (e.g. tts-1 and
	// alloy, kokoro and af_heart).
	TTSModel string
	Voice    string
	// Timeout bounds each request (default 60 s); a turn is also bounded
	// by its context.
	Timeout time.Duration
	// MaxRetries is how often the client retries a failed request
	// (default 0: in a conversation a quick error beats a slow answer).
	MaxRetries int
}

func (c Config) options() ([]option.RequestOption, error) {
	u, err := url.Parse(c.BaseURL)
	if c.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q is not an http(s) URL", provider.ErrNotConfigured, c.BaseURL)
	}
	key := c.APIKey
	if key == "" {
		key = "none" // the client insists on one; local servers ignore it
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	return append(oa.DefaultClientOptions(),
		option.WithBaseURL(strings.TrimSuffix(c.BaseURL, "/")+"/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(c.MaxRetries),
		option.WithRequestTimeout(timeout),
	), nil
}

func (c Config) host() string {
	if u, err := url.Parse(c.BaseURL); err == nil {
		return u.Host
	}
	return c.BaseURL
}

// LLM streams chat completions.
type LLM struct {
	cfg  Config
	chat oa.ChatCompletionService
}

// NewLLM returns a chat provider; it returns an error wrapping
// provider.ErrNotConfigured without a valid base URL or a model.
func NewLLM(cfg Config) (*LLM, error) {
	if cfg.Model == "" {
		return nil, fmt.Errorf("%w: no chat model", provider.ErrNotConfigured)
	}
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	return &LLM{cfg: cfg, chat: oa.NewChatCompletionService(opts...)}, nil
}

// Name implements provider.LLM: "model @ host".
func (l *LLM) Name() string { return l.cfg.Model + " @ " + l.cfg.host() }

// Vision implements provider.LLM.
func (l *LLM) Vision() bool { return l.cfg.Vision }

// Stream implements provider.LLM with a streamed chat completion: each
// server-sent event's delta content goes to onDelta as it arrives.
func (l *LLM) Stream(ctx context.Context, msgs []provider.Message, onDelta func(string)) (string, error) {
	params := oa.ChatCompletionNewParams{Model: l.cfg.Model}
	for _, m := range msgs {
		params.Messages = append(params.Messages, l.message(m))
	}
	stream := l.chat.NewStreaming(ctx, params)
	defer stream.Close()
	var reply strings.Builder
	for stream.Next() {
		chunk := stream.Current()
		for _, ch := range chunk.Choices {
			if d := ch.Delta.Content; d != "" {
				reply.WriteString(d)
				onDelta(d)
			}
		}
	}
	if err := stream.Err(); err != nil {
		if ctx.Err() != nil {
			return reply.String(), ctx.Err()
		}
		return reply.String(), fmt.Errorf("chat with %s: %w", l.Name(), explain(err))
	}
	return reply.String(), nil
}

func (l *LLM) message(m provider.Message) oa.ChatCompletionMessageParamUnion {
	switch m.Role {
	case provider.RoleSystem:
		return oa.SystemMessage(m.Text)
	case provider.RoleAssistant:
		return oa.AssistantMessage(m.Text)
	}
	if len(m.Image) == 0 || !l.cfg.Vision {
		return oa.UserMessage(m.Text)
	}
	return oa.UserMessage([]oa.ChatCompletionContentPartUnionParam{
		oa.TextContentPart(m.Text),
		oa.ImageContentPart(oa.ChatCompletionContentPartImageImageURLParam{
			URL: "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(m.Image),
		}),
	})
}

// STT transcribes with /v1/audio/transcriptions.
type STT struct {
	cfg            Config
	transcriptions oa.AudioTranscriptionService
}

// NewSTT returns a speech-to-text provider; it returns an error wrapping
// provider.ErrNotConfigured without a valid base URL or an STT model.
func NewSTT(cfg Config) (*STT, error) {
	if cfg.STTModel == "" {
		return nil, fmt.Errorf("%w: no speech-to-text model", provider.ErrNotConfigured)
	}
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	return &STT{cfg: cfg, transcriptions: oa.NewAudioTranscriptionService(opts...)}, nil
}

// Name implements provider.STT.
func (s *STT) Name() string { return s.cfg.STTModel + " @ " + s.cfg.host() }

// Transcribe implements provider.STT: pcm (16 kHz mono int16) is uploaded
// as a 16-bit WAV file named utterance.wav.
func (s *STT) Transcribe(ctx context.Context, pcm []int16) (string, error) {
	wav, err := wavfile.Encode(pcm, provider.STTSampleRate)
	if err != nil {
		return "", err
	}
	res, err := s.transcriptions.New(ctx, oa.AudioTranscriptionNewParams{
		File:  oa.File(bytes.NewReader(wav), "utterance.wav", "audio/wav"),
		Model: oa.AudioModel(s.cfg.STTModel),
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("transcribe with %s: %w", s.Name(), explain(err))
	}
	return strings.TrimSpace(res.Text), nil
}

// TTS speaks with /v1/audio/speech.
type TTS struct {
	cfg    Config
	speech oa.AudioSpeechService
}

// NewTTS returns a text-to-speech provider; it returns an error wrapping
// provider.ErrNotConfigured without a valid base URL, a model or a voice.
func NewTTS(cfg Config) (*TTS, error) {
	if cfg.TTSModel == "" || cfg.Voice == "" {
		return nil, fmt.Errorf("%w: no speech model or voice", provider.ErrNotConfigured)
	}
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	return &TTS{cfg: cfg, speech: oa.NewAudioSpeechService(opts...)}, nil
}

// Name implements provider.TTS.
func (t *TTS) Name() string { return t.cfg.TTSModel + "/" + t.cfg.Voice + " @ " + t.cfg.host() }

// Synthesize implements provider.TTS: it asks for raw PCM (24 kHz mono
// s16le) and returns it at 48 kHz.
func (t *TTS) Synthesize(ctx context.Context, text string) ([]int16, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	resp, err := t.speech.New(ctx, oa.AudioSpeechNewParams{
		Input:          text,
		Model:          oa.SpeechModel(t.cfg.TTSModel),
		Voice:          oa.AudioSpeechNewParamsVoiceUnion{OfString: oa.String(t.cfg.Voice)},
		ResponseFormat: oa.AudioSpeechNewParamsResponseFormatPCM,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("speech with %s: %w", t.Name(), explain(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSpeechBytes+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("speech with %s: reading audio: %w", t.Name(), err)
	case len(b) > MaxSpeechBytes:
		return nil, fmt.Errorf("speech with %s: more than %d bytes of audio for %d characters", t.Name(), MaxSpeechBytes, len(text))
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "audio/wav") || strings.HasPrefix(ct, "audio/x-wav") || bytes.HasPrefix(b, []byte("RIFF")) {
		return nil, errors.New("speech with " + t.Name() + ": the server sent WAV although raw PCM was asked for")
	}
	return audio.Resample(audio.DecodeS16LE(b[:len(b)&^1]), SpeechSampleRate, audio.SampleRate)
}

// ListModels returns the model ids the server offers (GET /v1/models).
func ListModels(ctx context.Context, cfg Config) ([]string, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	models := oa.NewModelService(opts...)
	page, err := models.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list models at %s: %w", cfg.host(), explain(err))
	}
	ids := make([]string, 0, len(page.Data))
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// OllamaURL is where Ollama listens by default, with its OpenAI-compatible
// API under /v1.
const OllamaURL = "http://127.0.0.1:11434/v1"

// DetectOllama looks for Ollama at baseURL (OllamaURL: 127.0.0.1:11434)
// and returns its models; it gives up after timeout (a local server answers
// in milliseconds).
func DetectOllama(ctx context.Context, baseURL string, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ListModels(ctx, Config{BaseURL: baseURL, MaxRetries: 0, Timeout: timeout})
}

// APIError is an error status from the server with the message of its
// error object ({"error": {"message": ...}}), which openai-go keeps out of
// its Error() text.
type APIError struct {
	Status  int
	Message string
	Err     error // the *openai.Error
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

func (e *APIError) Unwrap() error { return e.Err }

func explain(err error) error {
	var ae *oa.Error
	if errors.As(err, &ae) {
		return &APIError{Status: ae.StatusCode, Message: ae.Message, Err: err}
	}
	return err
}
