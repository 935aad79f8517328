package call_test

import (
	"context"
	"math"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/lipsync"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/testvideo"
	"github.com/parley-app/parley/media/wavfile"
)

// speaker is a handler that says pcm once the call is up, then, if video
// is set, shows it as live video (hybrid mode) and returns to the avatar.
type speaker struct {
	pcm   []int16
	video [][]byte
	done  chan struct{}
	err   chan error
}

func (s *speaker) Start(ctx context.Context, out agent.Output) error {
	go func() {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		_ = out.Send(api.Event{Type: api.TypeState, State: api.StateSpeaking})
		out.PlayAudio(s.pcm, func() {
			_ = out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
			close(s.done)
		})
		if s.video == nil {
			return
		}
		vo, ok := out.(agent.VideoOutput)
		if !ok {
			s.err <- nil
			return
		}
		_ = out.Send(api.Event{Type: api.TypeMediaMode, Mode: api.ModeVideo})
		for _, f := range s.video {
			if err := vo.WriteVideo(f, time.Second/30); err != nil {
				s.err <- err
				return
			}
			time.Sleep(time.Second / 30)
		}
		_ = out.Send(api.Event{Type: api.TypeMediaMode, Mode: api.ModeAssets})
		s.err <- nil
	}()
	return nil
}
func (*speaker) OnAudio([]int16)   {}
func (*speaker) OnEvent(api.Event) {}
func (*speaker) Stop()             {}

// recorder is a real-time speaker that keeps every frame it plays and
// when it played it.
type recorder struct {
	p      audio.Pacer
	mu     sync.Mutex
	frames [][]int16
	at     []time.Time
}

func (r *recorder) WriteFrame(ctx context.Context, f []int16) error {
	if err := r.p.Wait(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.frames = append(r.frames, append([]int16(nil), f...))
	r.at = append(r.at, time.Now())
	r.mu.Unlock()
	return nil
}
func (r *recorder) Close() error { return nil }

// startSpeaker starts a real agent with the built-in avatar pack behind
// httptest, answering every call with h, and returns its URL (token "t").
func startSpeaker(tb testing.TB, h agent.Handler) string {
	tb.Helper()
	f, err := rtc.NewLoopback()
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: "t", Factory: f, Avatar: avatar.Default(),
		Handler: func() agent.Handler { return h }})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return hs.URL
}

