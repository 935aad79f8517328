package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/rtc"
)

func TestCheckAgentURL(t *testing.T) {
	good := []struct{ in, want string }{
		{"http://gpu-box:8443", "http://gpu-box:8443"},
		{"  HTTPS://GPU-Box.example.org:8443/  ", "https://gpu-box.example.org:8443"},
		{"http://10.0.0.5:8443/", "http://10.0.0.5:8443"},
		{"http://[::1]:8443", "http://[::1]:8443"},
		{"https://example.org/parley/", "https://example.org/parley"}, // behind a reverse proxy
		{"http://gpu-box:", "http://gpu-box"},
	}
	for _, tt := range good {
		got, err := CheckAgentURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CheckAgentURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in    string
		words []string // what the person must read
	}{
		{"", []string{"Enter the agent's address", "http://"}},
		{"   ", []string{"Enter the agent's address"}},
		{"ftp://gpu-box/agent", []string{"http:// or https://", "not ftp://"}},
		{"gpu-box:8443", []string{"must start with http:// or https://", "http://gpu-box:8443"}},
		{"192.168.1.5:8443", []string{"must start with http:// or https://"}},
		{"http://", []string{"no host name"}},
		{"https:///v1", []string{"no host name"}},
		{"http://gpu-box:99999", []string{"99999", "not a port number"}},
		{"http://gpu box:8443", []string{"not a valid web address", "gpu box"}},
		{"http://gpu-box:8443/?token=x", []string{"must not have a query"}},
		{"http://gpu-box:8443#top", []string{"must not have a fragment"}},
		{"http://me:secret@gpu-box:8443", []string{"user name or password", "token field"}},
	}
	for _, tt := range bad {
		got, err := CheckAgentURL(tt.in)
		if err == nil || !errors.Is(err, ErrAgentURL) {
			t.Errorf("CheckAgentURL(%q) = %q, %v; want ErrAgentURL", tt.in, got, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckAgentURL(%q): the error shows the password: %v", tt.in, err)
		}
		saysAll(t, err, tt.words...)
	}
}

// saysAll fails unless err's text contains every one of words.
func saysAll(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// testConn runs TestConnection with a short deadline, so a test never waits
// the whole ConnectionTimeout.
func testConn(t *testing.T, url, token string) (ConnectionReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return TestConnection(ctx, url, token)
}

// fakeServer answers every request with status, ctype and body.
func fakeServer(t *testing.T, status int, ctype, body string) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	return hs
}

// hostOf is "127.0.0.1:port" of an http://127.0.0.1:port URL.
func hostOf(url string) string { return url[strings.Index(url, "//")+2:] }

// TestTestConnectionOK: the in-process agent as the app runs it.
func TestTestConnectionOK(t *testing.T) {
	la, err := localagent.Start(nil, localagent.Options{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	rep, err := testConn(t, " "+la.URL+"/ ", la.Token)
	if err != nil {
		t.Fatal(err)
	}
	free, capped := rep.FreeSlots()
	switch {
	case !rep.Reachable || rep.URL != la.URL || rep.HostPort != hostOf(la.URL):
		t.Errorf("where: %+v", rep)
	case rep.RoundTrip <= 0 || rep.RoundTrip > time.Second:
		t.Errorf("round trip %v", rep.RoundTrip)
	case rep.Version != api.ProtocolVersion || !rep.SameVersion:
		t.Errorf("version %d, same %v", rep.Version, rep.SameVersion)
	case !slices.Contains(rep.Capabilities, agent.CapAudio) || !slices.Contains(rep.Capabilities, agent.CapAvatar):
		t.Errorf("capabilities %q", rep.Capabilities)
	case rep.Sessions != 0 || rep.MaxSessions != 4 || !capped || free != 4:
		t.Errorf("sessions %d of %d, free %d (capped %v)", rep.Sessions, rep.MaxSessions, free, capped)
	}
	sum := rep.Summary()
	for _, w := range []string{"Connected to the Parley agent at " + hostOf(la.URL), " ms.", "protocol 3, like this app", "4 of its 4 call slots are free", "audio, avatar"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary %q does not say %q", sum, w)
		}
	}
	t.Log(sum)
	if la.Sessions() != 0 {
		t.Errorf("the test left %d sessions", la.Sessions())
	}
	// HTTP drops spaces at the end of a header (RFC 9110 5.5), so a token
	// pasted with a trailing space works, in a call as here.
	if _, err := testConn(t, la.URL, la.Token+" "); err != nil {
		t.Errorf("token with a trailing space: %v", err)
	}

	// The token: wrong, missing, pasted with a space or a line break.
	tokens := []struct {
		token string
		words []string
	}{
		{"wrong", []string{hostOf(la.URL), "refused the token", "401", "--token"}},
		{"", []string{hostOf(la.URL), "needs a token", "none is set"}},
		{" " + la.Token, []string{"refused the token", "spaces at its start or end"}},
		{la.Token + "\n", []string{"line break", "paste it again"}},
	}
	for _, tt := range tokens {
		rep, err := testConn(t, la.URL, tt.token)
		if !errors.Is(err, ErrAgentToken) {
			t.Errorf("token %q: %v, want ErrAgentToken", tt.token, err)
			continue
		}
		saysAll(t, err, tt.words...)
		if want := !strings.Contains(tt.token, "\n"); rep.Reachable != want {
			t.Errorf("token %q: reachable %v, want %v", tt.token, rep.Reachable, want)
		}
	}
}

func TestTestConnectionProblems(t *testing.T) {
	// Nothing listening: a port that was free a moment ago.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := ln.Addr().String()
	ln.Close()

	older := fakeServer(t, 404, api.ContentTypeJSON, `{"error":"not_found","message":"no such endpoint: /v1/info"}`)
	webPage := fakeServer(t, 404, "text/html", "<html><h1>Not Found</h1></html>")
	spa := fakeServer(t, 200, "text/html", "<!doctype html><title>My router</title>")
	basicAuth := fakeServer(t, 401, "text/plain", "login required")

	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	closing, err := agent.NewServer(agent.Config{Token: "tok", Handler: echo.New(echo.Config{}), Factory: f})
	if err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(closing)
	t.Cleanup(closed.Close)
	closing.Close() // now it takes no calls: 503

	tlsAgent := httptest.NewUnstartedServer(closing)
	tlsAgent.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes these tests fail on purpose
	tlsAgent.StartTLS()                                   // a certificate this machine does not trust
	t.Cleanup(tlsAgent.Close)

	tests := []struct {
		name      string
		url       string
		is        error
		reachable bool
		words     []string
	}{
		{"nothing listening", "http://" + nothing, ErrAgentUnreachable, false,
			[]string{nothing, "Nothing is listening", "connection refused"}},
		{"plain web server", webPage.URL, ErrNotAgent, true,
			[]string{hostOf(webPage.URL), "is not a Parley agent", "404 Not Found", "Check the address and the port"}},
		{"web page answering everything", spa.URL, ErrNotAgent, true,
			[]string{hostOf(spa.URL), "is not a Parley agent"}},
		{"older agent", older.URL, ErrOldAgent, true,
			[]string{hostOf(older.URL), "older parley-agent", "Calls may still work"}},
		{"proxy with a login", basicAuth.URL, ErrAgentToken, true,
			[]string{hostOf(basicAuth.URL), "401", "not the way a Parley agent does", "proxy"}},
		{"agent shutting down", closed.URL, ErrAgentBusy, true,
			[]string{hostOf(closed.URL), "takes no calls right now", "503", "shutting down", "Try again in 5 s"}},
		{"certificate not trusted", tlsAgent.URL, ErrAgentTLS, false,
			[]string{hostOf(tlsAgent.URL), "certificate", "not trusted"}},
		{"https to a plain http server", "https://" + hostOf(webPage.URL), ErrAgentTLS, false,
			[]string{hostOf(webPage.URL), "does not speak https", "http://"}},
		{"http to an https server", "http://" + hostOf(tlsAgent.URL), ErrNotAgent, true,
			[]string{hostOf(tlsAgent.URL), "400 Bad Request", "must start with https://"}},
		{"bad address", "ftp://" + hostOf(webPage.URL), ErrAgentURL, false,
			[]string{"http:// or https://", "not ftp://"}},
		{"no address", "", ErrAgentURL, false, []string{"Enter the agent's address"}},
		{"no host", "http://:8443", ErrAgentURL, false, []string{"no host name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := testConn(t, tt.url, "tok")
			if !errors.Is(err, tt.is) {
				t.Fatalf("%v; want %v", err, tt.is)
			}
			saysAll(t, err, tt.words...)
			if rep.Reachable != tt.reachable {
				t.Errorf("reachable %v, want %v", rep.Reachable, tt.reachable)
			}
			if rep.Version != 0 || rep.Summary() != "" {
				t.Errorf("a failed test reports %+v, %q", rep, rep.Summary())
			}
			t.Log(err)
		})
	}
}

// TestTestConnectionHangs: a server that takes the request and never
// answers, and one that accepts the connection and never reads: both give
// a "did not answer" within the bound.
func TestTestConnectionHangs(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	}))
	t.Cleanup(hung.Close)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn // accepted, never read, closed at the end
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	for _, url := range []string{hung.URL, "http://" + ln.Addr().String()} {
		const bound = 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		t0 := time.Now()
		rep, err := TestConnection(ctx, url, "tok")
		took := time.Since(t0)
		cancel()
		if !errors.Is(err, ErrAgentTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v; want ErrAgentTimeout", url, err)
		}
		saysAll(t, err, hostOf(url), "accepted the connection but did not answer within", " ms")
		if took > bound+time.Second {
			t.Errorf("%s: answered after %v; bound %v", url, took, bound)
		}
		if rep.Reachable {
			t.Errorf("%s: a server that never answered is reported reachable", url)
		}
		t.Log(err)
	}
}

