package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testdisplay"
	"github.com/parley-app/parley/media/testspeech"
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
	env := appEnv(b, display, pulsetest.Start(b))

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

// appEnv is the app's environment for the benchmarks and the screenshots: the display, the
// private PulseAudio, and a temporary profile (XDG directories).
func appEnv(tb testing.TB, display string, pa *pulsetest.Server) []string {
	env := append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8", "LC_ALL=",
		"XDG_DATA_HOME="+tb.TempDir(), "XDG_CONFIG_HOME="+tb.TempDir(), "XDG_CACHE_HOME="+tb.TempDir())
	env = append(env, pa.Env...)
	// The profile is temporary, but the Silero VAD that `make deps` installed
	// into the real one is what the agent loads at start.
	lib, model := vad.SileroPaths()
	return append(env, vad.EnvOnnxRuntimeLib+"="+lib, vad.EnvSileroModel+"="+model)
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

// lineTimer is the app's stderr: it keeps the log, notes when the first
// line holding each wanted text arrived and counts the lines holding it.
type lineTimer struct {
	mu      sync.Mutex
	log     strings.Builder
	partial string
	seen    map[string]time.Time
	counts  map[string]int
	changed chan struct{} // closed and replaced whenever a wanted text is seen
	wanted  []string
}

func newLineTimer(wanted ...string) *lineTimer {
	return &lineTimer{seen: map[string]time.Time{}, counts: map[string]int{}, changed: make(chan struct{}), wanted: wanted}
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
			if strings.Contains(line, w) {
				l.counts[w]++
			}
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

// count is how many lines so far held text (one of the wanted texts).
func (l *lineTimer) count(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[text]
}

func (l *lineTimer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.String()
}

// BenchmarkInCall measures what the app costs during a call (issue 5: at
// most 25 % of one core and 200 MB RSS). It starts the real app under Xvfb
// with a private user-mode PulseAudio as `parley --handler echo --call
// --camera test-pattern`: a local call with the microphone, the camera's
// moving test pattern at the default preset (640×480, 15 fps, VP8 at
// 500 kbit/s, shown in the self-view) and the avatar. Once the call is in
// call and the camera is sending, it measures for PARLEY_BENCH_SECONDS
// (default 60) while "go forward ten meters" is spoken into the microphone
// with pauses; the echo agent says it back, so the avatar's mouth moves,
// and at least one reply must come within the window. It reports:
//   - cpu_%: the process's user + system CPU time over the window, in
//     percent of one core;
//   - raster_cpu_%: the part of it spent in Mesa llvmpipe's threads, the
//     software rasterizer that draws the window here (no GPU), which a
//     desktop with a GPU does not spend;
//   - rss_MB: the largest VmRSS of the samples taken every second,
//     rss_mean_MB their mean, and hwm_MB the VmHWM (peak RSS since start)
//     at the end (MB = 10⁶ bytes);
//   - of rss_mean_MB: anon_MB anonymous memory (the Go heap, C's malloc,
//     stacks), file_MB mapped files (the binary and its libraries), and
//     swrast_MB the part of those that is Mesa's software rasterizer
//     (libLLVM, swrast_dri), which a desktop with a GPU driver that does
//     not use LLVM does not map;
//   - replies: how many times the agent spoke in the window.
//
// Then SIGTERM must end the app within 15 s. Run it once: -benchtime 1x
// (with b.N > 1 it makes b.N calls, each with its own app, and reports the
// medians).
func BenchmarkInCall(b *testing.B) {
	window := 60 * time.Second
	if v := os.Getenv("PARLEY_BENCH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("PARLEY_BENCH_SECONDS=%q: want a whole number of seconds", v)
		}
		window = time.Duration(n) * time.Second
	}
	bin, err := buildApp()
	if err != nil {
		b.Fatal(err)
	}
	hz, err := clockTicks()
	if err != nil {
		b.Fatal(err)
	}
	display := testdisplay.Xvfb(b, "1280x800x24")
	pa := pulsetest.Start(b)
	env := appEnv(b, display, pa)
	speech := testspeech.GoForward(b)

	var runs []inCallUsage
	b.ResetTimer()
	for range b.N {
		runs = append(runs, inCallOnce(b, bin, env, pa, speech, window, hz))
	}
	b.StopTimer()
	med := func(f func(inCallUsage) float64) float64 {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.cpuPercent }), "cpu_%")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.rasterPercent }), "raster_cpu_%")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.rssMax }), "rss_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.rssMean }), "rss_mean_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.hwm }), "hwm_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.anon }), "anon_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.file }), "file_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return u.swrast }), "swrast_MB")
	b.ReportMetric(med(func(u inCallUsage) float64 { return float64(u.replies) }), "replies")
}

