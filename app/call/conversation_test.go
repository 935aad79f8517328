package call_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/agent/provider/wer"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/wavfile"
)

// voice is a microphone the test speaks into: what Say queues is played in
// real time, silence otherwise.
type voice struct {
	p     audio.Pacer
	mu    sync.Mutex
	queue []int16
	said  chan struct{} // gets a value when a Say has been played out
}

func newVoice() *voice { return &voice{said: make(chan struct{}, 16)} }

func (v *voice) Say(pcm []int16) {
	v.mu.Lock()
	v.queue = append(v.queue, pcm...)
	v.mu.Unlock()
}

func (v *voice) ReadFrame(ctx context.Context, f []int16) error {
	if err := v.p.Wait(ctx); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	n := copy(f, v.queue)
	clear(f[n:])
	if n > 0 {
		v.queue = v.queue[n:]
		if len(v.queue) == 0 {
			v.said <- struct{}{}
		}
	}
	return nil
}

func (v *voice) Close() error { return nil }

// ear is a speaker that counts the voiced frames it is given.
type ear struct {
	p      audio.Pacer
	mu     sync.Mutex
	voiced int
	last   time.Time // last voiced frame
}

func (e *ear) WriteFrame(ctx context.Context, f []int16) error {
	if audio.Level(f) >= call.SpeechLevel {
		e.mu.Lock()
		e.voiced++
		e.last = time.Now()
		e.mu.Unlock()
	}
	return e.p.Wait(ctx)
}

func (e *ear) Close() error { return nil }

func (e *ear) heard() (int, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.voiced, e.last
}

// talk is one conversation call with an in-process agent.
type talk struct {
	c      *call.Call
	mic    *voice
	spk    *ear
	mu     sync.Mutex
	events []api.Event
	notify chan struct{}
}

func startTalk(tb testing.TB, bc brain.Config) *talk {
	tb.Helper()
	la, err := localagent.Start(nil, localagent.Options{Brain: bc})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { la.Close() })
	if la.Problem != "" {
		tb.Fatalf("the conversation did not start: %s (run make deps)", la.Problem)
	}
	f, _ := rtc.NewLoopback()
	tk := &talk{mic: newVoice(), spk: &ear{}, notify: make(chan struct{}, 1)}
	tk.c, err = call.Dial(context.Background(), call.Config{
		AgentURL: la.URL, Token: la.Token, Factory: f, Mic: tk.mic, Speaker: tk.spk,
	}, call.Callbacks{OnEvent: func(e api.Event) {
		tk.mu.Lock()
		tk.events = append(tk.events, e)
		tk.mu.Unlock()
		select {
		case tk.notify <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tk.c.Hangup)
	return tk
}

// await waits for an event that matches, seen after index from; it returns
// the event and its index.
func (tk *talk) await(tb testing.TB, from int, timeout time.Duration, what string, match func(api.Event) bool) (api.Event, int) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		tk.mu.Lock()
		for i := from; i < len(tk.events); i++ {
			if match(tk.events[i]) {
				e := tk.events[i]
				tk.mu.Unlock()
				return e, i
			}
		}
		tk.mu.Unlock()
		select {
		case <-tk.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			tk.mu.Lock()
			defer tk.mu.Unlock()
			tb.Fatalf("no %s within %v; events: %+v", what, timeout, tk.events)
		}
	}
}

func finalLine(role string) func(api.Event) bool {
	return func(e api.Event) bool { return e.Type == api.TypeTranscript && e.Role == role && e.Final }
}

func speaking(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateSpeaking }

// fakeLLM starts a fake OpenAI-compatible server and returns the providers
// that use it for the language model, with the offline STT and TTS.
func fakeLLM(tb testing.TB, srv *openaitest.Server) brain.Config {
	srv.Start()
	tb.Cleanup(srv.Close)
	return brain.Config{LLMURL: srv.BaseURL(), LLMModel: "llama3.2", SystemPrompt: "-"}
}

