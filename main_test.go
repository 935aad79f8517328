package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/app/history"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testdisplay"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/wavfile"
)

// TestHeadlessCall runs `parley call` on real speech: the agent must echo
// the same speech back (NCC >= 0.8 in the speech band) and the report must
// carry the timings.
func TestHeadlessCall(t *testing.T) {
	for _, input := range []string{testspeech.GoForwardWAV(t), testspeech.FrontCenterWAV} {
		t.Run(filepath.Base(input), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "reply.wav")
			var stdout, stderr bytes.Buffer
			if code := run([]string{"call", "--handler", "echo", "--input", input, "--output", out, "--json"}, &stdout, &stderr); code != 0 {
				t.Fatalf("parley call exited %d: %s", code, stderr.String())
			}
			var rep headless.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("--json output %q: %v", stdout.String(), err)
			}
			t.Logf("%+v", rep)
			if rep.Mode != "local" || rep.ConnectMS <= 0 || rep.FirstAudioMS <= 0 || rep.EchoDelayMS <= 0 || rep.ResponseMS <= 0 {
				t.Fatalf("report is missing timings: %+v", rep)
			}
			if rep.Correlation < 0.8 {
				t.Fatalf("the reply is not the same speech: NCC %.3f at lag %.0f ms", rep.Correlation, rep.EchoDelayMS)
			}
			// Check the written file independently of the report.
			in, err := wavfile.Load(input)
			if err != nil {
				t.Fatal(err)
			}
			reply, err := wavfile.Load(out)
			if err != nil {
				t.Fatalf("reply.wav: %v", err)
			}
			lag, ncc := audio.BestLag(audio.SpeechBand(in), audio.SpeechBand(reply))
			t.Logf("reply.wav: speech found at %d ms with NCC %.3f", lag*1000/audio.SampleRate, ncc)
			if ncc < 0.8 {
				t.Fatalf("reply.wav does not hold the speech: NCC %.3f", ncc)
			}
		})
	}
}

func TestCallUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"call"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--input") {
		t.Fatalf("no --input: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	p := filepath.Join(t.TempDir(), "not.wav")
	os.WriteFile(p, []byte("hello"), 0o644)
	if code := run([]string{"call", "--input", p}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "not a PCM WAV") {
		t.Fatalf("bad input: exit %d, %q", code, stderr.String())
	}
}

// binDir holds the binaries the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildApp builds the real binary once for the GUI tests.
var buildApp = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "parley-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "parley")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// logWatcher scans the app's log for lines.
type logWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (l *logWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		s, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(s) // keep the partial line
			return len(p), nil
		}
		select {
		case l.lines <- s:
		default:
		}
	}
}

func (l *logWatcher) waitFor(t *testing.T, what string, within time.Duration, seen *[]string) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-l.lines:
			*seen = append(*seen, s)
			if strings.Contains(s, what) {
				return
			}
		case <-deadline:
			t.Fatalf("the app never logged %q; log:\n%s", what, strings.Join(*seen, ""))
		}
	}
}

// pressCall clicks the window's Call button, as a person would, with xdotool:
// the button is the first of the call controls at the bottom left of the
// window (the notices under them are hidden while empty). It retries, 2 s
// apart, until the window is mapped and the app reports that it is
// connecting.
func pressCall(t *testing.T, display string, logs *logWatcher, seen *[]string) {
	t.Helper()
	if _, err := exec.LookPath("xdotool"); err != nil {
		t.Fatal("xdotool is not installed: run `make deps` (Debian package xdotool)")
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		geo := exec.Command("xdotool", "search", "--name", "^Parley$", "getwindowgeometry", "--shell", "%1")
		geo.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := geo.Output() // fails until the window exists
		height := 0
		for _, l := range strings.Fields(string(out)) {
			fmt.Sscanf(l, "HEIGHT=%d", &height)
		}
		if height > 0 {
			cmd := exec.Command("xdotool", "search", "--name", "^Parley$", "mousemove", "--window", "%1", "50", fmt.Sprint(height-26), "click", "1")
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			_ = cmd.Run()
		}
		// Click once, then read the log for a while: a second click on a
		// call that is already connecting would hang it up.
		wait := time.After(2 * time.Second)
	read:
		for {
			select {
			case s := <-logs.lines:
				*seen = append(*seen, s)
				if strings.Contains(s, "state=connecting") {
					return
				}
			case <-wait:
				break read
			}
		}
	}
	t.Fatalf("pressing Call did nothing; log:\n%s", strings.Join(*seen, ""))
}

// TestGUICall starts the real app binary under Xvfb with a user-mode
// PulseAudio whose default microphone and speaker are decoys (a silent
// source, a sink nobody records), and does what a person does: opens the
// settings with Ctrl+, and chooses the test microphone and
// speaker (a null sink) on the Devices tab with the keyboard, saves, closes
// the settings and presses Call. Speech played into the test microphone must
// come back out of the null sink (the echo agent), which it can only if
// the choice was applied; SIGTERM then hangs up and exits cleanly. The
// remote run first switches the Agent tab to a parley-agent process,
// typing its address and token.
func TestGUICall(t *testing.T) {
	for _, remote := range []bool{false, true} {
		name := map[bool]string{false: "local", true: "remote"}[remote]
		t.Run(name, func(t *testing.T) { guiCall(t, remote) })
	}
}

