package openai

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fake(t *testing.T, s *openaitest.Server) (*openaitest.Server, Config) {
	t.Helper()
	s.Start()
	t.Cleanup(s.Close)
	return s, Config{BaseURL: s.BaseURL(), APIKey: "sk-test", Model: "llama3.2", STTModel: "whisper-1", TTSModel: "tts-1", Voice: "alloy"}
}

func TestChatStreamsDeltasInOrder(t *testing.T) {
	srv, cfg := fake(t, &openaitest.Server{Reply: func(openaitest.ChatRequest) string {
		return "Hello there. How are you today?"
	}})
	llm, err := NewLLM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	reply, err := llm.Stream(context.Background(), []provider.Message{
		{Role: provider.RoleSystem, Text: "Be brief."},
		{Role: provider.RoleUser, Text: "hi"},
		{Role: provider.RoleAssistant, Text: "Hello."},
		{Role: provider.RoleUser, Text: "again"},
	}, func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if reply != "Hello there. How are you today?" || strings.Join(deltas, "") != reply || len(deltas) != 6 {
		t.Fatalf("reply %q from %d deltas %q", reply, len(deltas), deltas)
	}
	got := srv.Chats()[0]
	if got.Model != "llama3.2" || !got.Stream || len(got.Messages) != 4 ||
		got.Messages[0].Role != "system" || got.Messages[2].Role != "assistant" || got.Messages[3].Text != "again" {
		t.Fatalf("server saw %+v", got)
	}
}

func TestChatSendsImageOnlyToVisionModels(t *testing.T) {
	srv, cfg := fake(t, &openaitest.Server{})
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}
	msgs := []provider.Message{{Role: provider.RoleUser, Text: "what do you see?", Image: jpeg}}
	for _, vision := range []bool{false, true} {
		cfg.Vision = vision
		llm, _ := NewLLM(cfg)
		if _, err := llm.Stream(context.Background(), msgs, func(string) {}); err != nil {
			t.Fatal(err)
		}
	}
	chats := srv.Chats()
	if chats[0].Messages[0].ImageURL != "" {
		t.Fatal("an image went to a model without vision")
	}
	if m := chats[1].Messages[0]; m.ImageURL != "data:image/jpeg;base64,/9j/4AECAw==" || m.Text != "what do you see?" {
		t.Fatalf("vision request carried %+v", m)
	}
}

func TestChatErrorsAndCancellation(t *testing.T) {
	srv, cfg := fake(t, &openaitest.Server{ChatStatus: 500})
	llm, _ := NewLLM(cfg)
	_, err := llm.Stream(context.Background(), []provider.Message{{Role: "user", Text: "x"}}, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "the model is not available") || !strings.Contains(err.Error(), "llama3.2") {
		t.Fatalf("a 500 gave %v, want the server's message and the model", err)
	}

	srv.ChatStatus = 0
	srv.Reply = func(openaitest.ChatRequest) string { return strings.Repeat("word ", 100) }
	srv.TokenGap = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	start := time.Now()
	partial, err := llm.Stream(ctx, []provider.Message{{Role: "user", Text: "x"}}, func(string) {
		if n++; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || partial != "word word word " {
		t.Fatalf("cancelled stream: %q, %v", partial, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancellation took %v", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.Aborted() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Aborted() == 0 {
		t.Fatal("the server never saw the client hang up")
	}
}

func TestTranscribeUploadsWAV(t *testing.T) {
	srv, cfg := fake(t, &openaitest.Server{Transcribe: func(wav []byte) string { return " go forward ten meters \n" }})
	stt, err := NewSTT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	speech, _ := audio.Resample(testspeech.GoForward(t), audio.SampleRate, provider.STTSampleRate)
	text, err := stt.Transcribe(context.Background(), speech)
	if err != nil || text != "go forward ten meters" {
		t.Fatalf("%q, %v", text, err)
	}
	up := srv.Uploads()[0]
	if up.Model != "whisper-1" || up.Filename != "utterance.wav" || up.ContentType != "audio/wav" ||
		len(up.WAV) != 44+2*len(speech) || string(up.WAV[:4]) != "RIFF" {
		t.Fatalf("upload: model %q file %q type %q, %d bytes", up.Model, up.Filename, up.ContentType, len(up.WAV))
	}
	srv.STTStatus = 401
	if _, err := stt.Transcribe(context.Background(), speech); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a 401 gave %v", err)
	}
}

func TestSpeechIsResampledTo48k(t *testing.T) {
	srv, cfg := fake(t, &openaitest.Server{Speak: func(string) []int16 { return openaitest.Tone(24000) }})
	tts, err := NewTTS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := tts.Synthesize(context.Background(), "One second of tone.")
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != audio.SampleRate || audio.RMS(pcm) < 0.1 {
		t.Fatalf("%d samples at RMS %.3f, want 1 s of tone at 48 kHz", len(pcm), audio.RMS(pcm))
	}
	if got := srv.Speeches(); len(got) != 1 || got[0] != "One second of tone." {
		t.Fatalf("server got %q", got)
	}
	if pcm, err := tts.Synthesize(context.Background(), "  "); pcm != nil || err != nil || len(srv.Speeches()) != 1 {
		t.Fatal("blank text went to the server")
	}
	srv.TTSDelay = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := tts.Synthesize(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out speech gave %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{}, {BaseURL: "ftp://x/v1", Model: "m"}, {BaseURL: "localhost:11434", Model: "m"}} {
		if _, err := NewLLM(c); !errors.Is(err, provider.ErrNotConfigured) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := NewSTT(Config{BaseURL: "http://x/v1"}); !errors.Is(err, provider.ErrNotConfigured) {
		t.Error(err)
	}
	if _, err := NewTTS(Config{BaseURL: "http://x/v1", TTSModel: "tts-1"}); !errors.Is(err, provider.ErrNotConfigured) {
		t.Error(err)
	}
}

func TestListModels(t *testing.T) {
	_, cfg := fake(t, &openaitest.Server{Models: []string{"llama3.2", "llava"}})
	ids, err := ListModels(context.Background(), cfg)
	if err != nil || strings.Join(ids, ",") != "llama3.2,llava" {
		t.Fatalf("%v, %v", ids, err)
	}
	// Nothing listens on this port: a clear error, quickly.
	start := time.Now()
	if _, err := ListModels(context.Background(), Config{BaseURL: "http://127.0.0.1:9/v1", Timeout: time.Second}); err == nil {
		t.Fatal("no server, no error")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("a refused connection took too long")
	}
}
