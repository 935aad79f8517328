// Package aec cancels acoustic echo in the client before the microphone is
// encoded: what the speaker plays comes back into the microphone through
// the room, and without a canceller the agent hears (and answers, and is
// interrupted by) its own voice.
//
// It uses speexdsp (Debian libspeexdsp-dev, BSD licence) through cgo: the
// MDF echo canceller (J.-M. Valin, "On Adjusting the Learning Rate in
// Frequency Domain Echo Cancellation With Double-Talk", IEEE TASLP 2007)
// and its preprocessor for residual echo suppression, noise suppression and
// automatic gain control. docs/architecture.md says why speexdsp rather
// than webrtc-audio-processing.
//
// Frames are Parley's: 20 ms of 48 kHz mono int16 (960 samples); inside,
// the canceller runs at 16 kHz (ProcessingRate), so the output carries
// speech up to 8 kHz.
package aec

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/parley-app/parley/media/audio"
)

// DefaultTail is the echo path the filter models: 200 ms covers a laptop's
// speaker-to-microphone path plus the devices' buffering (speexdsp
// suggests about a third of the room's reverberation time; 100–500 ms).
const DefaultTail = 200 * time.Millisecond

// Config chooses what runs. The zero value is echo cancellation with
// residual echo suppression, no noise suppression, no gain control.
type Config struct {
	// Tail is the echo path length the adaptive filter covers (default
	// DefaultTail; 20 ms to 1 s).
	Tail time.Duration
	// NoiseSuppression runs speexdsp's noise suppressor (default off).
	NoiseSuppression bool
	// GainControl runs speexdsp's automatic gain control (default off).
	GainControl bool
}

// ErrConfig is returned by New for a tail out of range.
var ErrConfig = errors.New("aec: invalid configuration")

// Canceller removes the echo of the far end (what the speaker played) from
// the near end (the microphone). It is not safe for concurrent use.
type Canceller struct {
	st     *state
	cfg    Config
	health health
}

// New returns a canceller for 48 kHz mono 20 ms frames.
func New(cfg Config) (*Canceller, error) {
	if cfg.Tail == 0 {
		cfg.Tail = DefaultTail
	}
	if cfg.Tail < audio.FrameDuration || cfg.Tail > time.Second {
		return nil, fmt.Errorf("%w: tail %v, want 20 ms to 1 s", ErrConfig, cfg.Tail)
	}
	taps := int(cfg.Tail * ProcessingRate / time.Second)
	st, err := newState(audio.FrameSamples, taps, cfg.NoiseSuppression, cfg.GainControl)
	if err != nil {
		return nil, err
	}
	return &Canceller{st: st, cfg: cfg}, nil
}

// Process cancels the echo in one frame: near is the microphone's frame,
// far the speaker's frame played at the same time (or up to Tail earlier),
// out receives the cleaned frame. All three hold audio.FrameSamples
// samples; out may be near. It returns audio.ErrFrameSize otherwise.
func (c *Canceller) Process(near, far, out []int16) error {
	if len(near) != audio.FrameSamples || len(far) != audio.FrameSamples || len(out) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	nearE := energy(near)
	c.st.process(near, far, out)
	c.health.update(nearE, energy(far), energy(out))
	if c.health.diverged() {
		c.st.reset()
		c.health.resets++
		c.health.bad = 0
	}
	return nil
}

// Stats describe how the canceller is doing.
type Stats struct {
	// ERLE is the echo return loss enhancement over the last second of
	// far-end activity, in dB: how much quieter the output is than the
	// microphone while the far end plays. 0 before any far-end audio.
	ERLE float64
	// Resets counts the times the filter diverged (its output louder than
	// its input for half a second) and was restarted.
	Resets int
}

// Stats returns the canceller's recent performance.
func (c *Canceller) Stats() Stats {
	return Stats{ERLE: c.health.erle(), Resets: c.health.resets}
}

// Close frees the C state; it is safe to call twice.
func (c *Canceller) Close() {
	if c.st != nil {
		c.st.free()
		c.st = nil
	}
}

func energy(f []int16) float64 {
	var s float64
	for _, v := range f {
		x := float64(v)
		s += x * x
	}
	return s / float64(len(f))
}

// health tracks the echo return loss enhancement and divergence.
type health struct {
	nearSum, outSum float64 // over frames with far-end activity
	n               int
	bad             int // consecutive frames with output louder than input
	resets          int
}

// farActive is the far-end energy (mean square) above which a frame counts
// as the far end playing: -50 dBFS.
var farActive = math.Pow(10, -50.0/10) * 32768 * 32768

func (h *health) update(nearE, farE, outE float64) {
	if farE > farActive {
		// A one-second window, decayed per frame.
		const keep = 49.0 / 50
		h.nearSum = h.nearSum*keep + nearE
		h.outSum = h.outSum*keep + outE
		h.n++
	}
	if outE > 4*nearE && nearE > farActive/100 {
		h.bad++
	} else {
		h.bad = 0
	}
}

func (h *health) diverged() bool { return h.bad >= 25 } // 500 ms

func (h *health) erle() float64 {
	if h.n == 0 || h.outSum <= 0 {
		return 0
	}
	return 10 * math.Log10(h.nearSum/h.outSum)
}