func guiCall(t *testing.T, remote bool) {
	bin, err := buildApp()
	if err != nil {
		t.Fatal(err)
	}
	display := testdisplay.Xvfb(t, "1280x800x24")
	pa := pulsetest.StartWithDecoys(t)
	speech := testspeech.GoForward(t)
	rec := pa.Record(t)
	var agentURL, token string
	if remote {
		agentURL, token = startAgentProcess(t)
	}

	cmd := exec.Command(bin, "--handler", "echo")
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8", "LC_ALL=", "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, pa.Env...)
	logs := &logWatcher{lines: make(chan string, 1000)}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
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
	var seen []string
	logs.waitFor(t, "local agent listening", 30*time.Second, &seen)

	// The pickers list the devices as the app's sound system does, after
	// "System default".
	mic, spk := deviceIndex(t, pa, device.Microphone, pulsetest.MicName), deviceIndex(t, pa, device.Speaker, pulsetest.SpeakerName)
	x := xdo{t: t, display: display}
	main := x.window("Parley")
	x.keys(main, "ctrl+comma")
	settings := x.window("Parley settings")
	applied := "remote=false"
	if remote {
		// Agent tab: Tab to the second choice, "On another machine", pick
		// it, then the address and the token; Tab leaves the token box so
		// that the window gets Ctrl+S.
		x.keys(settings, "Tab", "Tab", "space", "Tab")
		x.typeText(agentURL)
		x.keys(settings, "Tab")
		x.typeText(token)
		x.keys(settings, "Tab")
		applied = "remote=true agent=" + agentURL
	}
	// The Devices tab. The window lists the devices as it opens (the app
	// logs them); they must be listed before choosing.
	x.keys(settings, "ctrl+Next")
	logs.waitFor(t, `msg="devices listed"`, 10*time.Second, &seen)
	time.Sleep(300 * time.Millisecond) // the window shows the list it was given
	right := func(n int) []string { return slices.Repeat([]string{"Right"}, n) }
	x.keys(settings, append(append(append([]string{"Tab"}, right(mic+1)...), "Tab"), right(spk+1)...)...)
	x.keys(settings, "ctrl+s")
	logs.waitFor(t, `msg="settings applied"`, 10*time.Second, &seen)
	for _, want := range []string{applied, fmt.Sprintf("microphone=%q speaker=%q", pulsetest.MicName, pulsetest.SpeakerName)} {
		if line := seen[len(seen)-1]; !strings.Contains(line, want) {
			t.Fatalf("the settings window saved %s, want %s", line, want)
		}
	}
	x.keys(settings, "ctrl+w")
	if remote {
		logs.waitFor(t, "using the remote agent", 30*time.Second, &seen)
		if line := seen[len(seen)-1]; !strings.Contains(line, "url="+agentURL) {
			t.Fatalf("the app uses another agent: %s", line)
		}
	}

	pressCall(t, display, logs, &seen)
	logs.waitFor(t, `state="in call" agent=listening`, 30*time.Second, &seen)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatalf("the microphone does not take the speech: %v; log:\n%s", err, strings.Join(seen, ""))
	}
	logs.waitFor(t, "agent=speaking", 10*time.Second, &seen)
	logs.waitFor(t, "agent=listening", 15*time.Second, &seen)
	time.Sleep(300 * time.Millisecond) // the last frames leave the jitter buffer
	played := rec.Stop()

	lag, ncc := audio.BestLag(audio.SpeechBand(speech), audio.SpeechBand(played))
	t.Logf("speech came back out of the speaker %d ms into the recording, NCC %.3f", lag*1000/audio.SampleRate, ncc)
	// The local run holds the echo to the quality bar of the other echo
	// tests (NCC 0.8). The remote run checks where the sound goes: had the
	// window's choice not reached the call, the decoys would leave the
	// recording silent (NCC about 0). Its bar is lower because two GUI
	// runs under Xvfb's software GL on two cores, the second beside an
	// agent process, starve the audio now and then (remote: 0.51 in one
	// CI run, 0.82–0.94 in others; docs/architecture.md).
	bar := 0.8
	if remote {
		bar = 0.4
	}
	if ncc < bar {
		t.Fatalf("the speaker did not play the speech back: NCC %.3f (want ≥ %.1f); log:\n%s", ncc, bar, strings.Join(seen, ""))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		for drained := false; !drained; {
			select {
			case l := <-logs.lines:
				seen = append(seen, l)
			default:
				drained = true
			}
		}
		log := strings.Join(seen, "")
		if exitErr != nil {
			t.Fatalf("the app did not exit cleanly: %v; log:\n%s", exitErr, log)
		}
		for _, bad := range []string{"panic", "Error in Fyne call thread", "level=ERROR"} {
			if strings.Contains(log, bad) {
				t.Fatalf("the app logged %q; log:\n%s", bad, log)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not quit within 10 s of SIGTERM")
	}
}

// deviceIndex is the position of the device named name among the sound
// server's devices of kind, as malgo lists them to the app.
func deviceIndex(t *testing.T, pa *pulsetest.Server, kind device.Kind, name string) int {
	t.Helper()
	pa.Setenv(t)
	ctx, err := device.NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	devs, err := ctx.Devices(kind)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devs, func(d device.Info) bool { return d.Name == name })
	if i < 0 {
		t.Fatalf("no %v named %q in %+v", kind, name, devs)
	}
	return i
}

