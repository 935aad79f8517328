package device_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// TestCaptureAndPlayback runs both devices against a real (user-mode)
// PulseAudio server: speech written into the pipe source must come out of
// Capture, and speech written to Playback must reach the null sink.
func TestCaptureAndPlayback(t *testing.T) {
	pcm := testspeech.FrontCenter(t)
	pa := pulsetest.Start(t)
	pa.Setenv(t)

	ctx, err := device.NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
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
	go pa.Speak(tctx, append(pcm, make([]int16, audio.SampleRate/2)...))
	var got []int16
	f := make([]int16, audio.FrameSamples)
	for len(got) < len(pcm)+audio.SampleRate/4 {
		if err := mic.ReadFrame(tctx, f); err != nil {
			t.Fatalf("capture: %v after %d samples", err, len(got))
		}
		got = append(got, f...)
	}
	_, ncc := audio.BestLag(pcm, got)
	t.Logf("capture: NCC %.3f", ncc)
	if ncc < 0.95 {
		t.Fatalf("captured audio does not match what the microphone heard: NCC %.3f", ncc)
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
	var voiced, found int
	for i := 0; i+audio.SampleRate/10 <= len(pcm); i += audio.SampleRate / 10 {
		w := pcm[i : i+audio.SampleRate/10]
		if audio.Level(w) < 0.25 { // quieter than -45 dBFS: not speech
			continue
		}
		voiced++
		if _, n := audio.BestLag(w, played); n >= 0.95 {
			found++
		}
	}
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
