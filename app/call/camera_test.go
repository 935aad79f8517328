package call_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/vp8"
	"github.com/parley-app/parley/media/wavfile"
)

// seen is one camera frame as the agent got it.
type seen struct {
	at   time.Time
	ts   uint32 // RTP timestamp, 90 kHz
	key  bool
	w, h int   // decoded size; 0 if it did not decode
	err  error // the decoder's error
}

// eye is an agent handler that watches the caller's camera through the
// agent's public VideoHandler ability, the way the conversation's vision
// does: it decodes every VP8 frame with libvpx.
type eye struct {
	dec    *vp8.Decoder
	mu     sync.Mutex
	frames []seen
}

func newEye() *eye { return &eye{dec: vp8.NewDecoder()} }

func (*eye) Start(context.Context, agent.Output) error { return nil }
func (*eye) OnAudio([]int16)                           {}
func (*eye) OnEvent(api.Event)                         {}
func (e *eye) Stop()                                   { e.dec.Close() }

func (e *eye) OnVideo(frame []byte, ts uint32) {
	s := seen{at: time.Now(), ts: ts, key: vp8.IsKeyFrame(frame)}
	if img, err := e.dec.Decode(frame); err != nil {
		s.err = err
	} else {
		s.w, s.h = img.Rect.Dx(), img.Rect.Dy()
	}
	e.mu.Lock()
	e.frames = append(e.frames, s)
	e.mu.Unlock()
}

// since returns the frames seen from index i on.
func (e *eye) since(i int) []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.frames[min(i, len(e.frames)):]...)
}

// await waits until the eye has seen n frames from index i on.
func (e *eye) await(t *testing.T, i, n int, what string) []seen {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := e.since(i); len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the agent saw %d of %d frames", what, len(e.since(i)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openPattern(t *testing.T, name string) (*camera.Source, camera.Preset) {
	t.Helper()
	p, ok := camera.PresetByName(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	src, err := camera.Open(camera.TestPatternID, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, p
}

// dialCamera calls the agent at url over loopback with 30 s of silence as
// the microphone and src (at preset p) as the camera; the call is hung up
// when the test ends.
func dialCamera(t *testing.T, url, token string, src *camera.Source, p camera.Preset) *call.Call {
	t.Helper()
	f, _ := rtc.NewLoopback()
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: url, Token: token, Factory: f, Speaker: &discard{},
		Mic:    wavfile.NewSource(make([]int16, 30*audio.SampleRate)),
		Camera: src, CameraPreset: p,
	}, call.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Hangup)
	return c
}

func checkDecoded(t *testing.T, frames []seen, p camera.Preset, what string) {
	t.Helper()
	for i, f := range frames {
		if f.err != nil || f.w != p.Width || f.h != p.Height {
			t.Fatalf("%s: frame %d decoded as %d×%d (%v), want %d×%d", what, i, f.w, f.h, f.err, p.Width, p.Height)
		}
	}
}