// xdo drives the app's windows with xdotool, as a person's keyboard would.
type xdo struct {
	t       *testing.T
	display string
}

func (x xdo) run(args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// window waits (up to 15 s) for the window titled title and returns its ID.
func (x xdo) window(title string) string {
	x.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := x.run("search", "--onlyvisible", "--name", "^"+title+"$")
		if err == nil && out != "" {
			return strings.Fields(out)[0]
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("no window %q appeared: %v %s", title, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keys gives the window the keyboard focus and presses the keys (X keysym
// names, e.g. ctrl+comma, Tab, Right), one after another.
func (x xdo) keys(win string, keys ...string) {
	x.t.Helper()
	if out, err := x.run("windowfocus", "--sync", win); err != nil {
		x.t.Fatalf("xdotool windowfocus %s: %v %s", win, err, out)
	}
	if out, err := x.run(append([]string{"key", "--delay", "60"}, keys...)...); err != nil {
		x.t.Fatalf("xdotool key %v: %v %s", keys, err, out)
	}
}

// typeText types text into the focused widget.
func (x xdo) typeText(text string) {
	x.t.Helper()
	if out, err := x.run("type", "--delay", "20", text); err != nil {
		x.t.Fatalf("xdotool type: %v %s", err, out)
	}
}

// startAgentProcess runs the real parley-agent (echo handler) on a free
// loopback port for the test and returns its URL and token.
func startAgentProcess(t *testing.T) (url, token string) {
	t.Helper()
	bin, err := buildAgent()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	token = "gui-test-token"
	cmd := exec.Command(bin, "--listen", addr, "--token", token, "--handler", "echo")
	logs := &logWatcher{lines: make(chan string, 100)}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var seen []string
	logs.waitFor(t, "listening", 30*time.Second, &seen)
	return "http://" + addr, token
}

// buildAgent builds the real parley-agent once, beside the app.
var buildAgent = sync.OnceValues(func() (string, error) {
	app, err := buildApp()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(app), "parley-agent")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/parley-agent").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build parley-agent: %v\n%s", err, out)
	}
	return bin, nil
})

// TestHistoryCLI: search finds a turn by two of its words, export prints it,
// reindex and delete work, bad input is a usage error.
func TestHistoryCLI(t *testing.T) {
	dir := t.TempDir()
	s, err := history.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := history.NewConversation(time.Now())
	for _, line := range []string{"go forward ten meters", "turn left at the door"} {
		turn := history.Turn{Conversation: id, Role: history.RoleUser, Text: line, Start: time.Now()}
		if err := s.Append(&turn); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"history"}, append(args[:1], append([]string{"--dir", dir}, args[1:]...)...)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, _ := cli("search", "forward", "meters"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "[forward]") {
		t.Fatalf("search: %d %q", code, out)
	}
	if code, out, _ := cli("export", "--format", "md", id); code != 0 || !strings.Contains(out, "turn left at the door") {
		t.Fatalf("export: %d %q", code, out)
	}
	if code, _, _ := cli("reindex"); code != 0 {
		t.Fatal("reindex failed")
	}
	if code, _, errs := cli("export", "20991231T000000Z-abcdef"); code != 1 || !strings.Contains(errs, "no such conversation") {
		t.Fatalf("unknown ID: %d %q", code, errs)
	}
	if code, _, _ := cli("search"); code != 2 {
		t.Fatal("empty search is not a usage error")
	}
	if code, _, _ := cli("delete", id); code != 0 {
		t.Fatal("delete failed")
	}
	if code, out, _ := cli("search", "forward"); code != 0 || strings.Contains(out, id) {
		t.Fatalf("found after delete: %q", out)
	}
}

// TestHeadlessConversation: `parley call` with the default handler and no
// model (not even an Ollama this machine might run) talks with the offline
// stack and prints the conversation and its latencies.
func TestHeadlessConversation(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"call", "--input", testspeech.GoForwardWAV(t), "--ollama=false"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("parley call exited %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"user: go forward ten meters\n",
		"assistant: You said: go forward ten meters\n",
		"note: No language model is set up",
		"turn 1: end of turn ",
		"voice to voice: ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in:\n%s", want, out)
		}
	}
}
