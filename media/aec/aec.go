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

// DefaultTail is the echo path the filter models after the bulk delay is
// taken out: 128 ms covers a room's early reflections (speexdsp suggests
// about a third of the reverberation time); a shorter filter converges
// faster.
const DefaultTail = 128 * time.Millisecond

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
// the near end (the microphone). It first measures the bulk delay between
// the two (the devices' buffers and the sound server: 50–300 ms on a
// desktop) by cross-correlation, then runs the adaptive filter on the far
// end delayed by that much, so the filter only has to model the room
// (Tail) and converges in a second or two — the approach of WebRTC's AEC3
// (delay estimator in front of a short filter). It is not safe for
// concurrent use.
type Canceller struct {
	st     *state
	cfg    Config
	health health

	farBuf    []int16 // the far end's last MaxDelay + one frame
	delay     int     // bulk delay in samples, once aligned
	aligned   bool
	estNear   []int16 // audio gathered to measure the delay
	estFar    []int16
	estActive int // far-end-active frames in estFar
	misses    int // windows in a row with far-end audio and no echo of it

	leakRef, leakOut []int16 // the last LeakWindow of reference and output, to catch leaking echo
	ref              []int16 // the delayed far end of the current frame

	farHeard  time.Duration // far-end activity the filter has adapted to (since alignment)
	good      int           // far-end frames in a row cancelled by ConvergedDB
	converged bool
	farRecent int       // frames since the (delayed) far end was last active
	farE      []float64 // (delayed) far-end energy of the last Tail, a frame each
	gated     int       // frames muted
}

// MaxDelay is the longest bulk delay between the speaker and the microphone
// the canceller looks for.
const MaxDelay = 500 * time.Millisecond

// Delay estimation: the delay is measured over EstimateWindow of audio in
// which the far end played at least a quarter of the time, and accepted
// when the normalised cross-correlation there exceeds MinCorrelation.
const (
	EstimateWindow = 2 * time.Second
	MinCorrelation = 0.3
	delayMargin    = 10 * time.Millisecond // the filter also sees a little before the echo
)

// NoEchoWindows: after this many estimate windows in a row in which the far
// end played and its echo was not found (headphones, a headset), the
// canceller stops muting and passes the microphone through, still looking
// for an echo in case one appears.
const NoEchoWindows = 2

// NoEchoCorrelation is the correlation under which a window counts as
// having no echo at all (a headset gives about 0.05; an echo path, even
// with glitches, well above).
const NoEchoCorrelation = 0.15

// The filter counts as converged once ConvergedFrames frames of far-end
// speech in a row came out at least ConvergedDB quieter than they went in.
// Until then (and until the delay is known), frames that can hold the far
// end's echo are muted: the agent must not hear its first words and
// interrupt itself, at the cost of the person not being heard over the
// agent's first seconds (half duplex while the canceller learns the room;
// about 1–2 s of the agent's speech).
const (
	ConvergedDB     = 20.0
	ConvergedFrames = 10
)

// GateDB is the non-linear processor's threshold once converged: a frame
// that can hold echo and is more than GateDB below the loudest far-end
// frame of the last Tail is taken for residual echo and muted. A speech
// recognizer or VAD hears echo even 30 dB down (Silero does not look at
// the level), so what the filter leaves must go; a person speaking over
// the agent is far louder than that and passes.
const GateDB = 25.0

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
	return &Canceller{st: st, cfg: cfg, ref: make([]int16, audio.FrameSamples)}, nil
}

func samples(d time.Duration) int { return int(d * audio.SampleRate / time.Second) }

// Process cancels the echo in one frame: near is the microphone's frame,
// far the speaker's frame given to it at the same time (its echo arrives
// later, up to MaxDelay + Tail), out receives the cleaned frame. All three
// hold audio.FrameSamples samples; out may be near. It returns
// audio.ErrFrameSize otherwise.
func (c *Canceller) Process(near, far, out []int16) error {
	if len(near) != audio.FrameSamples || len(far) != audio.FrameSamples || len(out) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	// Keep the far end's last MaxDelay; trimmed every few frames, not on
	// each (the copy is ~25k samples).
	c.farBuf = append(c.farBuf, far...)
	if keep := samples(MaxDelay) + audio.FrameSamples; len(c.farBuf) > 2*keep {
		c.farBuf = append(c.farBuf[:0], c.farBuf[len(c.farBuf)-keep:]...)
	}
	if !c.aligned {
		c.estimate(near, far)
	}
	nearE := energy(near)
	if !c.aligned {
		// No filter yet: pass the near end, but mute whatever can be echo.
		copy(out, near)
		if energy(far) > farActive {
			c.farRecent = 0
		} else {
			c.farRecent++
		}
		if c.misses < NoEchoWindows && time.Duration(c.farRecent)*audio.FrameDuration <= MaxDelay+c.cfg.Tail && c.estActive > 0 {
			clear(out)
		}
		return nil
	}
	ref := c.ref // silence until the buffer holds the delay
	clear(ref)
	if end := len(c.farBuf) - c.delay; end >= audio.FrameSamples {
		copy(ref, c.farBuf[end-audio.FrameSamples:end])
	}
	farE := energy(ref)
	c.st.process(near, ref, out)
	outE := energy(out)
	if farE > farActive {
		c.farRecent = 0
		c.farHeard += audio.FrameDuration
		if nearE > farActive/100 && outE*math.Pow(10, ConvergedDB/10) <= nearE {
			if c.good++; c.good >= ConvergedFrames {
				c.converged = true
			}
		} else {
			c.good = 0
		}
	} else {
		c.farRecent++
	}
	// The echo trails the delayed far end by up to Tail.
	c.farE = append(c.farE, farE)
	if keep := int(c.cfg.Tail/audio.FrameDuration) + 1; len(c.farE) > keep {
		c.farE = c.farE[len(c.farE)-keep:]
	}
	if c.farHeard > 0 && time.Duration(c.farRecent)*audio.FrameDuration <= c.cfg.Tail {
		peak := 0.0
		for _, e := range c.farE {
			peak = max(peak, e)
		}
		if !c.converged || outE < peak*math.Pow(10, -GateDB/10) {
			clear(out)
			outE = 0
		}
	}
	c.health.update(nearE, farE, outE)
	if c.health.diverged() || c.leaking(ref, out) {
		// Start over, muted: the delay may have changed (an xrun, another
		// device).
		c.st.reset()
		c.aligned, c.farHeard, c.converged, c.good = false, 0, false, 0
		c.health.resets++
		c.health.bad = 0
		c.leakRef, c.leakOut = c.leakRef[:0], c.leakOut[:0]
		clear(out)
	}
	return nil
}

