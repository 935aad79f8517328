package camera_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/testdisplay"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPresets(t *testing.T) {
	if d, ok := camera.PresetByName(camera.DefaultPreset.Name); !ok || d != camera.DefaultPreset {
		t.Fatalf("PresetByName(%q) = %v, %v", camera.DefaultPreset.Name, d, ok)
	}
	if d := camera.DefaultPreset; d.Width != 640 || d.Height != 480 || d.BitRate != 500_000 || d.FrameRate != 15 {
		t.Fatalf("default preset %v, want 640×480, 500 kbit/s, 15 fps", d)
	}
	want := map[string][3]int{"320x240": {320, 240, 250_000}, "640x480": {640, 480, 500_000}, "1024x768": {1024, 768, 800_000}}
	for name, w := range want {
		p, ok := camera.PresetByName(name)
		if !ok || p.Width != w[0] || p.Height != w[1] || p.BitRate != w[2] || p.FrameRate != 15 {
			t.Errorf("preset %q = %v, %v", name, p, ok)
		}
	}
	if p, ok := camera.PresetByName("4k"); ok || p != camera.DefaultPreset {
		t.Errorf("PresetByName(4k) = %v, %v; want the default and false", p, ok)
	}
	if len(camera.Presets) != len(want) {
		t.Errorf("%d presets, want %d", len(camera.Presets), len(want))
	}
}

// TestDevices: without a camera or a display (CI, this machine) the list
// still has the test pattern, and any camera comes before it.
func TestDevices(t *testing.T) {
	t.Setenv("DISPLAY", "") // no screen here, even if the test runs under X
	devs := camera.Devices()
	pattern := -1
	for i, d := range devs {
		switch d.Kind {
		case camera.TestPattern:
			pattern = i
		case camera.Camera:
			if pattern >= 0 {
				t.Errorf("camera %+v listed after the test pattern", d)
			}
			if !strings.HasPrefix(d.ID, "v4l2:") || d.Label == "" {
				t.Errorf("camera %+v: want a v4l2: ID and a label", d)
			}
		case camera.Screen:
			t.Errorf("screen %+v listed without DISPLAY", d)
		}
	}
	if pattern < 0 || devs[pattern].ID != camera.TestPatternID {
		t.Fatalf("devices %+v lack the test pattern", devs)
	}
	t.Logf("%d video sources: %+v", len(devs), devs)
}

func TestOpenUnknown(t *testing.T) {
	for _, id := range []string{"v4l2:usb-Parley_No_Such_Camera-video-index0", "x11:X11Screen9", "webcam"} {
		t.Run(id, func(t *testing.T) {
			s, err := camera.Open(id, camera.DefaultPreset, nil)
			if err == nil {
				s.Close()
				t.Fatal("opened a source that does not exist")
			}
			if !errors.Is(err, camera.ErrNotFound) {
				t.Fatalf("error %v does not wrap ErrNotFound", err)
			}
			t.Log(err)
		})
	}
	t.Run("first camera", func(t *testing.T) {
		var first string
		for _, d := range camera.Devices() {
			if d.Kind == camera.Camera && first == "" {
				first = d.ID
			}
		}
		s, err := camera.Open("", camera.DefaultPreset, nil)
		if first == "" { // no camera (as on CI): a clear ErrNotFound
			if !errors.Is(err, camera.ErrNotFound) {
				t.Fatalf("Open(\"\") without a camera: %v, want ErrNotFound", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Open(\"\") with camera %s: %v", first, err)
		}
		defer s.Close()
		if s.Info().ID != first {
			t.Fatalf("Open(\"\") opened %s, want the first camera %s", s.Info().ID, first)
		}
	})
	if _, err := camera.Open(camera.TestPatternID, camera.Preset{Width: 641, Height: 480, FrameRate: 15}, nil); err == nil {
		t.Error("an odd frame width was accepted")
	}
}

// readFrames reads n frames and returns them with the time each arrived.
func readFrames(t *testing.T, s *camera.Source, n int) ([]*image.YCbCr, []time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var frames []*image.YCbCr
	var at []time.Time
	for range n {
		img, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(frames), err)
		}
		y, ok := img.(*image.YCbCr)
		if !ok {
			t.Fatalf("frame is a %T, want *image.YCbCr", img)
		}
		frames, at = append(frames, y), append(at, time.Now())
	}
	return frames, at
}

func checkSize(t *testing.T, f *image.YCbCr, p camera.Preset) {
	t.Helper()
	if f.Rect != image.Rect(0, 0, p.Width, p.Height) || f.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("frame %v %v, want %dx%d 4:2:0", f.Rect, f.SubsampleRatio, p.Width, p.Height)
	}
}

