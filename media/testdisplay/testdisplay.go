// Package testdisplay gives tests a real X display: a private Xvfb
// (Debian package xvfb) for the duration of the test or benchmark.
package testdisplay

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Xvfb starts a virtual X server with one screen of size (e.g.
// "1280x800x24") and a white root window, and returns its DISPLAY (":N").
// It is killed when tb ends. The server does not reset when its last
// client disconnects (-noreset): a probe that connects and leaves would
// otherwise make it refuse the next connection for a moment. It fails tb
// if Xvfb is not installed (run make deps) or reports no display in 15 s.
func Xvfb(tb testing.TB, size string) string {
	tb.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		tb.Fatal("Xvfb is not installed: run `make deps` (Debian package xvfb)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", size, "-nolisten", "tcp", "-wr", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			tb.Fatal("Xvfb did not report a display")
		}
		return ":" + n
	case <-time.After(15 * time.Second):
		tb.Fatal("Xvfb did not start in 15 s")
	}
	return ""
}
