package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// agentBinDir holds the parley-agent the tests build; TestMain removes it.
var agentBinDir string

// buildEnv is the environment the tests started with. go build needs its
// HOME (the module and build caches there); pulsetest.Setenv points HOME
// at a temporary directory, where go build would fetch every module anew.
var buildEnv = os.Environ()

// agentBinary builds the real parley-agent once for this package's tests.
var agentBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "parley-agent-bin-")
	if err != nil {
		return "", err
	}
	agentBinDir = dir
	bin := filepath.Join(dir, "parley-agent")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/parley-app/parley/cmd/parley-agent")
	cmd.Env = buildEnv
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build parley-agent: %v\n%s", err, out)
	}
	return bin, nil
})

// remoteAgent is a parley-agent process on 127.0.0.1.
type remoteAgent struct {
	t     *testing.T
	addr  string
	token string
	cmd   *exec.Cmd
	done  chan struct{}
}

// startRemoteAgent runs parley-agent on addr ("" for a free port) with the
// offline conversation (pocketsphinx, the echo brain, espeak-ng) and
// waits until it listens.
func startRemoteAgent(t *testing.T, addr string) *remoteAgent {
	t.Helper()
	bin, err := agentBinary()
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	r := &remoteAgent{t: t, addr: addr, token: "remote-test-token", done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--listen", addr, "--token", r.token, "--ollama=false")
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				once.Do(func() { close(listening) })
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-listening:
	case <-r.done:
		t.Fatal("parley-agent exited at start")
	case <-time.After(30 * time.Second):
		t.Fatal("parley-agent did not start listening in 30 s")
	}
	return r
}

func (r *remoteAgent) url() string { return "http://" + r.addr }

// kill ends the agent at once (SIGKILL: no bye, no goodbye to its
// sessions), as a crash or a pulled cable looks to the client.
func (r *remoteAgent) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// drain reads statuses until one matches, or fails after within.
func (r *recorder) until(t *testing.T, within time.Duration, what string, match func(Status) bool) Status {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-r.ch:
			if match(s) {
				return s
			}
		case <-deadline:
			r.mu.Lock()
			n := len(r.states)
			last := Status{}
			if n > 0 {
				last = r.states[n-1]
			}
			r.mu.Unlock()
			t.Fatalf("never saw %s in %v; last status %+v", what, within, last)
		}
	}
}