// TestMouthFollowsVoice: through a real call, the mouth the client shows at
// each moment is the mouth of the audio its speaker plays then. The
// displayed openness, sampled every 5 ms, is compared with the envelope of
// the audio actually played (decoded Opus): the best alignment must be
// within ±40 ms (two frames) and the two must agree (correlation ≥ 0.8).
func TestMouthFollowsVoice(t *testing.T) {
	speech := testspeech.GoForward(t)
	h := &speaker{pcm: speech, done: make(chan struct{}), err: make(chan error, 1)}
	url := startSpeaker(t, h)
	f, _ := rtc.NewLoopback()
	rec := &recorder{}
	var events []api.Event
	var evMu sync.Mutex
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: url, Token: "t", Factory: f, Speaker: rec,
		Mic: wavfile.NewSource(make([]int16, 10*audio.SampleRate)),
	}, call.Callbacks{OnEvent: func(e api.Event) { evMu.Lock(); events = append(events, e); evMu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup()

	type shown struct {
		at   time.Time
		open float64
	}
	var samples []shown
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				samples = append(samples, shown{now, c.Mouth(now).Open})
			}
		}
	}()
	select {
	case <-h.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the agent never finished speaking")
	}
	time.Sleep(400 * time.Millisecond) // the jitter buffer's tail
	close(stop)
	<-sampled
	c.Hangup()

	// What was played, frame by frame, and the mouth it should show.
	rec.mu.Lock()
	frames, at := rec.frames, rec.at
	rec.mu.Unlock()
	env := lipsync.New()
	want := make([]float64, len(frames))
	for i, f := range frames {
		want[i] = env.Next(f).Open
	}
	// What was shown in the middle of each played frame.
	got := make([]float64, len(frames))
	j := 0
	for i := range frames {
		mid := at[i].Add(10 * time.Millisecond)
		for j+1 < len(samples) && !samples[j+1].at.After(mid) {
			j++
		}
		got[i] = samples[j].open
	}
	var openFrames int
	for _, v := range got {
		if v > 0 {
			openFrames++
		}
	}
	if openFrames < 50 {
		t.Fatalf("the mouth was open in %d frames of %d; the agent spoke %.1f s", openFrames, len(got), float64(len(speech))/audio.SampleRate)
	}
	bestLag, best := 0, -2.0
	for lag := -6; lag <= 6; lag++ {
		if r := corrAt(got, want, lag); r > best {
			bestLag, best = lag, r
		}
	}
	t.Logf("mouth vs played audio: best lag %d ms, correlation %.3f (at 0: %.3f); open in %d of %d frames",
		bestLag*20, best, corrAt(got, want, 0), openFrames, len(got))
	if bestLag < -2 || bestLag > 2 {
		t.Errorf("the mouth is %d ms off the audio, want within ±40 ms", bestLag*20)
	}
	if best < 0.8 {
		t.Errorf("mouth and audio envelope correlate %.3f, want ≥ 0.8", best)
	}
	// The face followed the agent's state: listening, then speaking.
	evMu.Lock()
	defer evMu.Unlock()
	var exprs []string
	for _, e := range events {
		if e.Type == api.TypeAvatar {
			if e.Asset == "" {
				t.Errorf("avatar event without an asset: %+v", e)
			}
			exprs = append(exprs, e.Expression)
		}
		if e.Type == api.TypeMouth {
			t.Errorf("mouth events reach the app's callback: %+v", e)
		}
	}
	if len(exprs) < 3 || exprs[0] != "listening" || exprs[1] != "neutral" || exprs[2] != "listening" {
		t.Errorf("expressions %v, want listening, neutral (speaking), listening", exprs)
	}
}

// corrAt is the Pearson correlation of got[i] with want[i+lag].
func corrAt(got, want []float64, lag int) float64 {
	lo, hi := max(0, -lag), min(len(got), len(want)-lag)
	if hi-lo < 2 {
		return 0
	}
	if r := stat.Correlation(got[lo:hi], want[lo+lag:hi+lag], nil); !math.IsNaN(r) {
		return r
	}
	return 0 // a constant series
}

// TestHybridVideo: an agent that has something the pack cannot show sends
// it as live VP8 on its own track and says so with media_mode; the client
// decodes it and hears when to switch back.
func TestHybridVideo(t *testing.T) {
	h := &speaker{pcm: make([]int16, audio.FrameSamples), video: testvideo.VP8Frames(t, 30), done: make(chan struct{}), err: make(chan error, 1)}
	url := startSpeaker(t, h)
	f, _ := rtc.NewLoopback()
	var mu sync.Mutex
	var modes []string
	var caps []string
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: url, Token: "t", Factory: f, Speaker: &discard{},
		Mic: wavfile.NewSource(make([]int16, 10*audio.SampleRate)),
	}, call.Callbacks{OnEvent: func(e api.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Type {
		case api.TypeMediaMode:
			modes = append(modes, e.Mode)
		case api.TypeHello:
			caps = e.Capabilities
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup()
	select {
	case err := <-h.err:
		if err != nil {
			t.Fatalf("the handler could not send video: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never finished its video")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(modes)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	img, at := c.Video()
	if img == nil {
		t.Fatal("no frame of the agent's live video was decoded")
	}
	if b := img.Bounds(); b.Dx() != testvideo.Width || b.Dy() != testvideo.Height || at.IsZero() {
		t.Errorf("live frame %v at %v", b, at)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(modes) != 2 || modes[0] != api.ModeVideo || modes[1] != api.ModeAssets {
		t.Errorf("media modes %v, want video then assets", modes)
	}
	hasVideo := false
	for _, c := range caps {
		hasVideo = hasVideo || c == agent.CapVideo
	}
	if !hasVideo {
		t.Errorf("hello capabilities %v lack %q", caps, agent.CapVideo)
	}
}