// TestConversationOverARealCall: real speech into a real WebRTC call; the
// agent transcribes it offline (pocketsphinx), asks the model (a fake
// OpenAI-compatible server) and speaks the answer (espeak-ng), which comes
// back as audio with the transcript and the turn's latencies.
func TestConversationOverARealCall(t *testing.T) {
	srv := &openaitest.Server{Reply: func(r openaitest.ChatRequest) string {
		return "Ten meters forward. Off we go!"
	}}
	tk := startTalk(t, fakeLLM(t, srv))
	tk.mic.Say(testspeech.GoForward(t))
	user, _ := tk.await(t, 0, 20*time.Second, "user transcript", finalLine(api.RoleUser))
	reply, _ := tk.await(t, 0, 20*time.Second, "reply", finalLine(api.RoleAssistant))
	m, _ := tk.await(t, 0, time.Second, "metrics", func(e api.Event) bool { return e.Type == api.TypeMetrics })
	if user.Text != "go forward ten meters" || reply.Text != "Ten meters forward. Off we go!" {
		t.Fatalf("heard %q, answered %q", user.Text, reply.Text)
	}
	if got := srv.Chats()[0].Messages; len(got) != 1 || got[0].Text != "go forward ten meters" {
		t.Fatalf("the model got %+v", got)
	}
	mm := m.Metrics
	if mm.STTMS <= 0 || mm.TTFTMS <= 0 || mm.TTSMS <= 0 || mm.VoiceToVoiceMS <= 0 || mm.EndOfTurnMS < 400 {
		t.Fatalf("metrics %+v", mm)
	}
	// Both sentences were spoken, and reached the speaker.
	time.Sleep(300 * time.Millisecond)
	if n, _ := tk.spk.heard(); n < 50 {
		t.Fatalf("the speaker got %d voiced frames (%d ms) of the reply", n, n*20)
	}
	t.Logf("voice to voice %.0f ms: end of turn %.0f, STT %.0f, first token %.0f, TTS %.0f", mm.VoiceToVoiceMS, mm.EndOfTurnMS, mm.STTMS, mm.TTFTMS, mm.TTSMS)
}

// TestBargeInOverARealCall: the caller speaking over the reply stops the
// agent's audio at the caller's speaker while the caller is still speaking,
// and the cut reply is marked interrupted.
func TestBargeInOverARealCall(t *testing.T) {
	srv := &openaitest.Server{Reply: func(openaitest.ChatRequest) string {
		return strings.Repeat("Let me tell you a long story about the sea and the ships on it. ", 8)
	}}
	tk := startTalk(t, fakeLLM(t, srv))
	tk.mic.Say(testspeech.GoForward(t))
	_, i := tk.await(t, 0, 20*time.Second, "speaking", speaking)
	time.Sleep(time.Second)
	interruption := testspeech.FrontCenter(t)
	tk.mic.Say(interruption)
	said := time.Now()
	e, _ := tk.await(t, i, 5*time.Second, "interrupt", func(e api.Event) bool { return e.Type == api.TypeInterrupt })
	cut, _ := tk.await(t, i, 5*time.Second, "interrupted reply", finalLine(api.RoleAssistant))
	if e.Turn != 1 || !cut.Interrupted || !strings.HasPrefix(cut.Text, "Let me tell you") {
		t.Fatalf("interrupt %+v, reply %+v", e, cut)
	}
	<-tk.mic.said // the first Say
	<-tk.mic.said // the interruption has been played out
	_, last := tk.spk.heard()
	if spoken := time.Duration(len(interruption)) * time.Second / audio.SampleRate; last.Sub(said) > spoken {
		t.Fatalf("the agent's voice went on %v into a %v interruption", last.Sub(said), spoken)
	}
	if b := tk.c.Metrics().BargeIn; b <= 0 {
		t.Fatal("no barge-in measured")
	}
	t.Logf("agent audio stopped %v after the caller began to speak over it", tk.c.Metrics().BargeIn)
}

