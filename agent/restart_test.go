package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/rtc/vnettest"
)

// counter answers each typed message with a notice that counts them: state
// of the handler that a new session would start again from zero.
type counter struct {
	out agent.Output
	n   int
}

func (c *counter) Start(_ context.Context, out agent.Output) error { c.out = out; return nil }
func (c *counter) OnAudio([]int16)                                 {}
func (c *counter) Stop()                                           {}
func (c *counter) OnEvent(e api.Event) {
	if e.Type == api.TypeText {
		c.n++
		_ = c.out.Send(api.Event{Type: api.TypeNotice, Code: "count", Message: strconv.Itoa(c.n)})
	}
}

// caller is a client peer as the app makes it, which answers the agent's
// pings and reports its ICE states and the agent's notices.
type caller struct {
	pc      *webrtc.PeerConnection
	dc      *webrtc.DataChannel
	ice     chan webrtc.ICEConnectionState
	notices chan string
	open    chan struct{}
}

func newCaller(t *testing.T, f *rtc.Factory) *caller {
	t.Helper()
	pc, _, dc := clientPeerFrom(t, f)
	c := &caller{pc: pc, dc: dc, ice: make(chan webrtc.ICEConnectionState, 100), notices: make(chan string, 100), open: make(chan struct{})}
	keep := api.Keepalive{Send: func(e api.Event) error { return dc.SendText(string(e.Encode())) }}
	dc.OnOpen(func() { close(c.open) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		e, err := api.DecodeEvent(m.Data)
		if err != nil || keep.Handle(e) {
			return
		}
		if e.Type == api.TypeNotice {
			c.notices <- e.Message
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) { c.ice <- s })
	return c
}

// post creates a session with the caller's offer, applies the answer and
// returns the session's Location and the answer.
func (c *caller) post(t *testing.T, base string) (string, string) {
	t.Helper()
	resp, _, ans := do(t, "POST", base+api.SessionsPath, api.ContentTypeSDP, "Bearer "+token, gatheredOffer(t, c.pc))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, ans)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Location"), ans
}

// restartOffer sets a new offer that restarts ICE as the caller's local
// description and returns it with its candidates gathered.
func (c *caller) restartOffer(t *testing.T) string {
	t.Helper()
	o, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return c.pc.LocalDescription().SDP
}

// waitICE waits for the caller's ICE connection to reach want.
func (c *caller) waitICE(t *testing.T, want webrtc.ICEConnectionState, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-c.ice:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("ICE never %s in %v", want, within)
		}
	}
}

// count sends a typed message and returns the handler's count in reply.
func (c *caller) count(t *testing.T) int {
	t.Helper()
	if err := c.dc.SendText(string(api.Event{Type: api.TypeText, Text: "one more"}.Encode())); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.notices:
		n, _ := strconv.Atoi(m)
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not answer the typed message")
	}
	return 0
}

var ufragRE = regexp.MustCompile(`a=ice-ufrag:(\S+)`)

func ufrag(sdp string) string {
	if m := ufragRE.FindStringSubmatch(sdp); m != nil {
		return m[1]
	}
	return ""
}

