package brain

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
)

func build(t *testing.T, c Config) *Brain {
	t.Helper()
	b, err := Build(context.Background(), c)
	if err != nil {
		t.Fatalf("%v (run make deps)", err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestOfflineWithoutAModel: the zero config is the offline stack from
// Debian packages with the echo brain.
func TestOfflineWithoutAModel(t *testing.T) {
	b := build(t, Config{AutoOllama: true, OllamaURL: "http://127.0.0.1:9/v1"})
	if !strings.HasPrefix(b.STT, "pocketsphinx") || !strings.HasPrefix(b.TTS, "espeak-ng") || b.LLM != "none (echo)" {
		t.Fatalf("chose STT %q, LLM %q, TTS %q", b.STT, b.LLM, b.TTS)
	}
	if b.VAD != "silero" {
		t.Fatalf("VAD %q: run make deps to install the Silero model", b.VAD)
	}
	if b.Handler() == nil {
		t.Fatal("no handler")
	}
}

// TestFindsOllama: a server answering /v1/models where Ollama listens is
// used, with its first chat model (not an embedding model).
func TestFindsOllama(t *testing.T) {
	srv := (&openaitest.Server{Models: []string{"nomic-embed-text", "llama3.2:3b", "llava"}}).Start()
	defer srv.Close()
	b := build(t, Config{AutoOllama: true, OllamaURL: srv.BaseURL()})
	if !strings.HasPrefix(b.LLM, "llama3.2:3b @ 127.0.0.1:") {
		t.Fatalf("LLM %q", b.LLM)
	}
	// An explicit URL wins and is not probed.
	b = build(t, Config{AutoOllama: true, OllamaURL: srv.BaseURL(), LLMURL: "http://10.0.0.5:8080/v1", LLMModel: "qwen"})
	if b.LLM != "qwen @ 10.0.0.5:8080" {
		t.Fatalf("LLM %q", b.LLM)
	}
}

func TestBadConfigsSayWhat(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{STT: "whisper.cpp"}, "speech-to-text \"whisper.cpp\""},
		{Config{TTS: OpenAI, LLMURL: "http://x/v1"}, "no speech model or voice"},
		{Config{STT: OpenAI}, "no speech-to-text model"},
		{Config{STT: OpenAI, STTModel: "whisper-1"}, "base URL \"\""},
		{Config{LLMURL: "localhost:11434", LLMModel: "m"}, "not an http(s) URL"},
	} {
		_, err := Build(context.Background(), c.cfg)
		if !errors.Is(err, provider.ErrNotConfigured) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	h := c.Flags(fs)
	if err := fs.Parse([]string{"--llm-url", "http://127.0.0.1:8080/v1", "--llm-model", "m", "--tts", "openai", "--tts-model", "kokoro", "--voice", "af_heart", "--end-silence", "800ms"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(*h); err != nil {
		t.Fatal(err)
	}
	if *h != HandlerConversation || c.LLMModel != "m" || c.TTS != OpenAI || c.Voice != "af_heart" || c.EndSilence != 800*time.Millisecond || !c.AutoOllama {
		t.Fatalf("%+v", c)
	}
	for _, bad := range [][]string{{"--handler", "parrot"}, {"--stt", "x"}, {"--end-silence", "50ms"}} {
		var c Config
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		h := c.Flags(fs)
		if err := fs.Parse(bad); err != nil {
			t.Fatal(err)
		}
		if c.Check(*h) == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestNoticesReachTheCaller: a VAD fallback is announced to every caller.
func TestNoticesReachTheCaller(t *testing.T) {
	t.Setenv("PARLEY_SILERO_MODEL", "/nonexistent/silero.onnx")
	b := build(t, Config{})
	if b.VAD != "energy" || len(b.Notices) != 1 || b.Notices[0].Code != api.NoticeVADFallback {
		t.Fatalf("VAD %q, notices %+v", b.VAD, b.Notices)
	}
}
