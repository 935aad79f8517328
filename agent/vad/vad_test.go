package vad

import (
	"math/rand/v2"
	"testing"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

func TestEnergyOnRealSpeech(t *testing.T) {
	speech := testspeech.GoForward(t)
	v := NewEnergy()
	var voiced, frames int
	for i := 0; i+audio.FrameSamples <= len(speech); i += audio.FrameSamples {
		frames++
		if v.IsSpeech(speech[i : i+audio.FrameSamples]) {
			voiced++
		}
	}
	// "go forward ten meters" is mostly speech with silence at both ends.
	if r := float64(voiced) / float64(frames); r < 0.4 || r > 0.9 {
		t.Fatalf("%d of %d frames voiced (%.0f%%)", voiced, frames, r*100)
	}

	// Steady noise at -50 dBFS is not speech, even after a while.
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]int16, audio.FrameSamples)
	for n := 0; n < 200; n++ {
		for i := range noise {
			noise[i] = int16(rng.NormFloat64() * 100)
		}
		if v.IsSpeech(noise) {
			t.Fatalf("frame %d of quiet noise counted as speech", n)
		}
	}
}
