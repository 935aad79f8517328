package audio

import "math"

// Biquad is a second-order IIR filter section in direct form I, with
// coefficients from Robert Bristow-Johnson's "Audio EQ Cookbook".
type Biquad struct {
	b0, b1, b2, a1, a2 float64 // normalised by a0
	x1, x2, y1, y2     float64
}

// NewHighPass returns a Butterworth (Q = 1/√2) high-pass section with cutoff
// fc Hz at sample rate rate Hz.
func NewHighPass(fc, rate float64) *Biquad {
	w := 2 * math.Pi * fc / rate
	alpha := math.Sin(w) / math.Sqrt2
	c := math.Cos(w)
	a0 := 1 + alpha
	return &Biquad{b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0}
}

// NewLowPass returns a Butterworth (Q = 1/√2) low-pass section with cutoff fc
// Hz at sample rate rate Hz.
func NewLowPass(fc, rate float64) *Biquad {
	w := 2 * math.Pi * fc / rate
	alpha := math.Sin(w) / math.Sqrt2
	c := math.Cos(w)
	a0 := 1 + alpha
	return &Biquad{b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0}
}

// Process filters one sample.
func (f *Biquad) Process(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

// SpeechBand returns pcm (48 kHz mono) band-limited to the telephone speech
// band, 300–3400 Hz (ITU-T G.712), by a second-order high-pass and low-pass.
// Parley compares speech waveforms in this band: Opus' VoIP mode high-passes
// its input (libopus' hp_cutoff) and codes high bands perceptually, so
// full-band waveforms of the same speech differ below 300 Hz and above
// 4 kHz even when they sound alike.
func SpeechBand(pcm []int16) []int16 {
	hp := NewHighPass(300, SampleRate)
	lp := NewLowPass(3400, SampleRate)
	out := make([]int16, len(pcm))
	for i, s := range pcm {
		y := lp.Process(hp.Process(float64(s)))
		out[i] = int16(max(-32768, min(32767, y)))
	}
	return out
}
