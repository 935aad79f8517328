package agent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/opus"
	"github.com/parley-app/parley/media/rtc"
)

// TestSessionCap: with 4 slots, 20 concurrent offers give exactly 4 × 201 and
// 16 × 503 with Retry-After.
func TestSessionCap(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, err := agent.NewServer(agent.Config{Token: token, Handler: agent.HandlerFunc(func() agent.Handler { return nopHandler{} }), Factory: f, MaxSessions: 4})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	offers := make([]string, 20)
	for i := range offers {
		offers[i] = offer(t)
	}
	var created, refused atomic.Int32
	var wg sync.WaitGroup
	for _, o := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", hs.URL+api.SessionsPath, strings.NewReader(o))
			req.Header.Set("Content-Type", api.ContentTypeSDP)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusCreated:
				created.Add(1)
			case http.StatusServiceUnavailable:
				if resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				refused.Add(1)
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 4 || refused.Load() != 16 {
		t.Fatalf("%d created, %d refused; want 4 and 16", created.Load(), refused.Load())
	}
	if n := srv.Sessions(); n != 4 {
		t.Fatalf("Sessions() = %d", n)
	}
	m := scrape(t, hs.URL)
	for _, want := range []string{"parley_sessions_active 4", "parley_sessions_started_total 4", "parley_sessions_refused_total 16"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// scrape returns the agent's /metrics text.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + agent.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(b)
}

// TestLoopbackOnly: the local agent refuses a Host that is not loopback (a
// DNS-rebinding page), and serves one that is.
func TestLoopbackOnly(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, _ := agent.NewServer(agent.Config{Token: token, Handler: agent.HandlerFunc(func() agent.Handler { return nopHandler{} }), Factory: f, LoopbackOnly: true})
	defer srv.Close()
	for host, want := range map[string]int{"127.0.0.1:9": 200, "localhost:9": 200, "[::1]:9": 200, "evil.example:9": 403, "evil.example": 403} {
		req := httptest.NewRequest("GET", api.HealthPath, nil)
		req.Host = host
		req.RemoteAddr = "127.0.0.1:5555"
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
	req := httptest.NewRequest("GET", api.HealthPath, nil)
	req.Host = "127.0.0.1:9"
	req.RemoteAddr = "192.0.2.1:5555"
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("non-loopback client: %d", w.Code)
	}
}

// negotiate sends pc's SDP offer to the agent at url (non-trickle, real
// signaling) and applies the answer; it returns the answer.
func negotiate(t *testing.T, pc *webrtc.PeerConnection, url string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url+api.SessionsPath, strings.NewReader(gatheredOffer(t, pc)))
	req.Header.Set("Content-Type", api.ContentTypeSDP)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("offer: %d %s", resp.StatusCode, ans)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(ans)}); err != nil {
		t.Fatal(err)
	}
	return string(ans)
}

type nopHandler struct{}

func (nopHandler) Start(context.Context, agent.Output) error { return nil }
func (nopHandler) OnAudio([]int16)                           {}
func (nopHandler) OnEvent(api.Event)                         {}
func (nopHandler) Stop()                                     {}

// panicky panics on its first audio frame when it is the bad one, and counts
// frames otherwise.
type panicky struct {
	bad    bool
	frames *atomic.Int32
}

func (p panicky) Start(context.Context, agent.Output) error { return nil }
func (p panicky) OnAudio([]int16) {
	if p.bad {
		panic("handler bug")
	}
	p.frames.Add(1)
}
func (panicky) OnEvent(api.Event) {}
func (panicky) Stop()             {}

// dialAndSend connects a real pion client that sends Opus silence, and
// returns its peer connection and a channel that gets every event.
func dialAndSend(t *testing.T, url string, stop <-chan struct{}) (*webrtc.PeerConnection, <-chan api.Event) {
	t.Helper()
	pc, tr, dc := clientPeer(t)
	events := make(chan api.Event, 100)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if e, err := api.DecodeEvent(m.Data); err == nil {
			events <- e
		}
	})
	negotiate(t, pc, url)
	enc, _ := opus.NewEncoder(0)
	go func() {
		defer enc.Close()
		var p audio.Pacer
		silence := make([]int16, audio.FrameSamples)
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.Wait(context.Background())
			pkt, _ := enc.Encode(silence)
			tr.WriteSample(media.Sample{Data: pkt, Duration: audio.FrameDuration})
		}
	}()
	return pc, events
}

