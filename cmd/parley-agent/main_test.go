package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/media/testspeech"
)

func TestNeedsToken(t *testing.T) {
	t.Setenv("PARLEY_TOKEN", "")
	var stderr bytes.Buffer
	if code := run(nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "token is required") {
		t.Fatalf("exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"--token", "x", "--log-level", "loud"}, &stderr); code != 2 {
		t.Fatalf("bad log level: exit %d", code)
	}
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
	bin := filepath.Join(dir, "parley-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--listen", addr)
	cmd.Env = append(os.Environ(), "PARLEY_TOKEN=test-token")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	url := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not come up: %v\n%s", err, logs.String())
		}
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

	_ = cmd.Process.Signal(syscall.SIGTERM)
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