// librivox are real recordings with their transcripts (Debian package
// pocketsphinx-testdata): the "transcription" file holds one line per file,
// "<words> (<file id>)".
func librivox(tb testing.TB) (pcms [][]int16, refs []string) {
	tb.Helper()
	dir := "/usr/share/pocketsphinx/test/data/librivox"
	b, err := os.ReadFile(filepath.Join(dir, "transcription"))
	if err != nil {
		tb.Fatalf("%v (run make deps)", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		open := strings.LastIndex(line, "(")
		if open < 0 {
			continue
		}
		id := strings.TrimSuffix(strings.TrimSpace(line[open+1:]), ")")
		pcm, err := wavfile.Load(filepath.Join(dir, id+".wav"))
		if err != nil {
			tb.Fatal(err)
		}
		pcms = append(pcms, pcm)
		words := strings.NewReplacer("<s>", "", "</s>", "").Replace(line[:open]) // sentence markers
		refs = append(refs, strings.ToLower(strings.TrimSpace(words)))
	}
	return pcms, refs
}

// TestOfflineStackOnRealRecordings: with no language model, the agent hears
// six real recordings, one turn each, over a real call, transcribes them
// offline and says each back ("You said …"); the word error rate of the
// transcripts is measured against the recordings' own transcripts.
func TestOfflineStackOnRealRecordings(t *testing.T) {
	pcms, refs := librivox(t)
	pcms = append([][]int16{testspeech.GoForward(t)}, pcms...)
	refs = append([]string{"go forward ten meters"}, refs...)
	tk := startTalk(t, brain.Config{}) // offline, no model
	tk.await(t, 0, 5*time.Second, "no-model notice", func(e api.Event) bool { return e.Type == api.TypeNotice && e.Code == api.NoticeNoModel })
	var hyps []string
	from := 0
	for i, pcm := range pcms {
		tk.mic.Say(pcm)
		user, j := tk.await(t, from, 30*time.Second, fmt.Sprintf("transcript %d", i+1), finalLine(api.RoleUser))
		reply, k := tk.await(t, j, 30*time.Second, fmt.Sprintf("reply %d", i+1), finalLine(api.RoleAssistant))
		if reply.Text != "You said: "+user.Text {
			t.Fatalf("turn %d: heard %q, answered %q", i+1, user.Text, reply.Text)
		}
		_, from = tk.await(t, k, 30*time.Second, "listening", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateListening })
		hyps = append(hyps, user.Text)
		t.Logf("turn %d: WER %.2f\n  said:  %s\n  heard: %s", i+1, wer.WER(refs[i], user.Text), refs[i], user.Text)
	}
	total := wer.WER(strings.Join(refs, " "), strings.Join(hyps, " "))
	t.Logf("word error rate over %d real recordings through the call: %.3f", len(refs), total)
	// Measured: 0.30 through the call; pocketsphinx alone on the same files
	// is in package sphinx. A regression in the audio path shows up here.
	if total > 0.36 {
		t.Fatalf("word error rate %.3f", total)
	}
	if n, _ := tk.spk.heard(); n < 100 {
		t.Fatalf("the answers reached the speaker as %d voiced frames", n)
	}
}

