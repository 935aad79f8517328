package conversation

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/provider/openai"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/testvideo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// output plays queued audio in real time like the agent's session does (one
// 20 ms frame per tick, done callbacks after a clip's last frame) and
// records events and what was sent.
type output struct {
	mu      sync.Mutex
	queue   []clip
	events  []api.Event
	voiced  int // frames of reply audio sent
	clears  int
	held    bool
	holds   int
	stop    chan struct{}
	stopped chan struct{}
	notify  chan struct{}
}

type clip struct {
	pcm  []int16
	done func()
}

func newOutput() *output {
	o := &output{stop: make(chan struct{}), stopped: make(chan struct{}), notify: make(chan struct{}, 1)}
	go func() {
		defer close(o.stopped)
		tick := time.NewTicker(audio.FrameDuration)
		defer tick.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-tick.C:
			}
			o.mu.Lock()
			var done func()
			if len(o.queue) > 0 && !o.held {
				q := &o.queue[0]
				q.pcm = q.pcm[min(len(q.pcm), audio.FrameSamples):]
				o.voiced++
				if len(q.pcm) == 0 {
					done = q.done
					o.queue = o.queue[1:]
				}
			}
			o.mu.Unlock()
			if done != nil {
				done()
			}
		}
	}()
	return o
}

func (o *output) close() { close(o.stop); <-o.stopped }

func (o *output) PlayAudio(pcm []int16, done func()) {
	o.mu.Lock()
	o.queue = append(o.queue, clip{pcm, done})
	o.mu.Unlock()
}

func (o *output) ClearAudio() {
	o.mu.Lock()
	o.queue = nil
	o.clears++
	o.held = false
	o.mu.Unlock()
}

func (o *output) HoldAudio(h bool) {
	o.mu.Lock()
	if h && !o.held {
		o.holds++
	}
	o.held = h
	o.mu.Unlock()
}

func (o *output) Send(e api.Event) error {
	o.mu.Lock()
	o.events = append(o.events, e)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return nil
}

func (o *output) queued() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, q := range o.queue {
		n += len(q.pcm)
	}
	return n
}

// waitFor waits until an event matches, and returns it.
func (o *output) waitFor(t *testing.T, what string, match func(api.Event) bool) api.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	seen := 0
	for {
		o.mu.Lock()
		evs := o.events[seen:]
		seen = len(o.events)
		o.mu.Unlock()
		for _, e := range evs {
			if match(e) {
				return e
			}
		}
		select {
		case <-o.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s event; got %+v", what, o.all())
		}
	}
}

func (o *output) all() []api.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]api.Event(nil), o.events...)
}

func isType(typ string) func(api.Event) bool {
	return func(e api.Event) bool { return e.Type == typ }
}

func final(role string) func(api.Event) bool {
	return func(e api.Event) bool { return e.Type == api.TypeTranscript && e.Role == role && e.Final }
}

// session wires a handler to a fake OpenAI-compatible server.
type session struct {
	h   *Handler
	out *output
	srv *openaitest.Server
}

func start(t *testing.T, srv *openaitest.Server, withLLM bool, tune func(*Config)) *session {
	t.Helper()
	srv.Start()
	t.Cleanup(srv.Close)
	oc := openai.Config{BaseURL: srv.BaseURL(), Model: "llama3.2", STTModel: "whisper-1", TTSModel: "tts-1", Voice: "alloy"}
	stt, _ := openai.NewSTT(oc)
	tts, _ := openai.NewTTS(oc)
	cfg := Config{STT: stt, TTS: tts, SystemPrompt: "You are Parley."}
	if withLLM {
		cfg.LLM, _ = openai.NewLLM(oc)
	}
	if tune != nil {
		tune(&cfg)
	}
	mk, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{h: mk().(*Handler), out: newOutput(), srv: srv}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.h.Start(ctx, s.out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.h.Stop(); s.out.close() })
	return s
}

// speak feeds pcm (48 kHz) and then silence, frame by frame, paced
// (pace=true: real time, as from a caller) or as fast as possible.
func (s *session) speak(pcm []int16, silence time.Duration, pace bool) {
	pcm = append(append([]int16(nil), pcm...), make([]int16, int(silence.Seconds()*audio.SampleRate))...)
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		s.h.OnAudio(pcm[i : i+audio.FrameSamples])
		if pace {
			time.Sleep(audio.FrameDuration)
		}
	}
}

