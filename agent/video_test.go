package agent_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/testvideo"
)

// seer records the VP8 frames it is given.
type seer struct {
	nopHandler
	mu     sync.Mutex
	frames [][]byte
}

func (s *seer) OnVideo(frame []byte, _ uint32) {
	s.mu.Lock()
	s.frames = append(s.frames, append([]byte(nil), frame...))
	s.mu.Unlock()
}

// TestVideoReachesAVideoHandler: real VP8 from a caller's camera track
// arrives frame by frame, the first a 320×240 keyframe.
func TestVideoReachesAVideoHandler(t *testing.T) {
	frames := testvideo.VP8Frames(t, 20)
	h := &seer{}
	f, _ := rtc.NewLoopback()
	srv, _ := agent.NewServer(agent.Config{Token: token, Factory: f, Handler: func() agent.Handler { return h }})
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()

	pc, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cam, _ := webrtc.NewTrackLocalStaticSample(rtc.VP8Codec, "camera", "test")
	if _, err := pc.AddTrack(cam); err != nil {
		t.Fatal(err)
	}
	mic, _ := rtc.NewOpusTrack("mic", "test")
	pc.AddTrack(mic)
	pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	up := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(up) })
		}
	})
	if ans := negotiate(t, pc, hs.URL); !strings.Contains(ans, "VP8/90000") {
		t.Fatal("the answer does not accept VP8")
	}
	select {
	case <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("not connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, fr := range frames {
		cam.WriteSample(media.Sample{Data: fr, Duration: time.Second / 30})
		time.Sleep(time.Second / 30)
	}
	for {
		h.mu.Lock()
		n := len(h.frames)
		h.mu.Unlock()
		if n >= len(frames)-2 { // the last frame waits for the next one to be complete
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the handler saw %d of %d frames", n, len(frames))
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := h.frames[0]
	if first[0]&1 != 0 || len(first) < 10 || first[3] != 0x9d || first[4] != 0x01 || first[5] != 0x2a {
		t.Fatalf("first frame is not a VP8 keyframe: % x", first[:10])
	}
	w, ht := int(first[6])|int(first[7]&0x3f)<<8, int(first[8])|int(first[9]&0x3f)<<8
	if w != 320 || ht != 240 {
		t.Fatalf("keyframe is %d×%d, want 320×240", w, ht)
	}
	for i, fr := range h.frames {
		if string(fr) != string(frames[i]) {
			t.Fatalf("frame %d differs from what was sent", i)
		}
	}
}
