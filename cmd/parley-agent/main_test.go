package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/app/load"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/wavfile"
)

// agentBinary builds the real parley-agent once for the tests that run it.
var agentBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "parley-agent-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "parley-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildAgent(t *testing.T) string {
	t.Helper()
	bin, err := agentBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServesACallAndStopsOnSIGTERM runs the real binary, places a headless
// call against it the way a remote client would (--agent, --token), and
// checks that SIGTERM ends it cleanly.
func TestServesACallAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	bin := buildAgent(t)
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--listen", addr, "--handler", "echo")
	cmd.Env = append(os.Environ(), "PARLEY_TOKEN=test-token")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	url := "http://" + addr
	if err := load.WaitHealthy(context.Background(), url, 10*time.Second); err != nil {
		t.Fatalf("agent did not come up: %v\n%s", err, logs.String())
	}

	in := testspeech.FrontCenterWAV
	rep, err := headless.Run(context.Background(), headless.Options{Input: in, AgentURL: url, Token: "test-token"})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, logs.String())
	}
	if rep.Mode != "remote" || rep.Correlation < 0.8 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := headless.Run(context.Background(), headless.Options{Input: in, AgentURL: url, Token: "wrong"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}

	// A call in progress when the agent stops is told so (bye) and ends.
	long := filepath.Join(dir, "long.wav")
	speech := testspeech.FrontCenter(t)
	var pcm []int16
	for len(pcm) < 8*48000 {
		pcm = append(pcm, speech...)
	}
	if err := wavfile.Save(long, pcm, 48000); err != nil {
		t.Fatal(err)
	}
	callErr := make(chan error, 1)
	go func() {
		_, err := headless.Run(context.Background(), headless.Options{Input: long, AgentURL: url, Token: "test-token"})
		callErr <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-callErr:
		if !errors.Is(err, call.ErrAgentEnded) {
			t.Fatalf("the call in progress ended with %v, want ErrAgentEnded (bye)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in progress did not end when the agent stopped")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop within 10 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "parley-agent stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("from-file\nignored\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(config) bool
	}{
		{"token from flag", []string{"--token", "t"}, nil, "", func(c config) bool { return c.token == "t" && c.maxSessions == 8 }},
		{"token from env", nil, map[string]string{"PARLEY_TOKEN": "e", "PARLEY_MAX_SESSIONS": "3"}, "", func(c config) bool { return c.token == "e" && c.maxSessions == 3 }},
		{"flag wins over env", []string{"--max-sessions", "5"}, map[string]string{"PARLEY_TOKEN": "e", "PARLEY_MAX_SESSIONS": "3"}, "", func(c config) bool { return c.maxSessions == 5 }},
		{"token file", []string{"--token-file", tokFile}, nil, "", func(c config) bool { return c.token == "from-file" }},
		{"repeatable from env", []string{"--token", "t"}, map[string]string{"PARLEY_ICE_SERVER": "stun:a:3478,turn:u:p,w@b:3478"}, "", func(c config) bool {
			return len(c.iceServers) == 2 && c.iceServers[1] == "turn:u:p,w@b:3478"
		}},
		{"comma in token", nil, map[string]string{"PARLEY_TOKEN": "ab,cd"}, "", func(c config) bool { return c.token == "ab,cd" }},
		{"no token", nil, nil, "token is required", nil},
		{"missing token file", []string{"--token-file", filepath.Join(dir, "nope")}, nil, "--token-file", nil},
		{"zero sessions", []string{"--token", "t", "--max-sessions", "0"}, nil, "--max-sessions", nil},
		{"half TLS", []string{"--token", "t", "--tls-cert", "c.pem"}, nil, "go together", nil},
		{"bad log format", []string{"--token", "t", "--log-format", "xml"}, nil, "--log-format", nil},
		{"bad NAT IP", []string{"--token", "t", "--nat-1to1-ip", "not-an-ip"}, nil, "not an IP", nil},
		{"bad listen", []string{"--token", "t", "--listen", "8443"}, nil, "--listen", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"PARLEY_TOKEN", "PARLEY_MAX_SESSIONS", "PARLEY_ICE_SERVER"} {
				t.Setenv(k, tt.env[k])
			}
			var out bytes.Buffer
			c, err := parseFlags(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, f := range []string{"-listen", "-token", "-token-file", "-max-sessions", "-idle-timeout", "-ice-server", "-nat-1to1-ip", "-udp-port-range", "-tls-cert", "-tls-key", "-log-format", "-log-level", "PARLEY_MAX_SESSIONS", "default 8", "default 10m0s"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %q", f)
		}
	}
}

// TestConversationWithAModelServer: parley-agent with its default handler
// and a language model at --llm-url (a fake OpenAI-compatible server)
// hears real speech over a real call, transcribes it offline, asks the
// model and answers out loud.
func TestConversationWithAModelServer(t *testing.T) {
	srv := (&openaitest.Server{Reply: func(r openaitest.ChatRequest) string {
		return "You want to go forward. Ten meters it is."
	}}).Start()
	defer srv.Close()
	bin := buildAgent(t)
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--listen", addr, "--token", "t", "--llm-url", srv.BaseURL(), "--llm-model", "llama3.2")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	url := "http://" + addr
	if err := load.WaitHealthy(context.Background(), url, 20*time.Second); err != nil {
		t.Fatalf("agent did not come up: %v\n%s", err, logs.String())
	}
	out := filepath.Join(t.TempDir(), "reply.wav")
	rep, err := headless.Run(context.Background(), headless.Options{Input: testspeech.GoForwardWAV(t), Output: out, AgentURL: url, Token: "t"})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, logs.String())
	}
	want := []headless.Line{{Role: "user", Text: "go forward ten meters"}, {Role: "assistant", Text: "You want to go forward. Ten meters it is."}}
	if len(rep.Transcript) != 2 || rep.Transcript[0] != want[0] || rep.Transcript[1] != want[1] {
		t.Fatalf("transcript %+v\n%s", rep.Transcript, logs.String())
	}
	if len(rep.Turns) != 1 || rep.Turns[0].TTFTMS <= 0 || rep.VoiceToVoiceMS <= 0 {
		t.Fatalf("turns %+v, voice to voice %.0f ms", rep.Turns, rep.VoiceToVoiceMS)
	}
	reply, err := wavfile.Load(out)
	if err != nil || audio.RMS(reply) < 0.005 {
		t.Fatalf("the spoken answer: %v, RMS %.4f", err, audio.RMS(reply))
	}
	if !strings.Contains(logs.String(), "llm=\"llama3.2 @ 127.0.0.1:") {
		t.Fatalf("the log does not say which model answers:\n%s", logs.String())
	}
}