// TestCameraReachesTheAgent: over a real call to a real agent, the test
// pattern at 320×240 arrives as VP8 the agent decodes, at 15 fps, first a
// keyframe; SetCamera(nil) stops the video RTP; SetCamera(src) resumes it
// with a keyframe that decodes, its RTP timestamp moved on by the pause.
func TestCameraReachesTheAgent(t *testing.T) {
	src, p := openPattern(t, "320x240")
	e := newEye()
	url := startSpeaker(t, e)
	c := dialCamera(t, url, "t", src, p)

	on := e.await(t, 0, 2*p.FrameRate+1, "camera on at dial") // 2 s
	if !on[0].key {
		t.Error("the first frame is not a keyframe")
	}
	checkDecoded(t, on, p, "camera on at dial")
	n := len(on) - 1
	fps := float64(n) / on[n].at.Sub(on[0].at).Seconds()
	if fps < 0.85*float64(p.FrameRate) || fps > 1.15*float64(p.FrameRate) {
		t.Errorf("the agent got %.1f fps, want about %d", fps, p.FrameRate)
	}
	tick := on[n].ts - on[0].ts
	if want := float64(on[n].at.Sub(on[0].at).Seconds() * 90000); float64(tick) < 0.9*want || float64(tick) > 1.1*want {
		t.Errorf("RTP timestamps moved %d ticks in %v, want about %.0f (90 kHz)", tick, on[n].at.Sub(on[0].at), want)
	}

	// Off: no frame after the ones in flight.
	if err := c.SetCamera(nil); err != nil {
		t.Fatal(err)
	}
	offAt := time.Now()
	time.Sleep(200 * time.Millisecond)
	sent := c.CameraStats()
	mark := len(e.since(0))
	time.Sleep(1500 * time.Millisecond)
	if late := e.since(mark); len(late) > 0 {
		t.Fatalf("the agent got %d frames in the 1.5 s after the camera was turned off", len(late))
	}
	if st := c.CameraStats(); st.On || st.Frames != sent.Frames {
		t.Fatalf("camera stats while off: %+v (at off: %+v)", st, sent)
	}
	last := e.since(mark - 1)[0]

	// On again: a keyframe first, decodable, stamped after the pause. The
	// agent's sample builder gives a frame out when the next one starts, so
	// the last frame sent before the pause may arrive first.
	if err := c.SetCamera(src); err != nil {
		t.Fatal(err)
	}
	onAt := time.Now()
	again := e.await(t, mark, p.FrameRate, "camera on again")
	if !again[0].key && again[0].ts-last.ts == uint32(90000/p.FrameRate) {
		last, again = again[0], again[1:]
	}
	if !again[0].key {
		t.Error("the first frame after the camera came back is not a keyframe")
	}
	checkDecoded(t, again, p, "camera on again")
	pause := onAt.Sub(offAt)
	if got := time.Duration(again[0].ts-last.ts) * time.Second / 90000; got < pause-150*time.Millisecond || got > pause+p.FrameInterval()+150*time.Millisecond {
		t.Errorf("RTP timestamp moved %v over a pause of %v", got, pause)
	}
	st := c.CameraStats()
	if !st.On || st.KeyFrames < 2 || st.Bytes == 0 {
		t.Errorf("camera stats %+v", st)
	}
	t.Logf("on: %d frames at %.1f fps; back on after a %v pause: RTP +%d ticks; stats %+v", len(on), fps, pause.Round(time.Millisecond), again[0].ts-last.ts, st)
}