// TestHandlerPanicEndsOnlyItsSession: two sessions; one handler panics. Its
// session ends with an error event, the server keeps running, and the other
// session keeps getting audio.
func TestHandlerPanicEndsOnlyItsSession(t *testing.T) {
	f, _ := rtc.NewLoopback()
	var n atomic.Int32
	var good atomic.Int32
	srv, _ := agent.NewServer(agent.Config{Token: token, Factory: f, Handler: agent.HandlerFunc(func() agent.Handler {
		return panicky{bad: n.Add(1) == 2, frames: &good}
	})})
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	stop := make(chan struct{})
	defer close(stop)
	pcGood, _ := dialAndSend(t, hs.URL, stop)
	defer pcGood.Close()
	pcBad, badEvents := dialAndSend(t, hs.URL, stop)
	defer pcBad.Close()

	deadline := time.After(10 * time.Second)
	for gotErr := false; !gotErr; {
		select {
		case e := <-badEvents:
			gotErr = e.Type == api.TypeError
		case <-deadline:
			t.Fatal("the panicking session sent no error event")
		}
	}
	for srv.Sessions() != 1 {
		select {
		case <-deadline:
			t.Fatalf("Sessions() = %d, want 1 after the panic", srv.Sessions())
		case <-time.After(10 * time.Millisecond):
		}
	}
	before := good.Load()
	time.Sleep(300 * time.Millisecond)
	if after := good.Load(); after <= before {
		t.Fatalf("the healthy session stopped hearing audio (%d -> %d frames)", before, after)
	}
	m := scrape(t, hs.URL)
	for _, want := range []string{"parley_sessions_reclaimed_total 1", "parley_sessions_active 1"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(m, agent.FrameSecondsMetric+"_count") || strings.Contains(m, "parley_rtp_packets_received_total 0\n") {
		t.Error("/metrics does not count frames and packets")
	}
}

// waitSessions waits until the server holds n sessions.
func waitSessions(t *testing.T, srv *agent.Server, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for srv.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Sessions() = %d after %v, want %d", srv.Sessions(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReclaimWhenPeerVanishes: a caller that disappears without DELETE
// (its peer connection just stops) loses its slot within seconds.
func TestReclaimWhenPeerVanishes(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, _ := agent.NewServer(agent.Config{Token: token, Factory: f, MaxSessions: 1, Handler: agent.HandlerFunc(func() agent.Handler { return nopHandler{} })})
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	stop := make(chan struct{})
	pc, events := dialAndSend(t, hs.URL, stop)
	<-events // hello: the call is up
	waitSessions(t, srv, 1, time.Second)
	start := time.Now()
	close(stop)
	pc.Close() // no DELETE
	waitSessions(t, srv, 0, 10*time.Second)
	t.Logf("slot freed %v after the caller vanished", time.Since(start))
	if m := scrape(t, hs.URL); !strings.Contains(m, "parley_sessions_reclaimed_total 1\n") {
		t.Error("reclaim not counted")
	}
}

// TestIdleTimeout: a caller from whom nothing comes (no RTP, no events) is
// reclaimed after the idle timeout, though its connection is alive.
func TestIdleTimeout(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, _ := agent.NewServer(agent.Config{Token: token, Factory: f, IdleTimeout: 1500 * time.Millisecond, Handler: agent.HandlerFunc(func() agent.Handler { return nopHandler{} })})
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	stop := make(chan struct{})
	close(stop) // the client sends no audio at all
	pc, events := dialAndSend(t, hs.URL, stop)
	defer pc.Close()
	<-events
	waitSessions(t, srv, 0, 6*time.Second)
}