// TestEchoBrainSaysWhatItHeard: without a model, the agent transcribes real
// speech, says "You said …" and tells the client no model is set up.
func TestEchoBrainSaysWhatItHeard(t *testing.T) {
	s := start(t, &openaitest.Server{Transcribe: func([]byte) string { return "go forward ten meters" }}, false, nil)
	s.out.waitFor(t, "no-model notice", func(e api.Event) bool { return e.Type == api.TypeNotice && e.Code == api.NoticeNoModel })
	s.speak(testspeech.GoForward(t), time.Second, false)
	user := s.out.waitFor(t, "user transcript", final(api.RoleUser))
	reply := s.out.waitFor(t, "assistant transcript", final(api.RoleAssistant))
	if user.Text != "go forward ten meters" || reply.Text != "You said: go forward ten meters" || reply.Turn != user.Turn {
		t.Fatalf("user %+v, reply %+v", user, reply)
	}
	m := s.out.waitFor(t, "metrics", isType(api.TypeMetrics)).Metrics
	if m == nil || m.STTMS <= 0 || m.FirstAudioMS <= 0 || m.TTFTMS != 0 {
		t.Fatalf("metrics %+v", m)
	}
	if got := s.srv.Speeches(); len(got) != 1 || got[0] != reply.Text {
		t.Fatalf("spoke %q", got)
	}
	up := s.srv.Uploads()
	if len(up) != 1 {
		t.Fatalf("%d uploads", len(up))
	}
	// The upload is the utterance at 16 kHz: the speech (2.8 s) plus the
	// pre-roll and a short tail, not the whole second of silence after it.
	if secs := float64(len(up[0].WAV)-44) / 2 / 16000; secs < 2.0 || secs > 3.4 {
		t.Fatalf("uploaded %.2f s of audio", secs)
	}
	if len(s.srv.Chats()) != 0 {
		t.Fatal("the echo brain called a model")
	}
}

// TestEndOfTurnThreshold: a pause shorter than EndSilence does not end the
// turn; one as long does.
func TestEndOfTurnThreshold(t *testing.T) {
	s := start(t, &openaitest.Server{}, false, func(c *Config) { c.EndSilence = 700 * time.Millisecond })
	speech := testspeech.FrontCenter(t)
	s.speak(speech, 400*time.Millisecond, false)
	s.speak(speech, 500*time.Millisecond, false)
	if n := len(s.srv.Uploads()); n != 0 {
		t.Fatalf("pauses of 400 and 500 ms ended %d turns (threshold 700 ms)", n)
	}
	s.speak(nil, 300*time.Millisecond, false)
	s.out.waitFor(t, "user transcript", final(api.RoleUser))
	if up := s.srv.Uploads(); len(up) != 1 || float64(len(up[0].WAV)-44)/2/16000 < 3.0 {
		t.Fatalf("want one turn holding both utterances, got %d uploads", len(up))
	}
}

// TestRepliesStreamSentenceBySentence: the first sentence is synthesized and
// playing while the model is still writing the rest.
func TestRepliesStreamSentenceBySentence(t *testing.T) {
	srv := &openaitest.Server{
		Reply: func(openaitest.ChatRequest) string {
			return "Sure. Ten meters is about thirty three feet. Anything else?"
		},
		TokenGap: 150 * time.Millisecond,
	}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "how far is ten meters"})
	s.out.waitFor(t, "speaking", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateSpeaking })
	if got := s.srv.Speeches(); len(got) != 1 || got[0] != "Sure." {
		t.Fatalf("when speech began the model had been asked to speak %q", got)
	}
	partial := s.out.waitFor(t, "partial", func(e api.Event) bool {
		return e.Type == api.TypeTranscript && e.Role == api.RoleAssistant && !e.Final && strings.HasPrefix(e.Text, "Sure. Ten")
	})
	if partial.Final {
		t.Fatal("partial marked final")
	}
	reply := s.out.waitFor(t, "final", final(api.RoleAssistant))
	if reply.Text != "Sure. Ten meters is about thirty three feet. Anything else?" {
		t.Fatalf("final %q", reply.Text)
	}
	if got := s.srv.Speeches(); len(got) != 3 {
		t.Fatalf("sentences spoken: %q", got)
	}
	m := s.out.waitFor(t, "metrics", isType(api.TypeMetrics)).Metrics
	if m.TTFTMS <= 0 || m.FirstAudioMS <= 0 || m.FirstAudioMS >= m.ReplyMS {
		t.Fatalf("first audio should come before the whole reply was written: %+v", m)
	}
}

