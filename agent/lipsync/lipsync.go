// Package lipsync turns the agent's outgoing voice into mouth samples for
// the avatar: one api.MouthSample per 20 ms frame, how open the mouth is and
// whether the lips are rounded.
//
// Openness follows the frame's loudness, the amplitude-driven lip sync that
// 2D avatars commonly use (as in Rhubarb Lip Sync's fallback and VTuber
// tools): the RMS level in dBFS is mapped linearly from Floor (shut) to
// Ceiling (wide open), opened at once and closed over a few frames, because
// a mouth that snaps shut between syllables flickers. Rounded lips are
// guessed from the spectrum: the rounded vowels (/o/, /u/) have their first
// two formants below about 1 kHz (Peterson & Barney, 1952), so a voiced frame
// with most of its speech-band energy under RoundedSplitHz counts as
// rounded.
package lipsync

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/media/audio"
)

// Defaults of Envelope.
const (
	Floor          = -48.0 // dBFS RMS at and below which the mouth is shut
	Ceiling        = -18.0 // dBFS RMS at and above which it is wide open
	Release        = 0.55  // per frame: how much of the last openness a quieter frame keeps
	RoundedSplitHz = 1000  // rounded when most speech-band energy lies under this
	roundedShare   = 0.80  // ... at least this share of 150–4000 Hz
	roundedMinOpen = 0.2   // a nearly shut mouth is never called rounded
	fftSize        = 1024  // one frame of 960 samples, zero-padded
)

// Envelope computes mouth samples frame by frame; it keeps the last
// openness so it can close smoothly. The zero value is not ready: use New.
// It is not safe for concurrent use.
type Envelope struct {
	last float64
	fft  *fourier.FFT
	buf  []float64
	spec []complex128
}

// New returns an Envelope with a closed mouth.
func New() *Envelope {
	return &Envelope{fft: fourier.NewFFT(fftSize), buf: make([]float64, fftSize), spec: make([]complex128, fftSize/2+1)}
}

// Reset closes the mouth (the next frame starts from shut), for a new
// stretch of speech after a pause or a barge-in.
func (e *Envelope) Reset() { e.last = 0 }

// Next returns the mouth for frame: 20 ms of 48 kHz mono int16
// (audio.FrameSamples; a shorter frame is treated as padded with silence).
func (e *Envelope) Next(frame []int16) api.MouthSample {
	db := dBFS(frame)
	open := min(max((db-Floor)/(Ceiling-Floor), 0), 1)
	if open < e.last {
		open = max(open, e.last*Release)
	}
	if open < 0.5/(api.MouthLevels-1) {
		open = 0
	}
	e.last = open
	return api.MouthSample{Open: open, Rounded: open >= roundedMinOpen && e.rounded(frame)}
}

// Samples returns one mouth sample per 20 ms frame of pcm (48 kHz mono), the
// last frame padded with silence, continuing from the Envelope's state.
func (e *Envelope) Samples(pcm []int16) []api.MouthSample {
	out := make([]api.MouthSample, 0, (len(pcm)+audio.FrameSamples-1)/audio.FrameSamples)
	for len(pcm) > 0 {
		n := min(len(pcm), audio.FrameSamples)
		out = append(out, e.Next(pcm[:n]))
		pcm = pcm[n:]
	}
	return out
}

// rounded reports whether most of the frame's 150–4000 Hz energy lies under
// RoundedSplitHz.
func (e *Envelope) rounded(frame []int16) bool {
	clear(e.buf)
	n := min(len(frame), fftSize)
	for i := range n { // Hann window against leakage from the frame's edges
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		e.buf[i] = float64(frame[i]) * w
	}
	e.spec = e.fft.Coefficients(e.spec, e.buf)
	binHz := float64(audio.SampleRate) / fftSize
	var low, all float64
	lo, hi := int(math.Ceil(150/binHz)), int(4000/binHz)
	for k := lo; k <= hi; k++ {
		p := cmplx.Abs(e.spec[k])
		p *= p
		all += p
		if float64(k)*binHz < RoundedSplitHz {
			low += p
		}
	}
	return all > 0 && low/all >= roundedShare
}

// dBFS is the RMS level of f relative to full scale; silence is -120.
func dBFS(f []int16) float64 {
	var sum float64
	for _, s := range f {
		v := float64(s)
		sum += v * v
	}
	if sum == 0 {
		return -120
	}
	n := max(len(f), audio.FrameSamples)
	return 10 * math.Log10(sum/float64(n)/(32768.0*32768.0))
}