// TestTestConnectionOtherVersion: an agent of another protocol version is
// reported, not refused.
func TestTestConnectionOtherVersion(t *testing.T) {
	hs := fakeServer(t, 200, api.ContentTypeJSON,
		`{"version":99,"capabilities":["audio","teleport"],"sessions":7,"max_sessions":0,"agent_version":"v9.0.0"}`)
	rep, err := testConn(t, hs.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	free, capped := rep.FreeSlots()
	if rep.Version != 99 || rep.SameVersion || capped || free != 0 || rep.Sessions != 7 || rep.AgentVersion != "v9.0.0" {
		t.Fatalf("report %+v", rep)
	}
	sum := rep.Summary()
	for _, w := range []string{"protocol 99 but this app speaks 3", "calls may not work", "no limit on calls; 7 in progress", "audio, teleport", "v9.0.0"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary %q does not say %q", sum, w)
		}
	}
}

// TestTestConnectionUnknownHost: a name DNS does not know (the .invalid
// top-level domain never resolves, RFC 6761). The resolver here may also
// just not answer: either way the person reads the host name.
func TestTestConnectionUnknownHost(t *testing.T) {
	_, err := testConn(t, "http://no-such-host.invalid:8443", "tok")
	switch {
	case errors.Is(err, ErrAgentUnreachable):
		saysAll(t, err, "no-such-host.invalid")
	case errors.Is(err, ErrAgentTimeout):
		saysAll(t, err, "no-such-host.invalid:8443")
	default:
		t.Fatalf("%v; want unreachable", err)
	}
	t.Log(err)
}

// TestRestartAgain: an ICE restart is tried again while the path may come
// back, not once the agent said the session is gone or nothing listens.
func TestRestartAgain(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{&signal.StatusError{Status: http.StatusConflict}, true},
		{&signal.StatusError{Status: http.StatusBadGateway}, true},
		{fmt.Errorf("restart: %w", &signal.StatusError{Status: http.StatusNotFound}), false},
		{&signal.StatusError{Status: http.StatusMethodNotAllowed}, false},
		{&signal.StatusError{Status: http.StatusBadRequest}, false},
		{fmt.Errorf("signal: %w", refused), false},
		{call.ErrCallEnded, false},
	} {
		if got := restartAgain(c.err); got != c.want {
			t.Errorf("restartAgain(%v) = %v", c.err, got)
		}
	}
}
