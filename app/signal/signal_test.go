package signal_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/rtc"
)

const token = "s3cret"

// startAgent serves a real agent with a cap of 3 until the test ends.
func startAgent(t *testing.T) string {
	t.Helper()
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: token, Handler: echo.New(echo.Config{}), Factory: f, MaxSessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return hs.URL
}

func client(t *testing.T, url, tok string) *signal.Client {
	t.Helper()
	c, err := signal.New(url, tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInfo(t *testing.T) {
	url := startAgent(t)
	in, err := client(t, url, token).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != api.ProtocolVersion || in.MaxSessions != 3 || in.Free == nil || *in.Free != 3 || len(in.Capabilities) == 0 {
		t.Fatalf("info %+v", in)
	}

	_, err = client(t, url, "wrong").Info(context.Background())
	var se *signal.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || se.API.Code != api.CodeUnauthorized {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestInfoErrors(t *testing.T) {
	reply := func(status int, ctype, body string) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
		t.Cleanup(hs.Close)
		return hs.URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		url    string
		status int   // a *StatusError with this status, or
		is     error // an error that is this
	}{
		{"web page", reply(200, "text/html", "<html>hello</html>"), 0, signal.ErrNotAgent},
		{"JSON without a version", reply(200, api.ContentTypeJSON, `{"status":"ok"}`), 0, signal.ErrNotAgent},
		{"404 page", reply(404, "text/html", "<h1>Not Found</h1>"), 404, nil},
		{"older agent", reply(404, api.ContentTypeJSON, `{"error":"not_found","message":"no such endpoint: /v1/info"}`), 404, nil},
		{"nothing listening", closed, 0, signal.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client(t, tt.url, token).Info(context.Background())
			var se *signal.StatusError
			switch {
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Fatalf("got %v, want %v", err, tt.is)
			case tt.is == nil && (!errors.As(err, &se) || se.Status != tt.status):
				t.Fatalf("got %v, want status %d", err, tt.status)
			}
		})
	}
}

// WithHTTPClient's client is the one used.
func TestWithHTTPClient(t *testing.T) {
	url := startAgent(t)
	used := false
	h := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := signal.New(url, token, signal.WithHTTPClient(h))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(context.Background()); err != nil || !used {
		t.Fatalf("Info: %v; custom client used: %v", err, used)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// offerer is a caller's peer connection with a microphone track and the
// parley data channel, closed with the test.
func offerer(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil); err != nil {
		t.Fatal(err)
	}
	return pc
}

// gathered makes pc's offer (opts: ICE restart or not) its local
// description and returns it with its candidates.
func gathered(t *testing.T, pc *webrtc.PeerConnection, opts *webrtc.OfferOptions) string {
	t.Helper()
	o, err := pc.CreateOffer(opts)
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

// TestRestartSession: an ICE restart offer sent to a session's Location
// gets the agent's answer; a session that is gone gives a 404, an agent
// without ICE restarts a 405, both as *StatusError with the agent's code.
func TestRestartSession(t *testing.T) {
	url := startAgent(t)
	c := client(t, url, token)
	pc := offerer(t)
	s, err := c.CreateSession(context.Background(), gathered(t, pc, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.Answer}); err != nil {
		t.Fatal(err)
	}
	restart := gathered(t, pc, &webrtc.OfferOptions{ICERestart: true})
	answer, err := c.RestartSession(context.Background(), s.Location, restart)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "a=candidate:") || answer == s.Answer {
		t.Fatalf("restart answer:\n%s", answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}

	if err := c.DeleteSession(context.Background(), s.Location); err != nil {
		t.Fatal(err)
	}
	_, err = c.RestartSession(context.Background(), s.Location, gathered(t, pc, &webrtc.OfferOptions{ICERestart: true}))
	var se *signal.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.API.Code != api.CodeNotFound {
		t.Fatalf("restart of a deleted session: %v", err)
	}

	// An agent from before ICE restarts answered PATCH like any other
	// wrong method.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "DELETE")
		w.Header().Set("Content-Type", api.ContentTypeJSON)
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = io.WriteString(w, `{"error":"method_not_allowed","message":"PATCH is not allowed here; use DELETE"}`)
	}))
	defer old.Close()
	_, err = client(t, old.URL, token).RestartSession(context.Background(), old.URL+api.SessionsPath+"/x", restart)
	if !errors.As(err, &se) || se.Status != http.StatusMethodNotAllowed || se.API.Code != api.CodeMethodNotAllowed {
		t.Fatalf("restart at an older agent: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := client(t, gone, token).RestartSession(context.Background(), gone+api.SessionsPath+"/x", restart); !errors.Is(err, signal.ErrUnreachable) {
		t.Fatalf("restart with nothing listening: %v", err)
	}
}
