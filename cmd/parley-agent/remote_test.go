package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/app/load"
	"github.com/parley-app/parley/media/testspeech"
)

// Addresses of the test hosts: TEST-NET-2 (RFC 5737), public-looking, so
// the remote candidate filter lets them through as it would real ones.
const (
	agentIP  = "198.51.100.1"
	clientIP = "198.51.100.2"
)

// privileged returns a command run as root: directly when the test is
// root (as in CI), else through sudo -n, as make deps does.
func privileged(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("sudo", append([]string{"-n", name}, args...)...)
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := privileged("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s (this test makes a network namespace: run it as root or with passwordless sudo)", strings.Join(args, " "), err, out)
	}
}

// netns makes a network namespace joined to this one by a veth pair:
// agentIP inside, clientIP outside. It needs iproute2 and root, or
// passwordless sudo (CI runs as root).
func netns(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip (iproute2) is not installed: run make deps")
	}
	ns := fmt.Sprintf("parley-test-%d", os.Getpid())
	vethOut, vethIn := fmt.Sprintf("pt%do", os.Getpid()%100000), fmt.Sprintf("pt%di", os.Getpid()%100000)
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { privileged("ip", "netns", "del", ns).Run() })
	ipCmd(t, "link", "add", vethOut, "type", "veth", "peer", "name", vethIn)
	t.Cleanup(func() { privileged("ip", "link", "del", vethOut).Run() })
	ipCmd(t, "link", "set", vethIn, "netns", ns)
	ipCmd(t, "addr", "add", clientIP+"/24", "dev", vethOut)
	ipCmd(t, "link", "set", vethOut, "up")
	ipCmd(t, "-n", ns, "addr", "add", agentIP+"/24", "dev", vethIn)
	ipCmd(t, "-n", ns, "link", "set", vethIn, "up")
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	return ns
}

// TestRemoteModeAcrossNamespaces runs parley-agent on its own network host
// (a namespace) in remote mode and has two clients call it at once from
// this host, through normal ICE and the candidate filter: both hear their
// speech back.
func TestRemoteModeAcrossNamespaces(t *testing.T) {
	ns := netns(t)
	bin := buildAgent(t)
	var logs bytes.Buffer
	cmd := privileged("ip", "netns", "exec", ns, bin, "--listen", agentIP+":8443", "--token", "remote-token", "--handler", "echo")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	url := "http://" + agentIP + ":8443"
	if err := load.WaitHealthy(context.Background(), url, 10*time.Second); err != nil {
		t.Fatalf("agent not reachable in its namespace: %v\n%s", err, logs.String())
	}
	var wg sync.WaitGroup
	reports := make([]headless.Report, 2)
	errs := make([]error, 2)
	for i := range reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = headless.Run(context.Background(), headless.Options{
				Input: testspeech.FrontCenterWAV, AgentURL: url, Token: "remote-token",
			})
		}()
	}
	wg.Wait()
	for i := range reports {
		if errs[i] != nil {
			t.Fatalf("client %d: %v\n%s", i, errs[i], logs.String())
		}
		t.Logf("client %d: %+v", i, reports[i])
		if reports[i].Mode != "remote" || reports[i].Correlation < 0.8 {
			t.Fatalf("client %d: %+v", i, reports[i])
		}
	}
}