// TestContextAndSystemPrompt: the model gets the system prompt and the
// earlier exchange with each new turn.
func TestContextAndSystemPrompt(t *testing.T) {
	srv := &openaitest.Server{Reply: func(r openaitest.ChatRequest) string {
		return "Reply " + string(rune('0'+len(r.Messages)))
	}}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "first"})
	s.out.waitFor(t, "metrics 1", func(e api.Event) bool { return e.Type == api.TypeMetrics && e.Turn == 1 })
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "second"})
	s.out.waitFor(t, "metrics 2", func(e api.Event) bool { return e.Type == api.TypeMetrics && e.Turn == 2 })
	chats := srv.Chats()
	got := chats[1].Messages
	want := []openaitest.ChatMessage{{Role: "system", Text: "You are Parley."}, {Role: "user", Text: "first"}, {Role: "assistant", Text: "Reply 2"}, {Role: "user", Text: "second"}}
	if len(got) != len(want) {
		t.Fatalf("second request %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestBargeIn: the caller speaking over the reply for MinSpeech cancels the
// model's stream and the speech, drops queued audio and tells the client.
func TestBargeIn(t *testing.T) {
	srv := &openaitest.Server{
		Reply:    func(openaitest.ChatRequest) string { return strings.Repeat("This is a long answer that goes on. ", 30) },
		TokenGap: 30 * time.Millisecond,
		Speak:    func(string) []int16 { return openaitest.Tone(24000 * 2) }, // 2 s per sentence
	}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "tell me a story"})
	s.out.waitFor(t, "speaking", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateSpeaking })
	time.Sleep(300 * time.Millisecond)
	speech := testspeech.FrontCenter(t)
	// Real speech, paced like a caller, until the agent stops.
	var cut time.Duration
	for i := 0; i+audio.FrameSamples <= len(speech); i += audio.FrameSamples {
		s.h.OnAudio(speech[i : i+audio.FrameSamples])
		time.Sleep(audio.FrameDuration)
		if s.out.queued() == 0 {
			cut = time.Duration(i/audio.FrameSamples+1) * audio.FrameDuration
			break
		}
	}
	if cut == 0 || cut > 400*time.Millisecond {
		t.Fatalf("the reply still had audio queued %v into the caller's speech", cut)
	}
	intr := s.out.waitFor(t, "interrupt", isType(api.TypeInterrupt))
	cutReply := s.out.waitFor(t, "interrupted transcript", final(api.RoleAssistant))
	if intr.Turn != 1 || !cutReply.Interrupted || !strings.HasPrefix(cutReply.Text, "This is a long answer") || len(cutReply.Text) > 200 {
		t.Fatalf("interrupt %+v, transcript %+v", intr, cutReply)
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.Aborted() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Aborted() == 0 {
		t.Fatal("the model's stream was not cancelled")
	}
	if n := len(srv.Speeches()); n > 3 {
		t.Fatalf("%d sentences synthesized for a reply cut after the first", n)
	}
	// The caller's words become the next turn.
	s.speak(nil, time.Second, false)
	next := s.out.waitFor(t, "next user turn", func(e api.Event) bool { return final(api.RoleUser)(e) && e.Turn == 2 })
	if next.Text != "hello" {
		t.Fatalf("next turn %+v", next)
	}
}

// TestCoughDoesNotInterrupt: a 100 ms blip while the agent speaks is not
// barge-in.
func TestCoughDoesNotInterrupt(t *testing.T) {
	srv := &openaitest.Server{Speak: func(string) []int16 { return openaitest.Tone(24000 * 2) }}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "say something long"})
	s.out.waitFor(t, "speaking", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateSpeaking })
	blip := loudest(testspeech.FrontCenter(t), 5) // 100 ms of a real voice
	if v := vad.NewEnergy(); !v.IsSpeech(blip[:audio.FrameSamples]) {
		t.Fatal("the blip is not speech to the VAD: the test would prove nothing")
	}
	s.speak(blip, 700*time.Millisecond, true)
	for _, e := range s.out.all() {
		if e.Type == api.TypeInterrupt {
			t.Fatal("a 100 ms blip interrupted the agent")
		}
	}
	s.out.waitFor(t, "final", final(api.RoleAssistant))
	if len(srv.Uploads()) != 0 {
		t.Fatal("the blip became a turn")
	}
	s.out.mu.Lock()
	holds, voiced := s.out.holds, s.out.voiced
	s.out.mu.Unlock()
	if holds != 1 || voiced < 95 { // 2 s of reply, every frame of it played
		t.Fatalf("the blip held the reply %d times; %d of 100 frames played", holds, voiced)
	}
}

