// Package vad decides, per 20 ms frame of 48 kHz mono int16 audio, whether
// someone is speaking (voice activity detection).
//
// Two detectors implement Detector. Silero (silero.go) runs the Silero VAD v5
// neural network through ONNX Runtime and tells speech from other sounds; it
// needs files that `make deps` installs. Energy is an energy-threshold VAD
// with an adaptive noise floor: a frame is speech when its RMS level is both
// above an absolute floor and well above the running noise estimate. It needs
// nothing, and it is the fallback; it cannot tell speech from other loud
// sounds. Open (open.go) picks the best one available.
package vad

import (
	"math"

	"github.com/parley-app/parley/media/audio"
)

// Detector classifies audio, one 20 ms frame (audio.FrameSamples = 960
// samples of 48 kHz mono int16) per call, and keeps state between calls: a
// Detector belongs to one stream and one goroutine at a time.
type Detector interface {
	// IsSpeech reports whether someone is speaking as of the end of frame.
	IsSpeech(frame []int16) bool
}

var _ Detector = (*Energy)(nil)

// Energy defaults.
const (
	DefaultThresholdDB = -45.0 // dBFS a frame must exceed to count as speech
	DefaultMarginDB    = 10.0  // dB a frame must exceed the noise floor by
)

// Energy is an energy VAD over 20 ms frames of 48 kHz mono int16. The zero
// value is not ready: use NewEnergy.
type Energy struct {
	ThresholdDB float64
	MarginDB    float64
	noiseDB     float64
}

// NewEnergy returns an energy VAD with the default thresholds.
func NewEnergy() *Energy {
	return &Energy{ThresholdDB: DefaultThresholdDB, MarginDB: DefaultMarginDB, noiseDB: -70}
}

// LevelDB returns the RMS level of f in dBFS (-120 for digital silence).
func LevelDB(f []int16) float64 {
	r := audio.RMS(f)
	if r <= 1e-6 {
		return -120
	}
	return 20 * math.Log10(r)
}

// IsSpeech classifies one frame and updates the noise-floor estimate: the
// floor falls fast to quieter frames and rises slowly (a time constant of
// about 2 s) so that speech does not drag it up.
func (v *Energy) IsSpeech(f []int16) bool {
	db := LevelDB(f)
	speech := db > v.ThresholdDB && db > v.noiseDB+v.MarginDB
	switch {
	case db < v.noiseDB:
		v.noiseDB += 0.5 * (db - v.noiseDB)
	case !speech:
		v.noiseDB += 0.01 * (db - v.noiseDB)
	}
	v.noiseDB = max(v.noiseDB, -90)
	return speech
}
