package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/app/history"
	"github.com/parley-app/parley/media/audio"
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
// window (the notices under them are hidden while empty). It retries until
// the window is mapped and the app reports that it is connecting.
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
		select {
		case s := <-logs.lines:
			*seen = append(*seen, s)
			if strings.Contains(s, "state=connecting") {
				return
			}
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("pressing Call did nothing; log:\n%s", strings.Join(*seen, ""))
}

// TestGUICall starts the real app binary under Xvfb with a user-mode
// PulseAudio: the window opens, pressing Call connects a call, speech written into the
// pipe source (the microphone) comes back out of the null sink (the
// speaker), and SIGTERM hangs up and exits cleanly.
func TestGUICall(t *testing.T) {
	bin, err := buildApp()
	if err != nil {
		t.Fatal(err)
	}
	display := testdisplay.Xvfb(t, "1280x800x24")
	pa := pulsetest.Start(t)
	speech := testspeech.GoForward(t)
	rec := pa.Record(t)

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
	pressCall(t, display, logs, &seen)
	logs.waitFor(t, `state="in call" agent=listening`, 30*time.Second, &seen)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pa.Speak(ctx, speech); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "agent=speaking", 10*time.Second, &seen)
	logs.waitFor(t, "agent=listening", 15*time.Second, &seen)
	time.Sleep(300 * time.Millisecond) // the last frames leave the jitter buffer
	played := rec.Stop()

	lag, ncc := audio.BestLag(audio.SpeechBand(speech), audio.SpeechBand(played))
	t.Logf("speech came back out of the speaker %d ms into the recording, NCC %.3f", lag*1000/audio.SampleRate, ncc)
	if ncc < 0.8 {
		t.Fatalf("the speaker did not play the speech back: NCC %.3f; log:\n%s", ncc, strings.Join(seen, ""))
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
