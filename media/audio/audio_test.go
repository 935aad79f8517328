package audio

import (
	"context"
	"math"
	"testing"
	"time"
)

func tone(n int, hz, rate float64, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	return out
}

func TestResample(t *testing.T) {
	tests := []struct {
		from, to int
	}{{16000, 48000}, {48000, 16000}, {44100, 48000}, {48000, 48000}}
	for _, tt := range tests {
		in := tone(tt.from, 440, float64(tt.from), 10000) // 1 s
		out, err := Resample(in, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != tt.to {
			t.Fatalf("%d->%d: %d samples for 1 s", tt.from, tt.to, len(out))
		}
		want := tone(tt.to, 440, float64(tt.to), 10000)
		_, ncc := BestLag(want[1000:tt.to-1000], out)
		if ncc < 0.99 {
			t.Fatalf("%d->%d: 440 Hz tone distorted, NCC %.3f", tt.from, tt.to, ncc)
		}
	}
	if _, err := Resample([]int16{1}, 0, 48000); err == nil {
		t.Fatal("rate 0 accepted")
	}
}

func TestBestLag(t *testing.T) {
	ref := tone(4800, 300, SampleRate, 8000)
	for i := range ref { // make it aperiodic
		ref[i] += int16(i % 97 * 20)
	}
	sig := make([]int16, 48000)
	copy(sig[12345:], ref)
	lag, ncc := BestLag(ref, sig)
	if lag != 12345 || ncc < 0.999 {
		t.Fatalf("lag %d NCC %.4f, want 12345 and ~1", lag, ncc)
	}
	if lag, ncc := BestLag(ref, make([]int16, 1000)); lag != 0 || ncc != 0 {
		t.Fatalf("silent signal: lag %d NCC %v", lag, ncc)
	}
	if _, ncc := BestLag(nil, sig); ncc != 0 {
		t.Fatal("empty ref correlated")
	}
}

// TestCorrelatorReuse: one Correlator, used for signals of changing
// lengths (a new FFT size, then back) and with stale data from a longer
// signal in its buffers, answers each call as BestLag does afresh.
func TestCorrelatorReuse(t *testing.T) {
	ref := tone(4800, 300, SampleRate, 8000)
	for i := range ref {
		ref[i] += int16(i % 97 * 20)
	}
	var c Correlator
	for _, tc := range []struct{ n, at int }{{48000, 12345}, {20000, 700}, {48000, 30000}, {9000, 4000}, {9000, 10}} {
		sig := make([]int16, tc.n)
		copy(sig[tc.at:], ref)
		wantLag, wantNCC := BestLag(ref, sig)
		lag, ncc := c.BestLag(ref, sig)
		if lag != wantLag || ncc != wantNCC || lag != tc.at {
			t.Fatalf("%d samples, ref at %d: reused correlator says lag %d NCC %v, BestLag %d %v", tc.n, tc.at, lag, ncc, wantLag, wantNCC)
		}
	}
	if lag, ncc := c.BestLag(ref, make([]int16, 9000)); lag != 0 || ncc != 0 {
		t.Fatalf("silence after speech: lag %d NCC %v", lag, ncc)
	}
}

// BenchmarkBestLag compares a fresh BestLag with a reused Correlator on the
// echo canceller's delay window (1 s of reference in 1.5 s at 48 kHz).
func BenchmarkBestLag(b *testing.B) {
	ref := tone(48000, 300, SampleRate, 8000)
	for i := range ref {
		ref[i] += int16(i % 97 * 20)
	}
	sig := make([]int16, 72000)
	copy(sig[12345:], ref)
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			BestLag(ref, sig)
		}
	})
	b.Run("reused", func(b *testing.B) {
		b.ReportAllocs()
		var c Correlator
		for b.Loop() {
			c.BestLag(ref, sig)
		}
	})
}

func TestNCC(t *testing.T) {
	a := tone(960, 300, SampleRate, 8000)
	neg := make([]int16, len(a))
	for i, v := range a {
		neg[i] = -v / 2
	}
	if v := NCC(a, a); v < 0.9999 {
		t.Fatalf("NCC with itself %v", v)
	}
	if v := NCC(a, neg); v > -0.9999 {
		t.Fatalf("NCC with its negative, halved: %v", v)
	}
	if v := NCC(a, tone(960, 1000, SampleRate, 8000)); v < -0.1 || v > 0.1 {
		t.Fatalf("NCC of 300 Hz with 1 kHz over 20 ms: %v", v)
	}
	if v := NCC(a, make([]int16, len(a))); v != 0 {
		t.Fatalf("NCC with silence %v", v)
	}
	if v := NCC(a, a[:100]); v < 0.9999 {
		t.Fatalf("NCC over the shorter length %v", v)
	}
}

func TestLevel(t *testing.T) {
	if l := Level(make([]int16, FrameSamples)); l != 0 {
		t.Fatalf("silence level %v", l)
	}
	loud := Level(tone(FrameSamples, 1000, SampleRate, 30000))
	quiet := Level(tone(FrameSamples, 1000, SampleRate, 300))
	if !(loud > 0.9 && quiet > 0 && quiet < loud) {
		t.Fatalf("levels loud %.2f quiet %.2f", loud, quiet)
	}
}

func TestSpeechBand(t *testing.T) {
	rms := func(x []int16) float64 { return RMS(x[4800:]) }
	for _, tt := range []struct {
		hz   float64
		pass bool
	}{{50, false}, {1000, true}, {12000, false}} {
		in := tone(SampleRate/2, tt.hz, SampleRate, 10000)
		ratio := rms(SpeechBand(in)) / rms(in)
		if tt.pass != (ratio > 0.8) || (!tt.pass && ratio > 0.1) {
			t.Fatalf("%v Hz: gain %.3f", tt.hz, ratio)
		}
	}
}

func TestPacer(t *testing.T) {
	var p Pacer
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 6; i++ {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Six ticks span five frame periods: the first is immediate.
	if el := time.Since(start); el < 5*FrameDuration {
		t.Fatalf("6 ticks in %v, want at least %v", el, 5*FrameDuration)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Wait(cctx); err == nil {
		t.Fatal("Wait ignored a cancelled context")
	}
}
