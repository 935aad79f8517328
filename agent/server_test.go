package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/media/rtc"
)

const token = "s3cret"

func newServer(t *testing.T) (*agent.Server, *httptest.Server) {
	return serve(t, agent.Config{Handler: echo.New(echo.Config{})})
}

// serve runs an agent with cfg (token and a loopback factory filled in)
// behind httptest until the test ends.
func serve(t *testing.T, cfg agent.Config) (*agent.Server, *httptest.Server) {
	t.Helper()
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token, cfg.Factory = token, f
	srv, err := agent.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return srv, hs
}

// clientPeer is a caller's peer connection as the app makes it, from the
// loopback factory: an Opus microphone track and the parley data channel.
// It is closed with the test.
func clientPeer(t *testing.T) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample, *webrtc.DataChannel) {
	t.Helper()
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	return clientPeerFrom(t, f)
}

// clientPeerFrom is clientPeer from the factory f.
func clientPeerFrom(t *testing.T, f *rtc.Factory) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample, *webrtc.DataChannel) {
	t.Helper()
	pc, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	tr, err := rtc.NewOpusTrack("mic", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(tr); err != nil {
		t.Fatal(err)
	}
	dc, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pc, tr, dc
}

// gatheredOffer sets pc's local description to a new offer and returns it
// with every ICE candidate (non-trickle).
func gatheredOffer(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return pc.LocalDescription().SDP
}

// offer returns a real SDP offer from a pion peer with an audio track and the
// parley data channel.
func offer(t *testing.T) string {
	t.Helper()
	pc, _, _ := clientPeer(t)
	return gatheredOffer(t, pc)
}

// withoutLines drops the SDP lines that start with any of prefixes.
func withoutLines(sdp string, prefixes ...string) string {
	var keep []string
next:
	for _, l := range strings.Split(sdp, "\r\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				continue next
			}
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\r\n")
}

func do(t *testing.T, method, url, ctype, auth, body string) (*http.Response, api.Error, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e api.Error
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != api.ContentTypeJSON {
			t.Fatalf("error reply has Content-Type %q, want JSON", ct)
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("error body %q is not {error, message}: %v", b, err)
		}
	}
	return resp, e, string(b)
}

func TestSignalingErrors(t *testing.T) {
	_, hs := newServer(t)
	sessions := hs.URL + api.SessionsPath
	good := offer(t)
	bearer := "Bearer " + token
	tests := []struct {
		name, method, url, ctype, auth, body string
		status                               int
		code                                 string
	}{
		{"no token", "POST", sessions, api.ContentTypeSDP, "", good, 401, api.CodeUnauthorized},
		{"wrong token", "POST", sessions, api.ContentTypeSDP, "Bearer nope", good, 401, api.CodeUnauthorized},
		{"token without Bearer", "POST", sessions, api.ContentTypeSDP, token, good, 401, api.CodeUnauthorized},
		{"wrong content type", "POST", sessions, "application/json", bearer, good, 415, api.CodeUnsupportedType},
		{"no content type", "POST", sessions, "", bearer, good, 415, api.CodeUnsupportedType},
		{"oversized body", "POST", sessions, api.ContentTypeSDP, bearer, good + strings.Repeat("a=x\r\n", api.MaxOfferBytes/5), 413, api.CodeTooLarge},
		{"empty SDP", "POST", sessions, api.ContentTypeSDP, bearer, "", 400, api.CodeBadSDP},
		{"garbage SDP", "POST", sessions, api.ContentTypeSDP, bearer, "hello agent", 400, api.CodeBadSDP},
		{"SDP without audio", "POST", sessions, api.ContentTypeSDP, bearer, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 400, api.CodeBadSDP},
		{"offer without ICE credentials", "POST", sessions, api.ContentTypeSDP, bearer, withoutLines(good, "a=ice-ufrag:", "a=ice-pwd:"), 400, api.CodeBadSDP},
		{"unknown session", "DELETE", sessions + "/no-such-id", "", bearer, "", 404, api.CodeNotFound},
		{"unknown session needs a token", "DELETE", sessions + "/no-such-id", "", "", "", 401, api.CodeUnauthorized},
		{"wrong method", "GET", sessions, "", bearer, "", 405, api.CodeMethodNotAllowed},
		{"unknown path", "GET", hs.URL + "/v2/whatever", "", bearer, "", 404, api.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, e, _ := do(t, tt.method, tt.url, tt.ctype, tt.auth, tt.body)
			if resp.StatusCode != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, e.Code, e.Message, tt.status, tt.code)
			}
		})
	}
}

func TestCreateAndDeleteSession(t *testing.T) {
	srv, hs := newServer(t)
	resp, _, body := do(t, "POST", hs.URL+api.SessionsPath, api.ContentTypeSDP+"; charset=utf-8", "Bearer "+token, offer(t))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, api.SessionsPath+"/") {
		t.Fatalf("Location = %q", loc)
	}
	if resp.Header.Get("Content-Type") != api.ContentTypeSDP || !strings.Contains(body, "a=candidate:") {
		t.Fatalf("answer is not a non-trickle SDP answer:\n%s", body)
	}
	for _, line := range strings.Split(body, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") && (!strings.Contains(line, " 127.") || !strings.Contains(line, " typ host")) {
			t.Fatalf("the loopback agent offered a non-loopback candidate: %s", line)
		}
	}
	if n := srv.Sessions(); n != 1 {
		t.Fatalf("Sessions() = %d, want 1", n)
	}
	resp, _, _ = do(t, "DELETE", hs.URL+loc, "", "Bearer "+token, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: status %d", resp.StatusCode)
	}
	if n := srv.Sessions(); n != 0 {
		t.Fatalf("after DELETE Sessions() = %d", n)
	}
	resp, e, _ := do(t, "DELETE", hs.URL+loc, "", "Bearer "+token, "")
	if resp.StatusCode != http.StatusNotFound || e.Code != api.CodeNotFound {
		t.Fatalf("second DELETE: %d %q", resp.StatusCode, e.Code)
	}
}

func TestHealthz(t *testing.T) {
	_, hs := newServer(t)
	resp, err := http.Get(hs.URL + api.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

func TestNewServerValidates(t *testing.T) {
	f, _ := rtc.NewLoopback()
	for _, cfg := range []agent.Config{
		{Handler: echo.New(echo.Config{}), Factory: f},
		{Token: "t", Factory: f},
		{Token: "t", Handler: echo.New(echo.Config{})},
	} {
		if _, err := agent.NewServer(cfg); err == nil {
			t.Fatalf("NewServer(%+v) accepted an incomplete config", cfg)
		}
	}
}

func FuzzCreateSession(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
	f.Add("garbage")
	for _, o := range realOffers(f) {
		f.Add(o)
	}
	fac, err := rtc.NewLoopback()
	if err != nil {
		f.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: token, Handler: echo.New(echo.Config{}), Factory: fac})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", api.SessionsPath, strings.NewReader(body))
		req.Header.Set("Content-Type", api.ContentTypeSDP)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); srv.ServeHTTP(w, req) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("offer handling hung")
		}
		if w.Code != http.StatusCreated && w.Code != http.StatusBadRequest && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if w.Code == http.StatusCreated {
			srv.Close() // do not pile up sessions; later offers get 503
		}
	})
}

// TestMain fails the package if any goroutine (a session's RTP loop, a
// peer connection's ICE agent) outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