// TestTestPattern: the pattern gives frames of each preset's size at its
// frame rate, and they change from frame to frame.
func TestTestPattern(t *testing.T) {
	for _, p := range camera.Presets {
		t.Run(p.Name, func(t *testing.T) {
			s, err := camera.Open(camera.TestPatternID, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Info().Kind != camera.TestPattern || s.Preset() != p {
				t.Fatalf("source %+v %v", s.Info(), s.Preset())
			}
			n := 2 * p.FrameRate // 2 s
			frames, at := readFrames(t, s, n+1)
			for i, f := range frames {
				checkSize(t, f, p)
				if i > 0 && bytes.Equal(f.Y, frames[i-1].Y) {
					t.Fatalf("frame %d is the same as the one before", i)
				}
			}
			fps := float64(n) / at[n].Sub(at[0]).Seconds()
			if fps < 0.9*float64(p.FrameRate) || fps > 1.1*float64(p.FrameRate) {
				t.Fatalf("%.1f fps, want %d ± 10 %%", fps, p.FrameRate)
			}
			t.Logf("%.2f fps", fps)
		})
	}
}

// TestLatestIsSafeToKeep: a frame from Latest does not change while
// capture goes on (run with -race: capture must not write to it).
func TestLatestIsSafeToKeep(t *testing.T) {
	p, _ := camera.PresetByName("320x240")
	s, err := camera.Open(camera.TestPatternID, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if img := s.Latest(); img != nil {
		t.Logf("a frame before the first Read: %v", img.Bounds()) // possible, not required
	}
	readFrames(t, s, 1)
	kept := s.Latest().(*image.YCbCr)
	snap := append([]byte(nil), kept.Y...)
	var wg sync.WaitGroup
	wg.Go(func() { readFrames(t, s, 5) }) // the sender goes on
	for range 20 {                        // and the self-view reads the kept frame meanwhile
		if !bytes.Equal(kept.Y, snap) {
			t.Error("the kept frame changed")
			break
		}
		time.Sleep(15 * time.Millisecond)
	}
	wg.Wait()
	if latest := s.Latest().(*image.YCbCr); latest == kept || bytes.Equal(latest.Y, kept.Y) {
		t.Error("Latest did not move on")
	}
}

// TestClose: Close is prompt, idempotent, wakes a blocked Read, and Read
// then says the source is closed.
func TestClose(t *testing.T) {
	p := camera.Preset{Name: "slow", Width: 64, Height: 48, FrameRate: 1} // a blocked Read waits up to 1 s
	s, err := camera.Open(camera.TestPatternID, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	readFrames(t, s, 1)
	got := make(chan error, 1)
	go func() {
		_, err := s.Read(context.Background())
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-got:
		if !errors.Is(err, camera.ErrClosed) {
			t.Errorf("blocked Read returned %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not wake a blocked Read")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, camera.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if s.Err() != nil || s.Latest() == nil {
		t.Errorf("after Close: Err %v, Latest %v", s.Err(), s.Latest())
	}
}

func TestReadHonoursContext(t *testing.T) {
	p := camera.Preset{Name: "slow", Width: 64, Height: 48, FrameRate: 1}
	s, err := camera.Open(camera.TestPatternID, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readFrames(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read: %v, want the context's deadline", err)
	}
}

// TestScreenUnderXvfb: a real X server's screen (1280×800, wider than
// 4:3) is listed once the display is reachable, and captured as frames of
// the preset's size: the white root window scaled to 320×200 between black
// bars of 20 rows.
func TestScreenUnderXvfb(t *testing.T) {
	t.Setenv("DISPLAY", testdisplay.Xvfb(t, "1280x800x24"))
	var screen camera.Info
	for _, d := range camera.Devices() {
		if d.Kind == camera.Screen {
			screen = d
		}
	}
	if screen.ID == "" {
		t.Fatal("the Xvfb screen is not listed")
	}
	p, _ := camera.PresetByName("320x240")
	s, err := camera.Open(screen.ID, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // before Xvfb goes (Xlib exits the process on a lost display)
	frames, at := readFrames(t, s, 16)
	f := frames[len(frames)-1]
	checkSize(t, f, p)
	fps := 15 / at[15].Sub(at[0]).Seconds()
	if fps < 0.66*float64(p.FrameRate) || fps > 1.1*float64(p.FrameRate) { // slack for -race on two cores
		t.Errorf("%.1f fps, want about %d", fps, p.FrameRate)
	}
	meanY := func(y0, y1 int) float64 {
		var sum int
		for y := y0; y < y1; y++ {
			for _, v := range f.Y[y*f.YStride:][:p.Width] {
				sum += int(v)
			}
		}
		return float64(sum) / float64((y1-y0)*p.Width)
	}
	top, middle, bottom := meanY(0, 19), meanY(21, 219), meanY(221, 240)
	if top > 1 || bottom > 1 || middle < 250 {
		t.Errorf("mean luma top %.1f, middle %.1f, bottom %.1f: want black bars around the white root window", top, middle, bottom)
	}
	t.Logf("%s at %.1f fps; luma: bars %.1f/%.1f, screen %.1f", screen.ID, fps, top, bottom, middle)
}