// TestFailingProviderSaysSoAndGoesOn: a model error is written and spoken,
// and the next turn works.
func TestFailingProviderSaysSoAndGoesOn(t *testing.T) {
	srv := &openaitest.Server{ChatStatus: 503}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "hello?"})
	n := s.out.waitFor(t, "notice", func(e api.Event) bool { return e.Type == api.TypeNotice && e.Code == api.NoticeProvider })
	if !strings.Contains(n.Message, "Language model (llama3.2") || !strings.Contains(n.Message, "503") || !strings.Contains(n.Message, "the model is not available") {
		t.Fatalf("notice %q", n.Message)
	}
	s.out.waitFor(t, "listening", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateListening && e.Turn == 0 })
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Speeches()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sp := srv.Speeches(); len(sp) != 1 || !strings.Contains(sp[0], "language model is not working") {
		t.Fatalf("spoken: %q", sp)
	}
	srv.ChatStatus = 0
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "and now?"})
	if r := s.out.waitFor(t, "reply", final(api.RoleAssistant)); r.Text != "and now?" {
		t.Fatalf("reply %+v", r)
	}
	// A failing speech-to-text is a notice too.
	srv.STTStatus = 500
	s.speak(testspeech.FrontCenter(t), time.Second, false)
	s.out.waitFor(t, "stt notice", func(e api.Event) bool {
		return e.Type == api.TypeNotice && strings.HasPrefix(e.Message, "Speech recognition (whisper-1")
	})
}

// TestVisionGetsTheLatestCameraFrame: with a vision model, the caller's
// real VP8 camera frames are decoded and the user turn carries a JPEG.
func TestVisionGetsTheLatestCameraFrame(t *testing.T) {
	srv := &openaitest.Server{}
	s := start(t, srv, true, func(c *Config) {
		llm, _ := openai.NewLLM(openai.Config{BaseURL: srv.BaseURL(), Model: "llava", Vision: true})
		c.LLM = llm
	})
	for _, f := range testvideo.VP8Frames(t, 10) {
		s.h.OnVideo(f, 0)
	}
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "what do you see?"})
	s.out.waitFor(t, "reply", final(api.RoleAssistant))
	msg := srv.Chats()[0].Messages[1]
	b64, ok := strings.CutPrefix(msg.ImageURL, "data:image/jpeg;base64,")
	if !ok {
		t.Fatalf("no JPEG in %+v", msg)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	img, err := jpeg.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
		t.Fatalf("image: %v, %v", err, img)
	}
}

// TestMemory: with a memory, the model gets the recalled past turns after
// the system prompt, and the caller is told.
func TestMemory(t *testing.T) {
	srv := &openaitest.Server{}
	var asked []string
	s := start(t, srv, true, func(c *Config) {
		c.Recall = func(_ context.Context, text string) ([]string, error) {
			asked = append(asked, text)
			return []string{"You said: my sister lives in Lyon"}, nil
		}
	})
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "where does my sister live?"})
	n := s.out.waitFor(t, "memory notice", func(e api.Event) bool { return e.Type == api.TypeNotice && e.Code == api.NoticeMemory })
	s.out.waitFor(t, "reply", final(api.RoleAssistant))
	if !strings.Contains(n.Message, "Remembered 1 thing") || n.Turn != 1 {
		t.Fatalf("notice %+v", n)
	}
	msgs := srv.Chats()[0].Messages
	if len(msgs) != 3 || msgs[0].Text != "You are Parley." || msgs[1].Role != "system" ||
		!strings.Contains(msgs[1].Text, "my sister lives in Lyon") || msgs[2].Text != "where does my sister live?" {
		t.Fatalf("the model got %+v", msgs)
	}
	if len(asked) != 1 || asked[0] != "where does my sister live?" {
		t.Fatalf("memory asked %q", asked)
	}
}

// loudest returns the n consecutive 20 ms frames of pcm with the most energy.
func loudest(pcm []int16, n int) []int16 {
	best, at := -1.0, 0
	for i := 0; i+n*audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		if r := audio.RMS(pcm[i : i+n*audio.FrameSamples]); r > best {
			best, at = r, i
		}
	}
	return pcm[at : at+n*audio.FrameSamples]
}