// BenchmarkPipelineOverhead measures what the pipeline adds to a turn:
// voice-to-voice at the client minus the end-of-turn window and the
// providers' own time, with providers that take a fixed 100 ms each (a fake
// OpenAI-compatible server for STT, the model and TTS).
func BenchmarkPipelineOverhead(b *testing.B) {
	const delay = 100 * time.Millisecond
	srv := &openaitest.Server{STTDelay: delay, FirstToken: delay, TTSDelay: delay,
		Reply: func(openaitest.ChatRequest) string { return "Fine, thank you for asking." }}
	srv.Start()
	b.Cleanup(srv.Close)
	bc := brain.Config{LLMURL: srv.BaseURL(), LLMModel: "m", STT: brain.OpenAI, STTModel: "whisper-1", TTS: brain.OpenAI, TTSModel: "tts-1", Voice: "alloy", SystemPrompt: "-"}
	tk := startTalk(b, bc)
	speech := testspeech.FrontCenter(b)
	var over, agentOver, v2v []float64
	from := 0
	for i := 0; i < b.N; i++ {
		tk.mic.Say(speech)
		m, j := tk.await(b, from, 20*time.Second, "metrics", func(e api.Event) bool { return e.Type == api.TypeMetrics })
		_, from = tk.await(b, j, 20*time.Second, "listening", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateListening })
		mm := m.Metrics
		b.Logf("agent: end of turn %.0f, STT %.0f, first token %.0f, TTS %.0f, first audio sent %.0f; client: voice to voice %.0f",
			mm.EndOfTurnMS, mm.STTMS, mm.TTFTMS, mm.TTSMS, mm.FirstAudioMS, mm.VoiceToVoiceMS)
		v2v = append(v2v, mm.VoiceToVoiceMS)
		providers := mm.STTMS + mm.TTFTMS + mm.TTSMS
		if mm.VoiceToVoiceMS > 0 {
			v2v = append(v2v, mm.VoiceToVoiceMS)
			over = append(over, mm.VoiceToVoiceMS-mm.EndOfTurnMS-providers)
		}
		agentOver = append(agentOver, mm.FirstAudioMS-mm.EndOfTurnMS-providers)
	}
	b.ReportMetric(median(v2v), "v2v-ms")
	// Client-side: includes the client's jitter buffer (60 ms), the uplink
	// and the VAD's lag in calling the end of speech.
	b.ReportMetric(median(over), "overhead-ms")
	// Agent-side: the caller's last speech frame → first reply frame sent,
	// minus the end-of-turn window and the providers.
	b.ReportMetric(median(agentOver), "agent-overhead-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBargeIn measures, at the client, the caller's speech starting
// over the agent's reply → the first frame of silence handed to the speaker.
// It includes the barge-in confirmation window (200 ms of speech, so a
// cough does not interrupt).
func BenchmarkBargeIn(b *testing.B) {
	srv := &openaitest.Server{Reply: func(openaitest.ChatRequest) string {
		return strings.Repeat("This is a long answer that goes on and on. ", 10)
	}}
	srv.Start()
	b.Cleanup(srv.Close)
	bc := brain.Config{LLMURL: srv.BaseURL(), LLMModel: "m", STT: brain.OpenAI, STTModel: "whisper-1", TTS: brain.OpenAI, TTSModel: "tts-1", Voice: "alloy", SystemPrompt: "-"}
	tk := startTalk(b, bc)
	speech := testspeech.FrontCenter(b)
	var cut []float64
	from := 0
	for i := 0; i < b.N; i++ {
		tk.c.Send(api.Event{Type: api.TypeText, Text: "tell me"})
		_, j := tk.await(b, from, 20*time.Second, "speaking", speaking)
		time.Sleep(500 * time.Millisecond)
		tk.mic.Say(speech)
		_, j = tk.await(b, j, 10*time.Second, "interrupt", func(e api.Event) bool { return e.Type == api.TypeInterrupt })
		<-tk.mic.said
		// the interruption becomes a turn of its own: wait for its answer to start, then cut that too next round
		_, from = tk.await(b, j, 20*time.Second, "next turn", finalLine(api.RoleUser))
		cut = append(cut, float64(tk.c.Metrics().BargeIn.Microseconds())/1000)
		tk.c.Send(api.Event{Type: api.TypeInterrupt})
		time.Sleep(300 * time.Millisecond)
	}
	b.ReportMetric(median(cut), "bargein-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOfflineVoiceToVoice: the offline stack (pocketsphinx, the echo
// brain, espeak-ng) on a real recording, voice-to-voice at the client.
func BenchmarkOfflineVoiceToVoice(b *testing.B) {
	tk := startTalk(b, brain.Config{})
	speech := testspeech.GoForward(b)
	var v2v, stt, tts []float64
	from := 0
	for i := 0; i < b.N; i++ {
		tk.mic.Say(speech)
		m, j := tk.await(b, from, 20*time.Second, "metrics", func(e api.Event) bool { return e.Type == api.TypeMetrics })
		_, from = tk.await(b, j, 20*time.Second, "listening", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateListening })
		v2v = append(v2v, m.Metrics.VoiceToVoiceMS)
		stt = append(stt, m.Metrics.STTMS)
		tts = append(tts, m.Metrics.TTSMS)
	}
	b.ReportMetric(median(v2v), "v2v-ms")
	b.ReportMetric(median(stt), "stt-ms")
	b.ReportMetric(median(tts), "tts-ms")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
