package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// Addresses of the ICE restart test's hosts: the top /29 of TEST-NET-2
// (RFC 5737), public-looking, so that each side's candidate filter lets
// them through as it would real ones. The route this adds to the test
// machine covers those 8 addresses only, apart from cmd/parley-agent's
// namespace test (198.51.100.1 and .2) and from anything else: a sandbox
// may map outside hosts to TEST-NET addresses (this one's module proxy
// answers at a TEST-NET-3 address).
const (
	restartNet      = "/29"
	restartAgentIP  = "198.51.100.249"
	restartClientIP = "198.51.100.250"
	restartMovedIP  = "198.51.100.251" // the client's address after it moved
)

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s (this test makes a network namespace: it runs as root, with iproute2)", strings.Join(args, " "), err, out)
	}
}

// agentHost makes a network namespace, the agent's host, joined to this
// one by a veth pair: restartAgentIP inside, restartClientIP on this side.
// It returns the namespace and this side's interface.
func agentHost(t *testing.T) (ns, veth string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a network namespace and moves an address: run it as root (CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip (iproute2) is not installed: run make deps")
	}
	ns = fmt.Sprintf("parley-restart-%d", os.Getpid())
	veth, inside := fmt.Sprintf("pr%do", os.Getpid()%100000), fmt.Sprintf("pr%di", os.Getpid()%100000)
	ip(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip(t, "link", "add", veth, "type", "veth", "peer", "name", inside)
	t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
	ip(t, "link", "set", inside, "netns", ns)
	ip(t, "addr", "add", restartClientIP+restartNet, "dev", veth)
	ip(t, "link", "set", veth, "up")
	ip(t, "-n", ns, "addr", "add", restartAgentIP+restartNet, "dev", inside)
	ip(t, "-n", ns, "link", "set", inside, "up")
	ip(t, "-n", ns, "link", "set", "lo", "up")
	return ns, veth
}

// lockedBuffer is a bytes.Buffer for a process's logs, read while written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAgentIn runs parley-agent in namespace ns on restartAgentIP with the
// offline conversation (pocketsphinx, the echo brain, espeak-ng), in remote
// mode, and waits until it listens. Its logs go to the returned buffer.
func startAgentIn(t *testing.T, ns, token string) *lockedBuffer {
	t.Helper()
	bin, err := agentBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "--listen", restartAgentIP+":8443", "--token", token, "--ollama=false")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // ip netns exec has become the agent
		<-done
	})
	logs := &lockedBuffer{}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if strings.Contains(sc.Text(), "listening") {
				once.Do(func() { close(listening) })
			}
		}
		io.Copy(logs, stderr)
	}()
	select {
	case <-listening:
	case <-done:
		t.Fatalf("parley-agent exited at start:\n%s", logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("parley-agent did not start listening in 30 s:\n%s", logs)
	}
	return logs
}

// agentMetrics reads the agent's /metrics.
func agentMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + agent.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// lastTurn returns the turn id of the last final line of role.
func lastTurn(tr []Line, role string) int64 {
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].Role == role && tr[i].Final {
			return tr[i].Turn
		}
	}
	return 0
}

// TestReconnectByICERestart: the app calls a parley-agent on another
// network host (a namespace, remote mode: normal ICE and the candidate
// filters). Mid-call the client's address changes, as when a laptop moves
// to another network: the old ICE path is dead, the agent lives on. The
// app shows Reconnecting and comes back by itself by an ICE restart over
// the same agent session: the agent started one session and answered one
// restart (its /metrics), the transcript is kept, and the conversation goes
// on in the same session (the next turn's id follows the first's; a new
// session would count from 1 again).
func TestReconnectByICERestart(t *testing.T) {
	if _, err := agentBinary(); err != nil { // before the test's HOME changes, or go build starts a module cache of its own
		t.Fatal(err)
	}
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	ns, veth := agentHost(t)
	const token = "restart-test-token"
	logs := startAgentIn(t, ns, token)
	base := "http://" + restartAgentIP + ":8443"
	a, r := startApp(t, Config{AgentURL: base, Token: token, NoHistory: true, NoEchoCancellation: true})
	a.Call()
	r.waitFor(t, call.InCall)
	speech := testspeech.GoForward(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatal(err)
	}
	s := r.until(t, 30*time.Second, "the first answer", func(s Status) bool {
		return hasLine(s.Transcript, api.RoleAssistant, "go forward")
	})
	first := lastTurn(s.Transcript, api.RoleAssistant)

	// The client moves: its address goes, another comes on the same link.
	ip(t, "addr", "del", restartClientIP+restartNet, "dev", veth)
	ip(t, "addr", "add", restartMovedIP+restartNet, "dev", veth)
	moved := time.Now()
	s = r.until(t, 20*time.Second, "reconnecting", func(s Status) bool { return s.State == call.Reconnecting })
	t.Logf("reconnecting %v after the move: %q", time.Since(moved).Round(time.Millisecond), s.Message)
	lostAt := time.Now()
	s = r.until(t, 30*time.Second, "in call again", func(s Status) bool { return s.State == call.InCall })
	t.Logf("in call again %v after the move, %v after Reconnecting showed", time.Since(moved).Round(time.Millisecond), time.Since(lostAt).Round(time.Millisecond))
	if !hasLine(s.Transcript, api.RoleAssistant, "go forward") || s.Message != "" {
		t.Fatalf("after reconnecting: message %q, transcript %+v", s.Message, s.Transcript)
	}
	m := agentMetrics(t, base)
	for _, want := range []string{"parley_sessions_started_total 1", "parley_ice_restarts_total 1", "parley_sessions_active 1"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("the agent's /metrics lacks %q: not back in the same session by one ICE restart\n%s", want, logs)
		}
	}

	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatal(err)
	}
	s = r.until(t, 30*time.Second, "an answer after the restart", func(s Status) bool {
		return lastTurn(s.Transcript, api.RoleAssistant) > first
	})
	if got := lastTurn(s.Transcript, api.RoleAssistant); got != first+1 {
		t.Fatalf("the answer after the restart is turn %d, the one before %d: not the same conversation", got, first)
	}
	a.Hangup()
	r.waitFor(t, call.Ended)
	if m := agentMetrics(t, base); !strings.Contains(m, "parley_sessions_started_total 1\n") || !strings.Contains(m, "parley_sessions_active 0\n") {
		t.Errorf("after the hang-up, the agent's /metrics:\n%s", m)
	}
}