// TestPartialTranscripts: while the caller speaks, partial transcripts of
// the turn so far arrive, all before its final line and with its id.
func TestPartialTranscripts(t *testing.T) {
	n := 0
	srv := &openaitest.Server{Transcribe: func(wav []byte) string {
		n++
		return fmt.Sprintf("words %d", (len(wav)-44)/2/1600) // tenths of a second heard
	}}
	s := start(t, srv, false, func(c *Config) { c.PartialEvery = 500 * time.Millisecond })
	s.speak(testspeech.GoForward(t), time.Second, true)
	final := s.out.waitFor(t, "final", final(api.RoleUser))
	var partials []api.Event
	for _, e := range s.out.all() {
		if e.Type == api.TypeTranscript && e.Role == api.RoleUser && !e.Final {
			partials = append(partials, e)
		}
		if e.Type == api.TypeTranscript && e.Final {
			break
		}
	}
	if len(partials) < 3 {
		t.Fatalf("%d partials for 2.8 s of speech every 0.5 s", len(partials))
	}
	for _, p := range partials {
		if p.Turn != final.Turn {
			t.Fatalf("partial of turn %d, final of turn %d", p.Turn, final.Turn)
		}
	}
	time.Sleep(500 * time.Millisecond)
	seenFinal := false
	for _, e := range s.out.all() { // nothing partial after the final
		if e.Type != api.TypeTranscript || e.Role != api.RoleUser {
			continue
		}
		if e.Final {
			seenFinal = true
		} else if seenFinal {
			t.Fatalf("a partial after the final line: %+v", e)
		}
	}
}

// TestTwoCoughsDoNotInterrupt: blips over the reply that add up to more
// than MinSpeech, but never MinSpeech at a stretch, pause the reply and
// let it go on; they are not a turn.
func TestTwoCoughsDoNotInterrupt(t *testing.T) {
	srv := &openaitest.Server{Speak: func(string) []int16 { return openaitest.Tone(24000 * 3) }}
	s := start(t, srv, true, nil)
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "say something long"})
	s.out.waitFor(t, "speaking", func(e api.Event) bool { return e.Type == api.TypeState && e.State == api.StateSpeaking })
	cough := loudest(testspeech.FrontCenter(t), 6) // 120 ms
	s.speak(cough, 200*time.Millisecond, true)
	s.speak(cough, 700*time.Millisecond, true)
	s.out.waitFor(t, "final", final(api.RoleAssistant))
	for _, e := range s.out.all() {
		if e.Type == api.TypeInterrupt {
			t.Fatal("two coughs interrupted the agent")
		}
	}
	if len(srv.Uploads()) != 0 {
		t.Fatal("the coughs became a turn")
	}
}

// TestSpeakingOnWhileTheAgentThinks: the caller pauses long enough to end a
// turn, then goes on before it is transcribed: both parts are one turn,
// and the first turn's line is closed, not left partial.
func TestSpeakingOnWhileTheAgentThinks(t *testing.T) {
	srv := &openaitest.Server{STTDelay: 700 * time.Millisecond, Transcribe: func(wav []byte) string {
		return fmt.Sprintf("%.1f seconds", float64(len(wav)-44)/2/16000)
	}}
	s := start(t, srv, false, nil)
	speech := testspeech.FrontCenter(t)
	s.speak(speech, 650*time.Millisecond, true) // ends turn 1
	s.speak(speech, time.Second, true)          // turn 2 starts while turn 1 is at STT
	reply := s.out.waitFor(t, "reply", final(api.RoleAssistant))
	user := s.out.waitFor(t, "user", func(e api.Event) bool { return final(api.RoleUser)(e) && e.Text != "" })
	var secs float64
	if _, err := fmt.Sscanf(user.Text, "%f seconds", &secs); err != nil || user.Turn != 2 || reply.Turn != 2 {
		t.Fatalf("user %+v, reply %+v", user, reply)
	}
	if secs < 2*1.4 {
		t.Fatalf("turn 2 was transcribed from %.1f s of audio: the first part was lost", secs)
	}
	closed := s.out.waitFor(t, "turn 1 closed", func(e api.Event) bool {
		return e.Type == api.TypeTranscript && e.Role == api.RoleUser && e.Turn == 1 && e.Final
	})
	if closed.Text != "" {
		t.Fatalf("turn 1 closed with %q", closed.Text)
	}
}

// TestSlowProviderTimesOut: a model that does not answer within the turn's
// limit is a written and spoken error, not an interruption.
func TestSlowProviderTimesOut(t *testing.T) {
	srv := &openaitest.Server{FirstToken: 3 * time.Second}
	s := start(t, srv, true, func(c *Config) { c.TurnTimeout = 300 * time.Millisecond })
	s.h.OnEvent(api.Event{Type: api.TypeText, Text: "hello?"})
	n := s.out.waitFor(t, "notice", func(e api.Event) bool { return e.Type == api.TypeNotice && e.Code == api.NoticeProvider })
	if !strings.Contains(n.Message, "no answer within 300ms") {
		t.Fatalf("notice %q", n.Message)
	}
	for _, e := range s.out.all() {
		if e.Type == api.TypeTranscript && e.Interrupted {
			t.Fatalf("a timeout shown as an interruption: %+v", e)
		}
	}
}
