package lipsync

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

// TestFollowsSpeech: on a real recording the mouth opens where the voice is
// loud and is shut in the pauses; openness tracks the frame level.
func TestFollowsSpeech(t *testing.T) {
	pcm := testspeech.GoForward(t)
	e := New()
	samples := e.Samples(pcm)
	if want := (len(pcm) + audio.FrameSamples - 1) / audio.FrameSamples; len(samples) != want {
		t.Fatalf("%d samples for %d frames", len(samples), want)
	}
	var levels, opens []float64
	var shutInQuiet, quiet, openInLoud, loud int
	for i, s := range samples {
		f := pcm[i*audio.FrameSamples : min(len(pcm), (i+1)*audio.FrameSamples)]
		db := dBFS(f)
		levels, opens = append(levels, db), append(opens, s.Open)
		switch {
		case db < Floor-10 && i > 0 && dBFS(pcm[(i-1)*audio.FrameSamples:i*audio.FrameSamples]) < Floor-10 &&
			(i < 2 || dBFS(pcm[(i-2)*audio.FrameSamples:(i-1)*audio.FrameSamples]) < Floor-10):
			quiet++
			if s.Open < 0.15 {
				shutInQuiet++
			}
		case db > Ceiling-6:
			loud++
			if s.Open > 0.7 {
				openInLoud++
			}
		}
	}
	if quiet == 0 || loud == 0 {
		t.Fatalf("the recording has %d quiet and %d loud frames; the test needs both", quiet, loud)
	}
	if float64(shutInQuiet) < 0.95*float64(quiet) {
		t.Errorf("mouth shut in %d of %d quiet frames", shutInQuiet, quiet)
	}
	if float64(openInLoud) < 0.95*float64(loud) {
		t.Errorf("mouth open in %d of %d loud frames", openInLoud, loud)
	}
	if r := stat.Correlation(levels, opens, nil); r < 0.8 {
		t.Errorf("openness vs level correlation %.2f, want ≥ 0.8", r)
	}
}

// TestClosesSmoothly: after a loud frame the mouth closes over a few frames,
// never reopening in silence, and is shut within 120 ms.
func TestClosesSmoothly(t *testing.T) {
	e := New()
	if s := e.Next(tone(0.3, 300)); s.Open != 1 {
		t.Fatalf("a -10 dBFS tone opens the mouth to %.2f, want 1", s.Open)
	}
	prev := 1.0
	silence := make([]int16, audio.FrameSamples)
	for i := range 6 {
		s := e.Next(silence)
		if s.Open > prev || s.Open == prev && prev > 0 {
			t.Fatalf("frame %d of silence: open %.2f after %.2f", i, s.Open, prev)
		}
		prev = s.Open
	}
	if prev != 0 {
		t.Errorf("still open %.2f after 120 ms of silence", prev)
	}
	e.Next(tone(0.3, 300))
	e.Reset()
	if s := e.Next(silence); s.Open != 0 {
		t.Errorf("after Reset silence gives open %.2f", s.Open)
	}
}

// TestRounded: energy under 1 kHz (the formants of /u/, /o/) reads as
// rounded lips; the formants of /a/ and /i/ do not.
func TestRounded(t *testing.T) {
	for _, c := range []struct {
		name    string
		formant []float64
		want    bool
	}{
		{"u", []float64{300, 870}, true},
		{"o", []float64{500, 900}, true},
		{"a", []float64{730, 1090, 2440}, false},
		{"i", []float64{270, 2290, 3010}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := make([]int16, audio.FrameSamples)
			for _, hz := range c.formant {
				for i, v := range tone(0.2, hz) {
					f[i] += v
				}
			}
			if got := New().Next(f); got.Rounded != c.want {
				t.Errorf("formants %v: rounded %v, want %v (open %.2f)", c.formant, got.Rounded, c.want, got.Open)
			}
		})
	}
}

func BenchmarkEnvelope(b *testing.B) {
	speech := testspeech.GoForward(b)
	var pcm []int16 // the loudest frame: openness and the spectrum both computed
	for i := 0; i+audio.FrameSamples <= len(speech); i += audio.FrameSamples {
		if f := speech[i : i+audio.FrameSamples]; pcm == nil || dBFS(f) > dBFS(pcm) {
			pcm = f
		}
	}
	e := New()
	for b.Loop() {
		e.Next(pcm)
	}
}

func tone(amp, hz float64) []int16 {
	f := make([]int16, audio.FrameSamples)
	for i := range f {
		f[i] = int16(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/audio.SampleRate))
	}
	return f
}
