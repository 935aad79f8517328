package main

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kbinani/screenshot"

	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testdisplay"
	"github.com/parley-app/parley/media/testspeech"
)

// EnvScreenshots names the directory TestScreenshots writes its PNGs to
// (`make screenshots` sets it to docs/screenshots); unset, they go to a
// temporary directory and are only checked.
const EnvScreenshots = "PARLEY_SCREENSHOTS"

// TestScreenshots renders the real app under Xvfb as a person sees it and
// captures its windows (X11 GetImage through kbinani/screenshot):
//   - main-call.png: the main window at 1280×800 in the system's theme
//     (dark, on a desktop that states no preference) in a call with the
//     offline conversation (pocketsphinx, the echo brain, espeak-ng), the
//     camera on (the test pattern), while the agent answers;
//   - main-800x600.png: the same window at its smallest, 800×600;
//   - settings-devices.png: the settings window on its Devices tab, with
//     the microphone picker open;
//   - main-light.png: the main window after choosing the light theme in
//     the settings' Appearance tab.
//
// Each capture must have the window's size and show more than a blank
// window (many colours); the light one must be lighter than the first.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := buildApp()
	if err != nil {
		t.Fatal(err)
	}
	display := testdisplay.Xvfb(t, "1280x800x24")
	t.Setenv("DISPLAY", display) // for the captures
	pa := pulsetest.Start(t)
	speech := testspeech.GoForward(t)
	cmd := exec.Command(bin, "--ollama=false", "--camera", camera.TestPatternID, "--call")
	cmd.Env = appEnv(t, display, pa)
	logs := &logWatcher{lines: make(chan string, 1000)}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	var seen []string
	x := xdo{t: t, display: display}
	main := x.window("Parley")
	x.resize(main, 1280, 800)
	logs.waitFor(t, `state="in call" agent=listening`, 60*time.Second, &seen)

	// Say something twice, so that the transcript has two turns; capture
	// while the agent answers the second.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for turn := range 2 {
		if err := pa.Speak(ctx, speech); err != nil {
			t.Fatalf("the microphone does not take the speech: %v", err)
		}
		logs.waitFor(t, "agent=speaking", 20*time.Second, &seen)
		if turn == 0 {
			logs.waitFor(t, "agent=listening", 20*time.Second, &seen)
		}
	}
	time.Sleep(700 * time.Millisecond) // mid-sentence, the transcript filled in
	dark := x.capture(main, filepath.Join(dir, "main-call.png"), 1280, 800)
	logs.waitFor(t, "agent=listening", 20*time.Second, &seen)

	x.resize(main, 800, 600)
	x.capture(main, filepath.Join(dir, "main-800x600.png"), 800, 600)
	x.resize(main, 1280, 800)

	x.keys(main, "ctrl+comma")
	settings := x.window("Parley settings")
	x.keys(settings, "ctrl+Next") // Devices
	logs.waitFor(t, `msg="devices listed"`, 10*time.Second, &seen)
	time.Sleep(300 * time.Millisecond) // the window shows the list it was given
	x.keys(settings, "Tab", "space")   // the microphone picker, open
	time.Sleep(500 * time.Millisecond)
	x.capture(settings, filepath.Join(dir, "settings-devices.png"), 0, 0)
	// Appearance (the last tab): the second theme, Light; save and close.
	x.keys(settings, "Escape", "ctrl+Prior", "ctrl+Prior", "Tab", "Tab", "space", "ctrl+s", "ctrl+w")
	logs.waitFor(t, `msg="settings applied"`, 10*time.Second, &seen)
	time.Sleep(500 * time.Millisecond) // the new theme repaints the window
	light := x.capture(main, filepath.Join(dir, "main-light.png"), 1280, 800)
	if l, d := meanLuma(light), meanLuma(dark); l < d+40 {
		t.Errorf("the light theme is not lighter than the system's dark one: mean luma %.0f, dark %.0f", l, d)
	}
	t.Logf("screenshots in %s", dir)
}

// resize sets the window's size (the display has no window manager, so the
// X server applies it at once and Fyne follows).
func (x xdo) resize(win string, w, h int) {
	x.t.Helper()
	if out, err := x.run("windowsize", "--sync", win, fmt.Sprint(w), fmt.Sprint(h)); err != nil {
		x.t.Fatalf("xdotool windowsize: %v %s", err, out)
	}
	time.Sleep(500 * time.Millisecond) // Fyne lays out and repaints
}

// capture saves the window's pixels as a PNG at path and returns them. A
// wantW×wantH other than 0×0 is the size the window must have. The image
// must not be blank: a rendered window has hundreds of colours.
func (x xdo) capture(win, path string, wantW, wantH int) *image.RGBA {
	x.t.Helper()
	out, err := x.run("getwindowgeometry", "--shell", win)
	if err != nil {
		x.t.Fatalf("xdotool getwindowgeometry: %v %s", err, out)
	}
	var px, py, w, h int
	for _, l := range strings.Fields(out) {
		fmt.Sscanf(l, "X=%d", &px)
		fmt.Sscanf(l, "Y=%d", &py)
		fmt.Sscanf(l, "WIDTH=%d", &w)
		fmt.Sscanf(l, "HEIGHT=%d", &h)
	}
	if wantW > 0 && (w != wantW || h != wantH) {
		x.t.Fatalf("%s: the window is %d×%d, want %d×%d", filepath.Base(path), w, h, wantW, wantH)
	}
	img, err := screenshot.CaptureRect(image.Rect(px, py, px+w, py+h))
	if err != nil {
		x.t.Fatalf("capture %s: %v", filepath.Base(path), err)
	}
	if n := colours(img); n < 200 {
		x.t.Fatalf("%s looks blank: %d colours", filepath.Base(path), n)
	}
	f, err := os.Create(path)
	if err != nil {
		x.t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		x.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		x.t.Fatal(err)
	}
	return img
}

// colours counts the distinct colours in img.
func colours(img *image.RGBA) int {
	seen := map[[3]uint8]struct{}{}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		seen[[3]uint8{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}] = struct{}{}
	}
	return len(seen)
}

// meanLuma is img's mean luma (BT.601, 0–255).
func meanLuma(rgba *image.RGBA) float64 {
	var sum float64
	n := 0
	for i := 0; i+3 < len(rgba.Pix); i += 4 {
		sum += 0.299*float64(rgba.Pix[i]) + 0.587*float64(rgba.Pix[i+1]) + 0.114*float64(rgba.Pix[i+2])
		n++
	}
	return sum / float64(n)
}