// LeakWindow is how much audio the leak detector looks at, and LeakNCC the
// correlation between the output and the far end above which the output
// is taken for echo: a person speaking over the agent does not correlate
// with the agent's voice; echo the filter lets through (after a jump in the
// device latency, which it must re-learn) does.
const (
	LeakWindow = 200 * time.Millisecond
	LeakNCC    = 0.5
)

// leaking reports whether, over the last LeakWindow, the output carried the
// far end's echo audibly (above the gate), once converged.
func (c *Canceller) leaking(ref, out []int16) bool {
	if !c.converged {
		return false
	}
	c.leakRef = append(c.leakRef, ref...)
	c.leakOut = append(c.leakOut, out...)
	win := samples(LeakWindow)
	if len(c.leakOut) < win+samples(c.cfg.Tail) {
		return false
	}
	ref0 := c.leakRef[:win]
	outW := c.leakOut
	leak := false
	if energy(outW) > farActive && energy(ref0) > farActive {
		_, ncc := audio.BestLag(ref0, outW)
		leak = ncc > LeakNCC
	}
	drop := samples(LeakWindow) / 2
	c.leakRef = append(c.leakRef[:0], c.leakRef[drop:]...)
	c.leakOut = append(c.leakOut[:0], c.leakOut[drop:]...)
	return leak
}

// estimate gathers audio and, once a window is full, measures the bulk
// delay by cross-correlation (media/audio.BestLag, an FFT).
func (c *Canceller) estimate(near, far []int16) {
	c.estNear = append(c.estNear, near...)
	c.estFar = append(c.estFar, far...)
	if energy(far) > farActive {
		c.estActive++
	}
	win := samples(EstimateWindow)
	if len(c.estNear) < win {
		return
	}
	if c.estActive*audio.FrameSamples >= win/4 {
		lag, ncc := audio.BestLag(c.estFar[:win-samples(MaxDelay)], c.estNear)
		if ncc >= MinCorrelation && lag <= samples(MaxDelay) {
			c.delay = max(lag-samples(delayMargin), 0)
			c.aligned, c.misses = true, 0
			c.st.reset()
			c.estNear, c.estFar, c.estActive = c.estNear[:0], c.estFar[:0], 0
			return
		}
		if ncc < NoEchoCorrelation {
			c.misses++ // the far end played and the microphone did not hear it
		}
	}
	// Slide by half a window.
	half := win / 2
	c.estNear = append(c.estNear[:0], c.estNear[half:]...)
	c.estFar = append(c.estFar[:0], c.estFar[half:]...)
	c.estActive = 0
	for i := 0; i+audio.FrameSamples <= len(c.estFar); i += audio.FrameSamples {
		if energy(c.estFar[i:i+audio.FrameSamples]) > farActive {
			c.estActive++
		}
	}
}

// Delay returns the measured bulk delay from the speaker to the microphone
// (0 and false until measured).
func (c *Canceller) Delay() (time.Duration, bool) {
	return time.Duration(c.delay) * time.Second / audio.SampleRate, c.aligned
}

// Stats describe how the canceller is doing.
type Stats struct {
	// ERLE is the echo return loss enhancement over the last second of
	// far-end activity, in dB: how much quieter the output is than the
	// microphone while the far end plays. 0 before any far-end audio.
	ERLE float64
	// Resets counts the times the filter diverged (its output louder than
	// its input for half a second) or let echo through, and was restarted.
	Resets int
	// Delay is the measured bulk delay (0 until Aligned).
	Delay   time.Duration
	Aligned bool
	// Converged: the filter cancels; the echo is no longer muted wholesale.
	Converged bool
}

// Stats returns the canceller's recent performance.
func (c *Canceller) Stats() Stats {
	d, ok := c.Delay()
	return Stats{ERLE: c.health.erle(), Resets: c.health.resets, Delay: d, Aligned: ok, Converged: c.converged}
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