// TestCallWithoutCamera: a call dialled without a camera sends no video
// and works as before; the camera can be turned on mid-call (no
// renegotiation: the video transceiver is always offered), and SetCamera
// says when the call is over.
func TestCallWithoutCamera(t *testing.T) {
	e := newEye()
	url := startSpeaker(t, e)
	f, _ := rtc.NewLoopback()
	hello := make(chan struct{}, 1)
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: url, Token: "t", Factory: f, Speaker: &discard{},
		Mic: wavfile.NewSource(make([]int16, 30*audio.SampleRate)),
	}, call.Callbacks{OnEvent: func(ev api.Event) {
		if ev.Type == api.TypeHello {
			hello <- struct{}{}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup()
	select {
	case <-hello:
	case <-time.After(5 * time.Second):
		t.Fatal("no hello from the agent")
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(e.since(0)); n > 0 || c.CameraStats().On {
		t.Fatalf("without a camera the agent got %d frames; stats %+v", n, c.CameraStats())
	}
	if err := c.SetCamera(nil); err != nil {
		t.Fatalf("camera off while off: %v", err)
	}

	src, p := openPattern(t, "320x240")
	if err := c.SetCamera(src); err != nil {
		t.Fatal(err)
	}
	got := e.await(t, 0, 5, "camera turned on mid-call")
	if !got[0].key {
		t.Error("the first frame is not a keyframe")
	}
	checkDecoded(t, got, p, "camera turned on mid-call")

	c.Hangup()
	if err := c.SetCamera(src); !errors.Is(err, call.ErrCallEnded) {
		t.Fatalf("SetCamera after the hang-up: %v, want ErrCallEnded", err)
	}
	if _, err := src.Read(context.Background()); err != nil {
		t.Fatalf("the call closed the caller's source: %v", err)
	}
}

// pliAgent is a minimal answerer in place of the agent: it reads the
// caller's camera and sends a PLI when asked.
type pliAgent struct {
	pc     *webrtc.PeerConnection
	mu     sync.Mutex
	frames []seen
	ssrc   uint32
}

func startPLIAgent(t *testing.T) (*pliAgent, string) {
	t.Helper()
	f, _ := rtc.NewLoopback()
	pc, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	a := &pliAgent{pc: pc}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Add(1)
		defer wg.Done()
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
		a.mu.Lock()
		a.ssrc = uint32(tr.SSRC())
		a.mu.Unlock()
		sb := samplebuilder.New(100, &codecs.VP8Packet{}, 90000)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				a.mu.Lock()
				a.frames = append(a.frames, seen{at: time.Now(), ts: s.PacketTimestamp, key: vp8.IsKeyFrame(s.Data)})
				a.mu.Unlock()
			}
		}
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.SessionsPath, func(w http.ResponseWriter, r *http.Request) {
		offer, _ := io.ReadAll(r.Body)
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		<-gathered
		w.Header().Set("Location", api.SessionsPath+"/1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, pc.LocalDescription().SDP)
	})
	mux.HandleFunc("DELETE "+api.SessionsPath+"/1", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return a, hs.URL
}

// TestCameraKeyFrameOnPLI: a picture loss indication from the receiver
// gets a keyframe at once, not at the next periodic one (4 s).
func TestCameraKeyFrameOnPLI(t *testing.T) {
	a, url := startPLIAgent(t)
	src, p := openPattern(t, "320x240")
	c := dialCamera(t, url, "t", src, p)
	count := func() (int, uint32) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.frames), a.ssrc
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := count(); n < p.FrameRate; n, _ = count() { // 1 s of video
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d frames", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mark, ssrc := count()
	asked := time.Now()
	if err := a.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	for time.Since(asked) < 500*time.Millisecond {
		a.mu.Lock()
		for _, f := range a.frames[mark:] {
			if f.key {
				a.mu.Unlock()
				if st := c.CameraStats(); st.KeyFrameRequests != 1 || st.KeyFrames != 2 {
					t.Errorf("camera stats %+v, want 1 request and 2 keyframes", st)
				}
				t.Logf("keyframe %v after the PLI", f.at.Sub(asked).Round(time.Millisecond))
				return
			}
		}
		a.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no keyframe within 500 ms of the PLI")
}

// TestCameraReachesTheVisionModel: the agent's own camera consumer, the
// conversation, decodes the call's camera and gives the language model
// (a fake OpenAI-compatible server with vision on) the latest frame as a
// JPEG of the preset's size with the caller's typed question.
func TestCameraReachesTheVisionModel(t *testing.T) {
	srv := &openaitest.Server{Reply: func(openaitest.ChatRequest) string { return "Coloured bars." }}
	bc := fakeLLM(t, srv)
	bc.Vision = true
	la, err := localagent.Start(nil, localagent.Options{Brain: bc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { la.Close() })
	if la.Problem != "" {
		t.Fatalf("the conversation did not start: %s (run make deps)", la.Problem)
	}
	src, p := openPattern(t, "320x240")
	c := dialCamera(t, la.URL, la.Token, src, p)
	for deadline := time.Now().Add(5 * time.Second); c.CameraStats().Frames < int64(p.FrameRate); {
		if time.Now().After(deadline) {
			t.Fatalf("the camera did not start: %+v", c.CameraStats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the frames in flight reach the agent
	if err := c.Send(api.Event{Type: api.TypeText, Text: "what do you see?"}); err != nil {
		t.Fatal(err)
	}
	var chats []openaitest.ChatRequest
	for deadline := time.Now().Add(20 * time.Second); len(chats) == 0; chats = srv.Chats() {
		if time.Now().After(deadline) {
			t.Fatal("the model was never asked")
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgs := chats[0].Messages
	user := msgs[len(msgs)-1]
	b64, ok := strings.CutPrefix(user.ImageURL, "data:image/jpeg;base64,")
	if user.Text != "what do you see?" || !ok {
		t.Fatalf("the model got %q with image %.40q, want the question and a JPEG", user.Text, user.ImageURL)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	img, err := jpeg.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != p.Width || img.Bounds().Dy() != p.Height {
		t.Fatalf("the model's image: %v, %v; want a %d×%d JPEG", err, img.Bounds(), p.Width, p.Height)
	}
	t.Logf("the model got a %d-byte %v JPEG of the camera", len(raw), img.Bounds().Size())
}
