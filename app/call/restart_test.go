package call_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v4/vnet"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/rtc/vnettest"
	"github.com/parley-app/parley/media/testspeech"
)

// countingEcho is the echo handler that also answers each typed message
// with a notice counting them: state that lives in the agent's session
// and that a new session would start again from zero.
type countingEcho struct {
	agent.Handler
	out agent.Output
	n   int
}

func (h *countingEcho) Start(ctx context.Context, out agent.Output) error {
	h.out = out
	return h.Handler.Start(ctx, out)
}

func (h *countingEcho) OnEvent(e api.Event) {
	if e.Type == api.TypeText {
		h.n++
		_ = h.out.Send(api.Event{Type: api.TypeNotice, Code: "count", Message: strconv.Itoa(h.n)})
	}
}

// count sends a typed message and returns the agent's count in reply.
func count(t *testing.T, c *call.Call, notices <-chan string) int {
	t.Helper()
	if err := c.Send(api.Event{Type: api.TypeText, Text: "count me"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-notices:
		n, _ := strconv.Atoi(m)
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the typed message in 10 s")
	}
	return 0
}

// hearEcho says speech and waits until at least 10 voiced frames of its
// echo have been played.
func hearEcho(t *testing.T, mic *voice, spk *ear, speech []int16) {
	t.Helper()
	before, _ := spk.heard()
	mic.Say(speech)
	deadline := time.Now().Add(15 * time.Second)
	for n, _ := spk.heard(); n < before+10; n, _ = spk.heard() {
		if time.Now().After(deadline) {
			t.Fatalf("no echo of the speech: %d voiced frames played, %d before", n, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartICEAfterThePathBreaks: the path between a connected call and
// the echo agent breaks (every packet dropped). The call does not end: it
// reports the loss once (OnLost) and is Reconnecting; an ICE restart while
// the path is still down fails within its deadline; once the path is back
// another one brings the call back over the same agent session: no new
// POST, one session, the handler's state kept, the echo heard again, and
// both sides' keepalives running again (the call outlives the pong
// timeout).
func TestRestartICEAfterThePathBreaks(t *testing.T) {
	// The path can be cut: while cut is set the router drops every packet
	// (STUN, DTLS, SRTP, SCTP), as a pulled cable or a dead Wi-Fi does.
	// Signaling goes over the machine's loopback, as it does between
	// networks when only the media path broke.
	var cut atomic.Bool
	n := vnettest.New(t, func(vnet.Chunk) bool { return !cut.Load() })
	af, err := rtc.NewLoopback(vnettest.On(n.Agent)) // ICE: disconnected after 2 s, failed 2 s later
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: "t", Factory: af, Handler: func() agent.Handler {
		return &countingEcho{Handler: echo.New(echo.Config{})()}
	}})
	if err != nil {
		t.Fatal(err)
	}
	var posts, patches atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == api.SessionsPath:
			posts.Add(1)
		case r.Method == http.MethodPatch:
			patches.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	cf, err := rtc.NewLoopback(vnettest.On(n.Client))
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 10)
	notices := make(chan string, 100)
	mic, spk := newVoice(), &ear{}
	c, err := call.Dial(context.Background(), call.Config{AgentURL: hs.URL, Token: "t", Factory: cf, Mic: mic, Speaker: spk}, call.Callbacks{
		OnLost: func(err error) { lost <- err },
		OnEvent: func(e api.Event) {
			if e.Type == api.TypeNotice && e.Code == "count" {
				notices <- e.Message
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Hangup)
	speech := testspeech.GoForward(t)
	hearEcho(t, mic, spk, speech)
	if got := count(t, c, notices); got != 1 {
		t.Fatalf("count %d, want 1", got)
	}

	cut.Store(true)
	cutAt := time.Now()
	select {
	case err := <-lost:
		t.Logf("loss noticed %v after the cut: %v", time.Since(cutAt).Round(time.Millisecond), err)
		if !errors.Is(err, call.ErrConnectionLost) {
			t.Fatalf("OnLost(%v), want ErrConnectionLost", err)
		}
	case <-c.Done():
		t.Fatalf("the call ended instead of waiting for a restart: %v", c.Err())
	case <-time.After(15 * time.Second):
		t.Fatal("the loss was not noticed in 15 s")
	}
	if st := c.State(); st != call.Reconnecting {
		t.Fatalf("state %v after the loss, want reconnecting", st)
	}

	// While the path is down, a restart cannot bring the call back. Its
	// checks are still under way when it gives up (the loopback factory's
	// ICE fails after 4 s of checks), so the next restart must let them end
	// first (Call.settle).
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	err = c.RestartICE(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RestartICE with the path still cut: %v, want a deadline error", err)
	}
	if st := c.State(); st != call.Reconnecting {
		t.Fatalf("state %v after a failed restart, want reconnecting", st)
	}

	cut.Store(false)
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	err = c.RestartICE(ctx)
	cancel()
	if err != nil {
		t.Fatalf("RestartICE with the path back: %v", err)
	}
	t.Logf("ICE restart took %v (RestartICE call); the path was cut for %v", time.Since(start).Round(time.Millisecond), start.Sub(cutAt).Round(time.Millisecond))
	m := c.Metrics()
	t.Logf("Metrics: %d restart(s), the last %v from offer to connected", m.Restarts, m.RestartTime.Round(time.Millisecond))
	if st := c.State(); st != call.InCall || m.Restarts != 1 || m.RestartTime <= 0 {
		t.Fatalf("after the restart: state %v, %d restarts in %v", st, m.Restarts, m.RestartTime)
	}

	// The same session: one POST ever, one session, the handler's count
	// goes on, the echo comes back.
	if p, q, s := posts.Load(), patches.Load(), srv.Sessions(); p != 1 || q != 2 || s != 1 {
		t.Fatalf("%d POSTs, %d PATCHes, %d sessions; want 1, 2, 1", p, q, s)
	}
	if got := count(t, c, notices); got != 2 {
		t.Fatalf("count %d after the restart, want 2: not the same handler", got)
	}
	hearEcho(t, mic, spk, speech)
	metrics := scrapeMetrics(t, hs.URL)
	for _, want := range []string{"parley_ice_restarts_total 2", "parley_sessions_started_total 1", "parley_sessions_reclaimed_total 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("the agent's /metrics lacks %q", want)
		}
	}

	// Both keepalives run again: the call outlives the pong timeout with
	// no new loss, on either side.
	time.Sleep(api.PongTimeout + 2*time.Second)
	select {
	case err := <-lost:
		t.Fatalf("lost again after the restart: %v", err)
	case <-c.Done():
		t.Fatalf("the call ended after the restart: %v", c.Err())
	default:
	}
	if st, s := c.State(), srv.Sessions(); st != call.InCall || s != 1 {
		t.Fatalf("%v after the restart: state %v, %d sessions", api.PongTimeout+2*time.Second, st, s)
	}
	if got := count(t, c, notices); got != 3 {
		t.Fatalf("count %d at the end, want 3", got)
	}
}

// scrapeMetrics returns the agent's /metrics page.
func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + agent.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// TestRestartICEOfAGoneSession: when the agent no longer has the session
// (here: deleted; in life, reclaimed or an agent restarted), RestartICE
// fails at once with the agent's 404, the call stays Reconnecting, and a
// hang-up then ends it.
func TestRestartICEOfAGoneSession(t *testing.T) {
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: "t", Factory: f, Handler: echo.New(echo.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	var deleted atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && deleted.CompareAndSwap(false, true) {
			// The session is gone before the restart's offer arrives.
			req, _ := http.NewRequest(http.MethodDelete, r.URL.Path, nil)
			req.Header.Set("Authorization", r.Header.Get("Authorization"))
			srv.ServeHTTP(httptest.NewRecorder(), req)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	c, err := call.Dial(context.Background(), call.Config{AgentURL: hs.URL, Token: "t", Factory: f, Mic: newVoice(), Speaker: &ear{}},
		call.Callbacks{OnLost: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.RestartICE(context.Background())
	var se *signal.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.API.Code != api.CodeNotFound {
		t.Fatalf("RestartICE of a deleted session: %v, want the agent's 404", err)
	}
	t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if st := c.State(); st != call.Reconnecting {
		t.Fatalf("state %v, want reconnecting", st)
	}
	c.Hangup()
	if st := c.State(); st != call.Ended {
		t.Fatalf("state %v after hanging up, want ended", st)
	}
	if err := c.RestartICE(context.Background()); !errors.Is(err, call.ErrCallEnded) {
		t.Fatalf("RestartICE after hanging up: %v", err)
	}
}
