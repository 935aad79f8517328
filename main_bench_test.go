package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testdisplay"
)

// BenchmarkLaunch starts the real app b.N times as its menu entry does (no
// flags) under Xvfb with a private user-mode PulseAudio, and reports the
// median over the launches of
//   - window_ms: process start → "window shown", logged when Fyne's event loop
//     starts, after ShowAndRun has mapped the window and painted its first
//     frame (the mapping is checked with xdotool);
//   - ready_ms: process start → "local agent listening": the in-process agent
//     accepts calls, so pressing Call connects at once.
//
// Each launch quits with SIGTERM before the next. The profile (settings,
// avatar cache, history) is one temporary set of XDG directories, fresh for
// the first launch of a run and reused after it, like a user's.
func BenchmarkLaunch(b *testing.B) {
	bin, err := buildApp()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := exec.LookPath("xdotool"); err != nil {
		b.Fatal("xdotool is not installed: run `make deps` (Debian package xdotool)")
	}
	display := testdisplay.Xvfb(b, "1280x800x24")
	pa := pulsetest.Start(b)
	env := append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8", "LC_ALL=",
		"XDG_DATA_HOME="+b.TempDir(), "XDG_CONFIG_HOME="+b.TempDir(), "XDG_CACHE_HOME="+b.TempDir())
	env = append(env, pa.Env...)
	// The profile is temporary, but the Silero VAD that `make deps` installed
	// into the real one is what the agent loads at start.
	lib, model := vad.SileroPaths()
	env = append(env, vad.EnvOnnxRuntimeLib+"="+lib, vad.EnvSileroModel+"="+model)

	var window, ready []float64
	b.ResetTimer()
	for range b.N {
		w, r := launchOnce(b, bin, display, env)
		window, ready = append(window, w), append(ready, r)
	}
	b.StopTimer()
	b.ReportMetric(median(window), "window_ms")
	b.ReportMetric(median(ready), "ready_ms")
	b.Logf("window_ms %v, ready_ms %v", window, ready)
}

// launchOnce starts the app, waits for its window and its agent, checks that
// the window is really mapped, then quits it; it returns the two delays in ms.
func launchOnce(b *testing.B, bin, display string, env []string) (windowMS, readyMS float64) {
	b.Helper()
	logs := newLineTimer("window shown", "local agent listening")
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stderr = logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	shown, err := logs.wait("window shown", exited, 30*time.Second)
	if err != nil {
		b.Fatalf("%v; log:\n%s", err, logs)
	}
	// The log line must mean what it says: the window is viewable by now.
	// Its WM_CLASS is what desktops match to the menu entry, Parley.desktop.
	for _, by := range []string{"--name", "--class"} {
		find := exec.Command("xdotool", "search", "--onlyvisible", by, "^Parley$")
		find.Env = append(os.Environ(), "DISPLAY="+display)
		if out, err := find.Output(); err != nil || len(out) == 0 {
			b.Fatalf("\"window shown\" logged but xdotool search --onlyvisible %s ^Parley$ found no window (%v); log:\n%s", by, err, logs)
		}
	}
	listening, err := logs.wait("local agent listening", exited, 30*time.Second)
	if err != nil {
		b.Fatalf("%v; log:\n%s", err, logs)
	}
	b.StopTimer() // quitting is not part of the launch
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		b.Fatalf("the app did not quit within 15 s of SIGTERM; log:\n%s", logs)
	}
	b.StartTimer()
	return ms(shown.Sub(start)), ms(listening.Sub(start))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// lineTimer is the app's stderr: it keeps the log and notes when the first
// line holding each wanted text arrived.
type lineTimer struct {
	mu      sync.Mutex
	log     strings.Builder
	partial string
	seen    map[string]time.Time
	changed chan struct{} // closed and replaced whenever a wanted text is seen
	wanted  []string
}

func newLineTimer(wanted ...string) *lineTimer {
	return &lineTimer{seen: map[string]time.Time{}, changed: make(chan struct{}), wanted: wanted}
}

func (l *lineTimer) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Write(p)
	l.partial += string(p)
	for {
		line, rest, ok := strings.Cut(l.partial, "\n")
		if !ok {
			break
		}
		l.partial = rest
		for _, w := range l.wanted {
			if _, done := l.seen[w]; !done && strings.Contains(line, w) {
				l.seen[w] = now
				close(l.changed)
				l.changed = make(chan struct{})
			}
		}
	}
	return len(p), nil
}

// wait returns when the text was logged, or fails when the app exits or the
// time is up first.
func (l *lineTimer) wait(text string, exited <-chan error, within time.Duration) (time.Time, error) {
	deadline := time.After(within)
	for {
		l.mu.Lock()
		at, ok := l.seen[text]
		changed := l.changed
		l.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-changed:
		case err := <-exited:
			return time.Time{}, fmt.Errorf("the app exited (%v) before it logged %q", err, text)
		case <-deadline:
			return time.Time{}, fmt.Errorf("the app did not log %q within %v", text, within)
		}
	}
}

func (l *lineTimer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.String()
}