// inCallUsage is what one call cost the app.
type inCallUsage struct {
	cpuPercent           float64 // of one core
	rasterPercent        float64 // of one core, in the software rasterizer's threads (part of cpuPercent)
	rssMax, rssMean, hwm float64 // MB
	anon, file, swrast   float64 // MB, means over the window
	replies, utterances  int
	cpuSeconds, wallSecs float64
}

// inCallOnce runs one call as BenchmarkInCall describes and returns what the
// app used during its measuring window.
func inCallOnce(b *testing.B, bin string, env []string, pa *pulsetest.Server, speech []int16, window time.Duration, hz int) inCallUsage {
	b.Helper()
	const inCall, cameraOn, speaking = `state="in call"`, "camera on", "agent=speaking"
	logs := newLineTimer(inCall, cameraOn, speaking)
	cmd := exec.Command(bin, "--handler", "echo", "--call", "--camera", camera.TestPatternID)
	cmd.Env = env
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// exited is closed when the app has exited, exitErr then says how.
	exited := make(chan error)
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()
	fail := func(format string, args ...any) {
		b.Helper()
		select {
		case <-exited:
			format += fmt.Sprintf(" (the app exited: %v)", exitErr)
		default:
		}
		b.Fatalf(format+"; log:\n%s", append(args, logs)...)
	}
	if _, err := logs.wait(inCall, exited, 60*time.Second); err != nil {
		fail("%v", err)
	}
	// The call's VP8 encoder logs "camera on" at the first frame it encodes;
	// a camera that could not be opened logs a warning instead.
	if _, err := logs.wait(cameraOn, exited, 15*time.Second); err != nil {
		fail("the camera is not sending: %v", err)
	}

	pid := cmd.Process.Pid
	cpu0, err := cpuTicks(pid)
	if err != nil {
		fail("%v", err)
	}
	raster0, err := rasterTicks(pid)
	if err != nil {
		fail("%v", err)
	}
	t0 := time.Now()
	replies0 := logs.count(speaking)
	// The microphone: the utterance (2.8 s), then 4.5 s for the echo's reply
	// (the end-of-turn pause, then the same 2.8 s back) before the next.
	ctx, stopTalking := context.WithCancel(context.Background())
	talked := make(chan int, 1)
	go func() {
		n := 0
		for ctx.Err() == nil {
			if pa.Speak(ctx, speech) == nil {
				n++
			}
			select {
			case <-ctx.Done():
			case <-time.After(4500 * time.Millisecond):
			}
		}
		talked <- n
	}()
	var mem []memSample // one a second
	tick := time.NewTicker(time.Second)
	for time.Since(t0) < window {
		select {
		case <-tick.C:
		case <-exited:
			stopTalking()
			fail("the app exited during the call")
		}
		m, err := memory(pid)
		if err != nil {
			stopTalking()
			fail("%v", err)
		}
		mem = append(mem, m)
	}
	tick.Stop()
	cpu1, err := cpuTicks(pid)
	wall := time.Since(t0)
	raster1, err2 := rasterTicks(pid)
	if err := errors.Join(err, err2); err != nil {
		stopTalking()
		fail("%v", err)
	}
	replies := logs.count(speaking) - replies0
	stopTalking()
	utterances := <-talked

	u := inCallUsage{
		cpuSeconds: float64(cpu1-cpu0) / float64(hz), wallSecs: wall.Seconds(),
		hwm: mem[len(mem)-1].hwm, replies: replies, utterances: utterances,
	}
	u.cpuPercent = 100 * u.cpuSeconds / u.wallSecs
	u.rasterPercent = 100 * float64(raster1-raster0) / float64(hz) / u.wallSecs
	n := float64(len(mem))
	for _, m := range mem {
		u.rssMax = max(u.rssMax, m.rss)
		u.rssMean, u.anon, u.file, u.swrast = u.rssMean+m.rss/n, u.anon+m.anon/n, u.file+m.file/n, u.swrast+m.swrast/n
	}
	b.Logf("%.1f s in call: CPU %.2f s (%.1f %% of a core, %.1f %% in llvmpipe), RSS max %.1f MB, mean %.1f MB over %d samples (anonymous %.1f, files %.1f of which the software rasterizer %.1f), HWM %.1f MB; %d utterances spoken, %d replies",
		u.wallSecs, u.cpuSeconds, u.cpuPercent, u.rasterPercent, u.rssMax, u.rssMean, len(mem), u.anon, u.file, u.swrast, u.hwm, utterances, replies)
	if replies == 0 {
		fail("the agent never spoke during the %v: the call was not live", window)
	}

	b.StopTimer() // quitting is not part of the call
	defer b.StartTimer()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		fail("the app did not quit within 15 s of SIGTERM")
	}
	if exitErr != nil {
		fail("the app did not exit cleanly: %v", exitErr)
	}
	for _, bad := range []string{"panic", "Error in Fyne call thread"} {
		if strings.Contains(logs.String(), bad) {
			fail("the app logged %q", bad)
		}
	}
	return u
}

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// getconf CLK_TCK: 100 on Linux).
func clockTicks() (int, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("getconf CLK_TCK: %v", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// cpuTicks is the user + system CPU time that process pid has used, all its
// threads, in clock ticks (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(pid int) (int64, error) {
	return statTicks(fmt.Sprintf("/proc/%d/stat", pid))
}

// rasterTicks returns the CPU time, in clock ticks, of process pid's
// software rasterizer threads: Mesa llvmpipe's ("llvmpipe-N"), which do
// on the CPU what a GPU does on a desktop with one.
func rasterTicks(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, task := range tasks {
		comm, err := os.ReadFile(filepath.Join(task, "comm"))
		if err != nil || !strings.HasPrefix(string(comm), "llvmpipe") {
			continue // a thread that ended, or not the rasterizer
		}
		n, err := statTicks(filepath.Join(task, "stat"))
		if err != nil {
			continue
		}
		sum += n
	}
	return sum, nil
}

// statTicks reads utime + stime from a /proc stat file.
func statTicks(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected %q", path, b)
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected %q", path, b)
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	return utime + stime, nil
}

// memSample is one reading of the app's memory, in MB (10⁶ bytes).
type memSample struct {
	rss, hwm   float64 // VmRSS, VmHWM
	anon, file float64 // RssAnon, RssFile
	swrast     float64 // resident pages of Mesa's software rasterizer's libraries
}

// swrastLib matches the files of Mesa's software rasterizer: llvmpipe's
// driver and the LLVM it compiles shaders with.
var swrastLib = regexp.MustCompile(`/(libLLVM[^/]*|swrast_dri\.so|libgallium[^/]*)$`)

// memory reads process pid's memory from /proc/PID/status and
// /proc/PID/smaps.
func memory(pid int) (memSample, error) {
	var m memSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	found := 0
	for line := range strings.Lines(string(b)) {
		for _, f := range []struct {
			format string
			to     *float64
		}{{"VmRSS: %f kB", &m.rss}, {"VmHWM: %f kB", &m.hwm}, {"RssAnon: %f kB", &m.anon}, {"RssFile: %f kB", &m.file}} {
			var kB float64
			if _, err := fmt.Sscanf(line, f.format, &kB); err == nil {
				*f.to, found = kB*1024/1e6, found+1
			}
		}
	}
	if found != 4 {
		return m, fmt.Errorf("/proc/%d/status lacks VmRSS, VmHWM, RssAnon or RssFile", pid)
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return m, err
	}
	// Each mapping's header line ("start-end perms offset dev inode path")
	// is followed by its fields, Rss among them.
	var inSwrast bool
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			inSwrast = len(f) >= 6 && swrastLib.MatchString(f[5])
			continue
		}
		var kB float64
		if _, err := fmt.Sscanf(line, "Rss: %f kB", &kB); err == nil && inSwrast {
			m.swrast += kB * 1024 / 1e6
		}
	}
	return m, nil
}