// TestRestartKeepsTheSession: a real call restarts ICE with PATCH: the
// agent answers with new ICE credentials of its own, the connection comes
// back, and it is the same session: same ID and session count, the data
// channel carries on, and the handler's state (its count of typed
// messages) goes on from where it was.
func TestRestartKeepsTheSession(t *testing.T) {
	srv, hs := serve(t, agent.Config{Handler: func() agent.Handler { return &counter{} }})
	f, _ := rtc.NewLoopback()
	c := newCaller(t, f)
	loc, first := c.post(t, hs.URL)
	c.waitICE(t, webrtc.ICEConnectionStateConnected, 10*time.Second)
	<-c.open
	if n := c.count(t); n != 1 {
		t.Fatalf("count %d before the restart, want 1", n)
	}

	start := time.Now()
	offer := c.restartOffer(t)
	resp, _, ans := do(t, "PATCH", hs.URL+loc, api.ContentTypeSDP, "Bearer "+token, offer)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.ContentTypeSDP || !strings.Contains(ans, "a=candidate:") {
		t.Fatalf("PATCH: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), ans)
	}
	if ufrag(ans) == "" || ufrag(ans) == ufrag(first) {
		t.Fatalf("the agent's ICE credentials did not change: %q then %q", ufrag(first), ufrag(ans))
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	c.waitICE(t, webrtc.ICEConnectionStateConnected, 10*time.Second)
	t.Logf("ICE restart: connected again %v after the offer", time.Since(start).Round(time.Millisecond))

	if n := c.count(t); n != 2 {
		t.Fatalf("count %d after the restart, want 2 (the same handler)", n)
	}
	if n := srv.Sessions(); n != 1 {
		t.Fatalf("Sessions() = %d after the restart, want 1", n)
	}
	m := scrape(t, hs.URL)
	for _, want := range []string{"parley_ice_restarts_total 1", "parley_sessions_started_total 1", "parley_sessions_active 1"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if resp, _, _ := do(t, "DELETE", hs.URL+loc, "", "Bearer "+token, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE after the restart: %d", resp.StatusCode)
	}
}

// TestRestartErrors: a PATCH is refused, with the agent's JSON error, for
// a wrong token, an unknown session, a body that is not an SDP offer, an
// offer that does not restart ICE or changes the DTLS fingerprint; other
// methods get 405 with Allow. The session is not disturbed by any of it.
func TestRestartErrors(t *testing.T) {
	srv, hs := newServer(t)
	f, _ := rtc.NewLoopback()
	c := newCaller(t, f)
	loc, _ := c.post(t, hs.URL)
	first := c.pc.LocalDescription().SDP
	restart := c.restartOffer(t)
	fp := regexp.MustCompile(`(a=fingerprint:sha-256 )([0-9A-F]{2})`)
	otherFP := fp.ReplaceAllStringFunc(restart, func(s string) string {
		if strings.HasSuffix(s, "00") {
			return s[:len(s)-2] + "01"
		}
		return s[:len(s)-2] + "00"
	})
	if otherFP == restart {
		t.Fatal("the offer has no sha-256 fingerprint to change")
	}
	session := hs.URL + loc
	bearer := "Bearer " + token
	tests := []struct {
		name, method, url, ctype, auth, body string
		status                               int
		code, allow                          string
	}{
		{"no token", "PATCH", session, api.ContentTypeSDP, "", restart, 401, api.CodeUnauthorized, ""},
		{"wrong token", "PATCH", session, api.ContentTypeSDP, "Bearer nope", restart, 401, api.CodeUnauthorized, ""},
		{"unknown session", "PATCH", hs.URL + api.SessionsPath + "/no-such-id", api.ContentTypeSDP, bearer, restart, 404, api.CodeNotFound, ""},
		{"unknown session needs a token", "PATCH", hs.URL + api.SessionsPath + "/no-such-id", api.ContentTypeSDP, "", restart, 401, api.CodeUnauthorized, ""},
		{"wrong content type", "PATCH", session, "application/json", bearer, restart, 415, api.CodeUnsupportedType, ""},
		{"oversized body", "PATCH", session, api.ContentTypeSDP, bearer, restart + strings.Repeat("a=x\r\n", api.MaxOfferBytes/5), 413, api.CodeTooLarge, ""},
		{"garbage SDP", "PATCH", session, api.ContentTypeSDP, bearer, "hello agent", 400, api.CodeBadSDP, ""},
		{"no ICE restart", "PATCH", session, api.ContentTypeSDP, bearer, first, 400, api.CodeBadSDP, ""},
		{"no ICE credentials", "PATCH", session, api.ContentTypeSDP, bearer, withoutLines(restart, "a=ice-ufrag:", "a=ice-pwd:"), 400, api.CodeBadSDP, ""},
		{"another DTLS fingerprint", "PATCH", session, api.ContentTypeSDP, bearer, otherFP, 400, api.CodeBadSDP, ""},
		{"PATCH on the collection", "PATCH", hs.URL + api.SessionsPath, api.ContentTypeSDP, bearer, restart, 405, api.CodeMethodNotAllowed, "POST"},
		{"GET a session", "GET", session, "", bearer, "", 405, api.CodeMethodNotAllowed, "DELETE, PATCH"},
		{"POST to a session", "POST", session, api.ContentTypeSDP, bearer, restart, 405, api.CodeMethodNotAllowed, "DELETE, PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, e, _ := do(t, tt.method, tt.url, tt.ctype, tt.auth, tt.body)
			if resp.StatusCode != tt.status || e.Code != tt.code || resp.Header.Get("Allow") != tt.allow {
				t.Fatalf("got %d %q (%s), Allow %q; want %d %q, Allow %q", resp.StatusCode, e.Code, e.Message, resp.Header.Get("Allow"), tt.status, tt.code, tt.allow)
			}
		})
	}
	if n := srv.Sessions(); n != 1 {
		t.Fatalf("Sessions() = %d, want 1", n)
	}
	if m := scrape(t, hs.URL); !strings.Contains(m, "parley_ice_restarts_total 0\n") {
		t.Error("a refused restart was counted")
	}
	// The session still takes a real restart afterwards.
	resp, _, ans := do(t, "PATCH", session, api.ContentTypeSDP, bearer, restart)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH after the refusals: %d %s", resp.StatusCode, ans)
	}
}

// TestLostSessionWaitsForARestart: when the path to a caller breaks (no
// close, no DELETE) the agent keeps the session for api.RestartGrace after
// it notices, so that the caller can restart ICE, and then reclaims it.
func TestLostSessionWaitsForARestart(t *testing.T) {
	var cut atomic.Bool // drops every packet while set
	n := vnettest.New(t, func(vnet.Chunk) bool { return !cut.Load() })
	af, err := rtc.NewLoopback(vnettest.On(n.Agent))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: token, Factory: af, Handler: func() agent.Handler { return &counter{} }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer srv.Close()
	defer hs.Close()
	cf, err := rtc.NewLoopback(vnettest.On(n.Client))
	if err != nil {
		t.Fatal(err)
	}
	c := newCaller(t, cf)
	c.post(t, hs.URL)
	c.waitICE(t, webrtc.ICEConnectionStateConnected, 10*time.Second)
	<-c.open
	if n := c.count(t); n != 1 {
		t.Fatalf("count %d", n)
	}

	cut.Store(true)
	cutAt := time.Now()
	// Both sides notice within api.PongTimeout (the loopback factory's ICE
	// fails after 4 s); the session must outlive that by far.
	time.Sleep(api.PongTimeout + 3*time.Second)
	if got := srv.Sessions(); got != 1 {
		t.Fatalf("the session was reclaimed %v after the path broke, before any grace for a restart", time.Since(cutAt).Round(time.Second))
	}
	waitSessions(t, srv, 0, api.PongTimeout+api.RestartGrace+10*time.Second)
	gone := time.Since(cutAt)
	t.Logf("session reclaimed %v after the path broke", gone.Round(100*time.Millisecond))
	if gone < api.RestartGrace {
		t.Fatalf("reclaimed after %v, before the restart grace of %v", gone, api.RestartGrace)
	}
	if m := scrape(t, hs.URL); !strings.Contains(m, "parley_sessions_reclaimed_total 1\n") {
		t.Error("reclaim not counted")
	}
}
