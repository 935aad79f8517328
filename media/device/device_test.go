package device_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// TestCaptureAndPlayback runs both devices against a real (user-mode)
// PulseAudio server: speech played into the test microphone must come out of
// Capture, and speech written to Playback must reach the null sink.
func TestCaptureAndPlayback(t *testing.T) {
	pcm := testspeech.FrontCenter(t)
	pa := pulsetest.Start(t)
	pa.Setenv(t)

	ctx := newContext(t)
	mics, err := ctx.Devices(device.Microphone)
	if err != nil || len(mics) == 0 {
		t.Fatalf("no microphones listed: %v", err)
	}
	if _, err := ctx.OpenCapture("no such device"); err == nil {
		t.Fatal("opening a missing device succeeded")
	}

	mic, err := ctx.OpenCapture("")
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The test microphone is clocked (pacat into a null sink, remapped),
	// so speech arrives after its buffers: capture 2 s past its end.
	go pa.Speak(tctx, append(pcm, make([]int16, 3*audio.SampleRate)...))
	var got []int16
	f := make([]int16, audio.FrameSamples)
	for len(got) < len(pcm)+2*audio.SampleRate {
		if err := mic.ReadFrame(tctx, f); err != nil {
			t.Fatalf("capture: %v after %d samples", err, len(got))
		}
		got = append(got, f...)
	}
	// The test microphone is fed through pacat, which a starved machine can
	// make skip (a gap in the "room", as a real microphone does not): the
	// whole clip is logged, every voiced 100 ms window must be found intact.
	_, ncc := audio.BestLag(pcm, got)
	found, voiced := intactWindows(pcm, got)
	t.Logf("capture: whole-clip NCC %.3f, %d of %d voiced 100 ms windows intact", ncc, found, voiced)
	if voiced == 0 || found < voiced*9/10 {
		t.Fatalf("captured audio does not match what the microphone heard: %d of %d voiced windows intact (whole-clip NCC %.3f)", found, voiced, ncc)
	}

	spk, err := ctx.OpenPlayback("")
	if err != nil {
		t.Fatal(err)
	}
	// Let the playback stream settle before recording: a stream that joins
	// a sink which is already running makes PulseAudio rewind the sink, and
	// its monitor never sees what was rewound.
	silence := make([]int16, audio.FrameSamples)
	for i := 0; i < 25; i++ {
		if err := spk.WriteFrame(tctx, silence); err != nil {
			t.Fatal(err)
		}
	}
	rec := pa.Record(t)
	start := time.Now()
	padded := append(make([]int16, audio.SampleRate/5), pcm...)
	padded = append(padded, make([]int16, audio.SampleRate/2)...)
	for i := 0; i+audio.FrameSamples <= len(padded); i += audio.FrameSamples {
		if err := spk.WriteFrame(tctx, padded[i:i+audio.FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	spk.Close()
	played := rec.Stop()
	// Compare 100 ms window by window: a starved machine can make the sound
	// server insert a gap (an underrun on its side), which shifts what
	// follows but loses nothing that was written. Nearly every voiced
	// window must be found intact.
	found, voiced = intactWindows(pcm, played)
	t.Logf("%d of %d voiced 100 ms windows found intact", found, voiced)
	if voiced == 0 || found < voiced*9/10 {
		t.Fatalf("only %d of %d voiced 100 ms windows reached the speaker (%d underruns)", found, voiced, spk.Underruns())
	}
	_, ncc = audio.BestLag(pcm, played)
	t.Logf("playback: whole-clip NCC %.3f (below 1 only if the server inserted a gap), %d underruns, wrote %.0f ms of audio in %v", ncc, spk.Underruns(), float64(len(padded))/48, elapsed)
	if elapsed < time.Duration(len(padded)-4*audio.FrameSamples)*time.Second/audio.SampleRate {
		t.Fatalf("WriteFrame was not paced by the device: %v for %d samples", elapsed, len(padded))
	}
}

// newContext opens the sound system for the rest of the test.
func newContext(tb testing.TB) *device.Context {
	tb.Helper()
	ctx, err := device.NewContext(nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ctx.Close() })
	return ctx
}

// intactWindows counts the voiced 100 ms windows of pcm (louder than -45
// dBFS) and how many of them are found in got with NCC ≥ 0.95.
func intactWindows(pcm, got []int16) (found, voiced int) {
	for i := 0; i+audio.SampleRate/10 <= len(pcm); i += audio.SampleRate / 10 {
		w := pcm[i : i+audio.SampleRate/10]
		if audio.Level(w) < 0.25 {
			continue
		}
		voiced++
		if _, n := audio.BestLag(w, got); n >= 0.95 {
			found++
		}
	}
	return found, voiced
}

// TestDuplex opens the microphone and speaker as one duplex device under a
// user-mode PulseAudio whose speaker is looped back into the microphone
// (pulsetest.StartWithEcho, like a laptop). The speech written to the
// speaker must come back in the captured frames, following the reference
// paired with them; that reference must be what was played; no frame may
// be dropped; and a person speaking into the room must be captured intact.
func TestDuplex(t *testing.T) {
	pcm := testspeech.GoForward(t)
	pa := pulsetest.StartWithEcho(t)
	pa.Setenv(t)
	ctx := newContext(t)
	if _, err := ctx.OpenDuplex("no such microphone", ""); err == nil {
		t.Fatal("opening a missing microphone succeeded")
	}
	d, err := ctx.OpenDuplex("", "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var _ audio.ReferencedSource = d
	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The speaker plays the speech twice with a second of silence around
	// it; meanwhile every captured frame and its reference are kept.
	var play []int16
	for i := 0; i < 2; i++ {
		play = append(play, make([]int16, audio.SampleRate)...)
		play = append(play, pcm...)
	}
	play = append(play, make([]int16, audio.SampleRate)...)
	play = play[:len(play)/audio.FrameSamples*audio.FrameSamples]
	go func() {
		for i := 0; i+audio.FrameSamples <= len(play); i += audio.FrameSamples {
			if err := d.WriteFrame(tctx, play[i:i+audio.FrameSamples]); err != nil {
				return
			}
		}
	}()
	var near, far []int16
	n, f := make([]int16, audio.FrameSamples), make([]int16, audio.FrameSamples)
	start := time.Now()
	for len(near) < len(play) {
		if err := d.ReadFrameRef(tctx, n, f); err != nil {
			t.Fatalf("capture: %v after %d samples", err, len(near))
		}
		near, far = append(near, n...), append(far, f...)
	}
	elapsed := time.Since(start)
	half := len(play) / 2
	lag1, ncc1 := audio.BestLag(far[:half-audio.SampleRate/2], near[:half])
	lag2, ncc2 := audio.BestLag(far[half:len(far)-audio.SampleRate/2], near[half:])
	t.Logf("echo of the reference: first half lag %.1f ms NCC %.3f, second half lag %.1f ms NCC %.3f; %.1f s captured in %v, %d dropped, %d underruns",
		float64(lag1)*1000/audio.SampleRate, ncc1, float64(lag2)*1000/audio.SampleRate, ncc2, float64(len(near))/audio.SampleRate, elapsed, d.Dropped(), d.Underruns())
	// Each voiced 200 ms of the reference must be found in the next 500 ms
	// of the capture, nearly every time: on PulseAudio miniaudio joins the
	// two streams through a ring buffer, and a stall longer than its slack
	// shifts the echo (media/device.Duplex), as can the sound server's
	// loopback that plays the room.
	win := audio.SampleRate / 5
	var voiced, found int
	for i := 0; i+win+audio.SampleRate/2 <= len(far); i += win {
		if audio.Level(far[i:i+win]) < 0.25 {
			continue
		}
		voiced++
		if _, ncc := audio.BestLag(far[i:i+win], near[i:i+win+audio.SampleRate/2]); ncc >= 0.9 {
			found++
		}
	}
	t.Logf("%d of %d voiced 200 ms windows of the reference found in the capture", found, voiced)
	if voiced == 0 || found < voiced*9/10 {
		t.Fatalf("the captured echo does not follow the paired reference: %d of %d windows found", found, voiced)
	}
	if d.Dropped() != 0 {
		t.Fatalf("%d captured frames dropped", d.Dropped())
	}
	if _, ncc := audio.BestLag(pcm, far); ncc < 0.99 {
		t.Fatalf("the reference is not what was played: NCC %.3f", ncc)
	}

	// A person in the room.
	go pa.Speak(tctx, testspeech.FrontCenter(t))
	voice := testspeech.FrontCenter(t)
	var got []int16
	for len(got) < len(voice)+audio.SampleRate/2 {
		if err := d.ReadFrame(tctx, n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n...)
	}
	found, voiced = intactWindows(voice, got)
	// On PulseAudio the duplex device's capture waits in miniaudio's ring
	// buffer for the playback side, which drops what overflows when the
	// playback stream stalls (one or two windows in a run here).
	t.Logf("the person in the room: %d of %d voiced 100 ms windows intact", found, voiced)
	if voiced == 0 || found < voiced*3/4 {
		t.Fatalf("the person in the room was not captured intact: %d of %d voiced windows", found, voiced)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.ReadFrame(tctx, n); err != io.EOF {
		t.Fatalf("ReadFrame after Close: %v, want io.EOF", err)
	}
	if err := d.WriteFrame(tctx, n); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("WriteFrame after Close: %v, want os.ErrClosed", err)
	}
}

// countGaps compares what the speaker played (rec) with a counter signal
// written to it (sample i is i%30000+1, which the null sink passes on
// bit-exact) and returns how many times the counter broke: silence inserted
// or samples lost.
func countGaps(rec []int16) int {
	i := 0
	for i < len(rec) && rec[i] == 0 {
		i++
	}
	end := len(rec)
	for end > i && rec[end-1] == 0 {
		end--
	}
	gaps := 0
	for j := i; j+1 < end; j++ {
		if a, b := rec[j], rec[j+1]; b != a+1 && (a != 30000 || b != 1) {
			gaps++
			for j+1 < end && rec[j+1] == 0 {
				j++
			}
		}
	}
	return gaps
}

// BenchmarkPlaybackGaps writes 3 s of a counter signal to the speaker of a
// user-mode PulseAudio at three device periods and reports how often the
// played audio broke (gaps per 3 s): PulseAudio's buffer for the stream is
// one period, and the period the devices use (30 ms) is the shortest that
// played without a gap here.
func BenchmarkPlaybackGaps(b *testing.B) {
	pa := pulsetest.Start(b)
	pa.Setenv(b)
	sig := make([]int16, 3*audio.SampleRate)
	for i := range sig {
		sig[i] = int16(i%30000 + 1)
	}
	silence := make([]int16, audio.FrameSamples)
	for _, p := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond} {
		b.Run(p.String(), func(b *testing.B) {
			defer device.SetPeriod(p)()
			ctx := newContext(b)
			gaps := 0
			for range b.N {
				spk, err := ctx.OpenPlayback("")
				if err != nil {
					b.Fatal(err)
				}
				for range 25 { // the stream settles before the recording starts
					if err := spk.WriteFrame(context.Background(), silence); err != nil {
						b.Fatal(err)
					}
				}
				rec := pa.Record(b)
				for i := 0; i < len(sig); i += audio.FrameSamples {
					if err := spk.WriteFrame(context.Background(), sig[i:i+audio.FrameSamples]); err != nil {
						b.Fatal(err)
					}
				}
				for range 10 {
					if err := spk.WriteFrame(context.Background(), silence); err != nil {
						b.Fatal(err)
					}
				}
				gaps += countGaps(rec.Stop())
				spk.Close()
			}
			b.ReportMetric(float64(gaps)/float64(b.N), "gaps/3s")
		})
	}
}

// TestDeviceLostWhenTheServerDies: a sound server that dies mid-stream
// (killed: miniaudio then never calls the device's stop callback) turns into
// ErrDeviceLost from ReadFrame and WriteFrame within a few seconds, rather
// than a read that waits forever; Close then returns. A device closed the
// normal way is not reported as stalled.
func TestDeviceLostWhenTheServerDies(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	warned := &warnings{}
	ctx, err := device.NewContext(slog.New(warned))
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	f := make([]int16, audio.FrameSamples)
	tctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// open opens the default devices and reads 200 ms from them.
	open := func() *device.Duplex {
		d, err := ctx.OpenDuplex("", "")
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := d.ReadFrame(tctx, f); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}

	// Closed the normal way: no stall reported once its callbacks stop.
	d := open()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if w := warned.list(); len(w) > 0 {
		t.Fatalf("a device closed normally was warned about: %q", w)
	}

	d = open()
	if err := pa.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var readErr error
	for readErr == nil {
		readErr = d.ReadFrame(tctx, f)
	}
	if !errors.Is(readErr, device.ErrDeviceLost) {
		t.Fatalf("ReadFrame after the server died: %v (after %v), want ErrDeviceLost", readErr, time.Since(killed))
	}
	t.Logf("ReadFrame said the device was lost %v after the server died", time.Since(killed).Round(time.Millisecond))
	if err := d.WriteFrame(tctx, f); !errors.Is(err, device.ErrDeviceLost) {
		t.Fatalf("WriteFrame after the server died: %v, want ErrDeviceLost", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		t.Logf("Close after the server died: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs after the server died")
	}
}

// warnings is a slog.Handler that keeps the messages of warnings and errors.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}