func hasLine(tr []Line, role, text string) bool {
	for _, l := range tr {
		if l.Role == role && l.Final && strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

// TestReconnectAfterTheAgentDies: a remote agent killed mid-call (no bye)
// and started again on the same address: the app shows "reconnecting",
// tries an ICE restart first (it fails: nobody answers the PATCH), dials a
// new session by itself, keeps the transcript, and the conversation goes
// on in the new session.
func TestReconnectAfterTheAgentDies(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	ag := startRemoteAgent(t, "")
	a, r := startApp(t, Config{AgentURL: ag.url(), Token: ag.token, NoHistory: true, NoEchoCancellation: true})
	a.Call()
	r.waitFor(t, call.InCall)
	speech := testspeech.GoForward(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatal(err)
	}
	r.until(t, 30*time.Second, "the first answer", func(s Status) bool {
		return hasLine(s.Transcript, api.RoleAssistant, "go forward")
	})

	ag.kill()
	lostAt := time.Now()
	s := r.until(t, 15*time.Second, "reconnecting", func(s Status) bool { return s.State == call.Reconnecting })
	t.Logf("reconnecting %v after the kill: %q", time.Since(lostAt).Round(time.Millisecond), s.Message)
	if !strings.Contains(s.Message, "Reconnecting") || strings.Contains(s.Message, "attempt") || !hasLine(s.Transcript, api.RoleUser, "go forward") {
		t.Fatalf("while reconnecting (the ICE restart first): message %q, transcript %+v", s.Message, s.Transcript)
	}
	s = r.until(t, 15*time.Second, "a new session tried", func(s Status) bool {
		return s.State == call.Reconnecting && strings.Contains(s.Message, "attempt 1 of")
	})
	t.Logf("after the failed ICE restart, %v after the kill: %q", time.Since(lostAt).Round(time.Millisecond), s.Message)
	time.Sleep(time.Second) // at least one attempt finds nobody there
	ag2 := startRemoteAgent(t, ag.addr)
	s = r.until(t, 30*time.Second, "in call again", func(s Status) bool { return s.State == call.InCall })
	t.Logf("in call again %v after the kill", time.Since(lostAt).Round(time.Millisecond))
	if !hasLine(s.Transcript, api.RoleAssistant, "go forward") || s.Message != "" {
		t.Fatalf("after reconnecting: message %q, transcript %+v", s.Message, s.Transcript)
	}
	if m := agentMetrics(t, ag2.url()); !strings.Contains(m, "parley_sessions_started_total 1\n") || !strings.Contains(m, "parley_ice_restarts_total 0\n") {
		t.Errorf("the new agent's /metrics do not show one new session and no restart:\n%s", m)
	}
	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatal(err)
	}
	s = r.until(t, 30*time.Second, "an answer in the new session", func(s Status) bool {
		n := 0
		for _, l := range s.Transcript {
			if l.Role == api.RoleAssistant && l.Final {
				n++
			}
		}
		return n >= 2
	})
	a.Hangup()
	r.waitFor(t, call.Ended)
}

// TestReconnectGivesUp: with the agent gone for good, the attempts run out
// and the call fails with a message that says so; Hang up while
// reconnecting ends the call at once.
func TestReconnectGivesUp(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	ag := startRemoteAgent(t, "")
	a, r := startApp(t, Config{AgentURL: ag.url(), Token: ag.token, NoHistory: true, NoEchoCancellation: true, ReconnectAttempts: 2})
	a.Call()
	r.waitFor(t, call.InCall)
	ag.kill()
	r.until(t, 15*time.Second, "reconnecting", func(s Status) bool { return s.State == call.Reconnecting })
	s := r.until(t, 30*time.Second, "failed", func(s Status) bool { return s.State == call.Failed })
	t.Logf("message: %s", s.Message)
	if !strings.Contains(s.Message, "lost") || !strings.Contains(s.Message, "2 attempts") {
		t.Fatalf("message %q", s.Message)
	}

	// Again, hanging up while it reconnects.
	ag = startRemoteAgent(t, ag.addr)
	a.Call()
	r.waitFor(t, call.InCall)
	ag.kill()
	r.until(t, 15*time.Second, "reconnecting", func(s Status) bool { return s.State == call.Reconnecting })
	start := time.Now()
	a.Hangup()
	r.waitFor(t, call.Ended)
	t.Logf("hung up while reconnecting in %v", time.Since(start))
}

// TestModeToggle: Configure switches the app between the local agent and a
// remote one and back; each call goes where the mode says (the remote
// agent counts its sessions in /v1/info).
func TestModeToggle(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	ag := startRemoteAgent(t, "")
	a, r := startApp(t, Config{Echo: true, NoHistory: true, NoEchoCancellation: true})
	t.Log(time.Now().Format("15:04:05.000"), "start")
	<-a.Ready()
	t.Log(time.Now().Format("15:04:05.000"), "ready")
	remoteSessions := func() int {
		rep, err := TestConnection(context.Background(), ag.url(), ag.token)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Sessions
	}
	callAndCheck := func(wantRemote int) {
		t.Helper()
		t.Logf("%s calling (remote sessions expected: %d)", time.Now().Format("15:04:05.000"), wantRemote)
		a.Call()
		r.waitFor(t, call.InCall)
		if n := remoteSessions(); n != wantRemote {
			t.Fatalf("the remote agent has %d sessions during the call, want %d", n, wantRemote)
		}
		a.Hangup()
		r.waitFor(t, call.Ended)
		t.Log(time.Now().Format("15:04:05.000"), "hung up")
	}
	callAndCheck(0)

	if err := a.Configure(Settings{Remote: true, AgentURL: "ftp://" + ag.addr}); err == nil {
		t.Fatal("an ftp:// agent address was accepted")
	}
	if err := a.Configure(Settings{Remote: true, AgentURL: ag.url(), Token: ag.token}); err != nil {
		t.Fatal(err)
	}
	r.until(t, 10*time.Second, "remote mode", func(s Status) bool { return !s.Local })
	callAndCheck(1)

	if err := a.Configure(Settings{}); err != nil {
		t.Fatal(err)
	}
	r.until(t, 30*time.Second, "local mode", func(s Status) bool { return s.Local })
	t.Log(time.Now().Format("15:04:05.000"), "local again")
	callAndCheck(0)
}

// TestMissingDeviceFallsBack: a saved microphone and speaker that are not
// connected: the call uses the defaults and says so.
func TestMissingDeviceFallsBack(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	a, r := startApp(t, Config{Echo: true, NoHistory: true, MicID: "USB Headset Microphone", SpeakerID: "USB Headset Speaker"})
	a.Call()
	s := r.waitFor(t, call.InCall)
	for _, want := range []string{"microphone “USB Headset Microphone” is not connected", "speaker “USB Headset Speaker” is not connected", "default"} {
		if !strings.Contains(s.Notice, want) {
			t.Fatalf("notice %q lacks %q", s.Notice, want)
		}
	}
	a.Hangup()
	r.waitFor(t, call.Ended)
}
