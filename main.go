// Command parley is the Parley desktop app. `parley` opens the window;
// `parley call …` runs a call without one (see `parley call -h`).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/headless"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/wavfile"
	"github.com/parley-app/parley/ui"
)

// appID is the application ID, as in FyneApp.toml.
const appID = "app.parley.desktop"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "call" {
		return runCall(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "history" {
		return runHistory(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cache" {
		return runCache(args[1:], stdout, stderr)
	}
	return runGUI(args, stderr)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// remoteFlags adds the remote-mode transport flags that the app and
// `parley call` share: STUN/TURN servers and --allow-private.
func remoteFlags(fs *flag.FlagSet) (iceServers *[]string, allowPrivate *bool) {
	iceServers = new([]string)
	fs.Func("ice-server", "remote mode: STUN/TURN `URL`, repeatable (turn:user:password@host:port)", func(v string) error {
		*iceServers = append(*iceServers, v)
		return nil
	})
	allowPrivate = fs.Bool("allow-private", false, "remote mode: accept the agent's private, loopback and link-local ICE candidates (agent on this LAN; automatic when --agent's host is itself a LAN address or name)")
	return iceServers, allowPrivate
}

func runGUI(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: parley [flags]        open the app\n       parley call -h         a call without a window\n       parley history         search, export, reindex or delete past conversations\n       parley cache           list, verify or trim the avatar asset cache\n\nFlags:\n")
		fs.PrintDefaults()
	}
	agentURL := fs.String("agent", "", "URL of a remote agent; empty runs the agent inside the app (local mode)")
	token := fs.String("token", os.Getenv("PARLEY_TOKEN"), "bearer token for --agent (env PARLEY_TOKEN)")
	mic := fs.String("mic", "", "microphone name or ID; empty for the system default")
	speaker := fs.String("speaker", "", "speaker name or ID; empty for the system default")
	autoCall := fs.Bool("call", false, "start a call as soon as the window opens")
	cameraID := fs.String("camera", "", "turn this camera on when the window opens: a camera `ID` from Settings → Devices, "+camera.TestPatternID+" for a moving test pattern, or x11:<display> for the screen")
	memory := fs.Bool("memory", false, "let the language model see the past turns most relevant to what you say (a search of your history)")
	noAEC := fs.Bool("no-echo-cancellation", false, "do not cancel the speaker's echo in the microphone (headphones); the setting in the window otherwise")
	iceServers, allowPrivate := remoteFlags(fs)
	var bc brain.Config
	handler := bc.Flags(fs)
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := bc.Check(*handler); err != nil {
		fmt.Fprintln(stderr, "parley:", err)
		return 2
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "parley:", err)
		return 2
	}
	if os.Getenv("GOGC") == "" {
		// A call makes garbage at ~8 MB/s (camera frames, audio, pion) over a
		// live heap of ~25 MB (fonts, the decoded faces); Go's default
		// GOGC=100 lets the heap grow to twice that between collections.
		// Half the headroom saved ~25 MB of RSS in a call when the live heap
		// was 55 MB, at no CPU cost measured (BenchmarkInCall,
		// docs/benchmarks.md).
		debug.SetGCPercent(50)
	}
	// The AI settings come from the settings window (Fyne preferences)
	// unless provider flags were given.
	fa := fyneapp.NewWithID(appID)
	memoryOn := *memory
	saved := ui.LoadSettings(fa.Preferences())
	var applied *app.Settings // what the agent starts with, if it is the saved settings
	if !brainFlagsSet(fs) {
		bc = saved.Brain()
		if !*memory || saved.Memory {
			applied = &saved
		}
		memoryOn = memoryOn || saved.Memory
	}
	// The connection and devices come from the settings too, unless given
	// as flags.
	if *agentURL == "" && saved.Remote {
		*agentURL, *token = saved.AgentURL, saved.Token
	}
	if *mic == "" {
		*mic = saved.Mic
	}
	if *speaker == "" {
		*speaker = saved.Speaker
	}
	camID := saved.Camera
	if *cameraID != "" {
		camID = *cameraID
	}
	ui.ApplyTheme(fa)
	core, err := app.New(app.Config{
		AgentURL: *agentURL, Token: *token, MicID: *mic, SpeakerID: *speaker, Log: log,
		CameraID: camID, VideoPreset: saved.VideoPreset,
		ICEServers: *iceServers, AllowPrivate: *allowPrivate,
		Echo: *handler == brain.HandlerEcho, Brain: bc, Memory: memoryOn, Settings: applied,
		NoEchoCancellation: *noAEC || saved.NoEchoCancellation,
		NoiseSuppression:   saved.NoiseSuppression, GainControl: saved.GainControl,
	})
	if err != nil {
		fmt.Fprintln(stderr, "parley: could not start:", err)
		return 1
	}
	defer core.Close()

	w := ui.NewWindow(fa, core)
	w.Win.SetMaster()
	// Closing the window, or SIGINT/SIGTERM (which Fyne turns into Quit),
	// ends the event loop; the deferred core.Close then hangs up. Hide the
	// window first so that the hang-up never looks like a frozen window.
	w.Win.SetCloseIntercept(func() {
		w.Win.Hide()
		fa.Quit()
	})
	if *cameraID != "" {
		go core.SetCamera(true) // opening a camera can take a moment
	}
	if *autoCall {
		core.Call()
	}
	// ShowAndRun maps the window and paints its first frame before it starts
	// the event loop: this marks the window on screen (BenchmarkLaunch).
	fa.Lifecycle().SetOnStarted(func() { log.Info("window shown") })
	w.Win.ShowAndRun()
	// The window is gone: stop feeding it before the deferred Close hangs up.
	core.OnStatus(func(app.Status) {}, func(float64) {})
	return 0
}

// brainFlagsSet reports whether any provider flag was given on the command
// line.
func brainFlagsSet(fs *flag.FlagSet) bool {
	set := false
	probe := flag.NewFlagSet("", flag.ContinueOnError)
	(&brain.Config{}).Flags(probe)
	fs.Visit(func(f *flag.Flag) {
		if probe.Lookup(f.Name) != nil && f.Name != "handler" {
			set = true
		}
	})
	return set
}

func runCall(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: parley call --input speech.wav [--output reply.wav] [--json]\n\n"+
			"Runs one call without a window: the input WAV is the microphone, the\n"+
			"agent's answer is written to the output WAV. Without --agent the agent\n"+
			"runs inside this process (local mode).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	input := fs.String("input", "", "WAV file to send as the microphone (required; PCM, any rate and channel count)")
	output := fs.String("output", "", "WAV file to write the agent's audio to (48 kHz mono 16-bit)")
	asJSON := fs.Bool("json", false, "print the measurements as one JSON object")
	agentURL := fs.String("agent", "", "URL of a remote agent; empty runs the agent in-process")
	token := fs.String("token", os.Getenv("PARLEY_TOKEN"), "bearer token for --agent (env PARLEY_TOKEN)")
	timeout := fs.Duration("timeout", 0, "how long to wait for the answer after the input ends (default 15s)")
	iceServers, allowPrivate := remoteFlags(fs)
	var bc brain.Config
	handler := bc.Flags(fs)
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *input == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if err := bc.Check(*handler); err != nil {
		fmt.Fprintln(stderr, "parley call:", err)
		return 2
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "parley call:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := headless.Run(ctx, headless.Options{
		Input: *input, Output: *output, AgentURL: *agentURL, Token: *token, Timeout: *timeout, Log: log,
		ICEServers: *iceServers, AllowPrivate: *allowPrivate,
		Echo: *handler == brain.HandlerEcho, Brain: bc,
	})
	if err != nil {
		msg := err.Error()
		var pathErr *os.PathError
		if !errors.Is(err, headless.ErrNoReply) && !errors.Is(err, wavfile.ErrNotWAV) && !errors.As(err, &pathErr) {
			msg = call.Describe(err) + " (" + err.Error() + ")"
		}
		fmt.Fprintln(stderr, "parley call:", msg)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s call: connected in %.1f ms, first agent audio after %.1f ms\n", rep.Mode, rep.ConnectMS, rep.FirstAudioMS)
	for _, n := range rep.Notices {
		fmt.Fprintln(stdout, "note:", n)
	}
	if len(rep.Transcript) == 0 {
		fmt.Fprintf(stdout, "echo: heard back after %.0f ms (reply began %.0f ms after you stopped), correlation %.3f\n", rep.EchoDelayMS, rep.ResponseMS, rep.Correlation)
		return 0
	}
	for _, l := range rep.Transcript {
		cut := ""
		if l.Interrupted {
			cut = " (interrupted)"
		}
		fmt.Fprintf(stdout, "%s: %s%s\n", l.Role, l.Text, cut)
	}
	for i, m := range rep.Turns {
		fmt.Fprintf(stdout, "turn %d: end of turn %.0f ms, STT %.0f ms, first token %.0f ms, first speech %.0f ms, first audio sent %.0f ms after your speech ended\n",
			i+1, m.EndOfTurnMS, m.STTMS, m.TTFTMS, m.TTSMS, m.FirstAudioMS)
	}
	if rep.VoiceToVoiceMS > 0 {
		fmt.Fprintf(stdout, "voice to voice: %.0f ms (end of your speech → first reply audio played)\n", rep.VoiceToVoiceMS)
	}
	return 0
}
