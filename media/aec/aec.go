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

	farBuf    []int16 // the far end's last MaxDelay + LeakWindow + one frame, at least
	delay     int     // bulk delay in samples, once aligned
	echoLag   int     // where the echo was found, in samples (delay plus a margin)
	aligned   bool
	estNear   []int16 // audio gathered to measure the delay
	estFar    []int16
	estActive int              // far-end-active frames in estFar
	leakXC    audio.Correlator // for echoMoved's and echoAt's windows, at 16 kHz
	misses    int              // windows in a row with far-end audio and no echo of it

	rawOut []int16 // the filter's output over the last LeakWindow at least, before the gate
	rawIn  []int16 // the microphone over the same stretch
	ref    []int16 // the delayed far end of the current frame

	farHeard    time.Duration  // far-end activity the filter has adapted to (since alignment)
	moves       int            // times the echo moved to another delay and was followed
	good        int            // far-end frames cancelled by ConvergedDB, net of misses
	echoGain    float64        // the echo path's energy gain (echo over far end), measured with the delay
	verdicts    []frameVerdict // the last 2·doubleTalkHold+1 frames, to judge the middle one
	talkHold    int            // frames left of the last double talk's hangover
	shiftMute   int            // frames left to mute after shifting the reference
	probation   int            // frames left in which a shift that does not hold is undone
	probeLeaks  int            // frames on probation whose output followed the far end
	learnChecks int            // frames while learning, to look for a move every learnCheckEvery
	rawFarE     []float64      // the far end's energy as played, a frame each, the last MaxDelay + Tail at least
	converged   bool
	learning    time.Duration // far-end activity since alignment without converging
	farRecent   int           // frames since the (delayed) far end was last active
	farE        []float64     // (delayed) far-end energy of the last Tail, a frame each
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
// speech came out at least ConvergedDB quieter than they went in (a frame
// that did not takes two off the count, so a glitch now and then under
// load does not start it over; frames near double talk count neither way).
// Until then (and until the delay is known), frames that can hold the far
// end's echo are muted: the agent must not hear its first words and
// interrupt itself, at the cost of the person not being heard over the
// agent's first seconds (half duplex while the canceller learns the room;
// about 1–2 s of the agent's speech) unless they are far louder than the
// echo can be (double talk, below). An unconverged filter's residual need
// not look like the far end (the preprocessor reshapes it), so nothing
// short of convergence or such a margin lets it pass.
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
	// Keep the far end's last MaxDelay + LeakWindow; trimmed every few
	// frames, not on each (the copy is ~30k samples).
	c.farBuf = append(c.farBuf, far...)
	if keep := samples(MaxDelay+LeakWindow) + audio.FrameSamples; len(c.farBuf) > 2*keep {
		c.farBuf = append(c.farBuf[:0], c.farBuf[len(c.farBuf)-keep:]...)
	}
	if !c.aligned {
		c.estimate(near, far)
	}
	nearE := energy(near)
	// The loudest far-end frame played within MaxDelay + Tail: whatever
	// can be echo at any delay comes from it or quieter ones.
	c.rawFarE = append(c.rawFarE, energy(far))
	n := int((MaxDelay+c.cfg.Tail)/audio.FrameDuration) + 1
	if len(c.rawFarE) > 2*n {
		c.rawFarE = append(c.rawFarE[:0], c.rawFarE[len(c.rawFarE)-n:]...)
	}
	playedPeak := 0.0
	for _, e := range c.rawFarE[max(len(c.rawFarE)-n, 0):] {
		playedPeak = max(playedPeak, e)
	}
	anyEcho := playedPeak > farActive
	if !c.aligned {
		// No filter yet: pass the near end, but mute whatever can be echo.
		copy(out, near)
		if c.misses < NoEchoWindows && anyEcho && c.estActive > 0 {
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
	// At least the last LeakWindow, trimmed every few frames as farBuf is;
	// the microphone before processing, as out may be near.
	c.rawIn = append(c.rawIn, near...)
	c.st.process(near, ref, out)
	outE := energy(out)
	c.rawOut = append(c.rawOut, out...)
	if n := samples(LeakWindow); len(c.rawOut) > 2*n {
		c.rawOut = append(c.rawOut[:0], c.rawOut[len(c.rawOut)-n:]...)
		c.rawIn = append(c.rawIn[:0], c.rawIn[len(c.rawIn)-n:]...)
	}
	// The echo trails the delayed far end by up to Tail.
	c.farE = append(c.farE, farE)
	if keep := int(c.cfg.Tail/audio.FrameDuration) + 1; len(c.farE) > keep {
		c.farE = c.farE[len(c.farE)-keep:]
	}
	if farE > farActive {
		c.farRecent = 0
		c.farHeard += audio.FrameDuration
	} else {
		c.farRecent++
	}
	doubleTalk := c.doubleTalk(nearE, playedPeak)
	if doubleTalk {
		c.talkHold = doubleTalkHold + 1
	} else {
		c.talkHold = max(c.talkHold-1, 0)
	}
	c.judge(frameVerdict{
		far:        farE > farActive,
		good:       nearE > farActive/100 && outE*math.Pow(10, ConvergedDB/10) <= nearE,
		doubleTalk: doubleTalk,
	})
	var (
		newLag         int
		shift, relearn bool
	)
	c.probation = max(c.probation-1, 0)
	if c.shiftMute > 0 {
		c.shiftMute--
		if anyEcho {
			clear(out) // the filter's memory of the reference straddles the shift
			outE = 0
		}
	} else if !c.converged && anyEcho {
		// Learning, perhaps at a delay just found after a move that is
		// not yet confirmed: mute whatever can be echo at any delay, not
		// only around the one being learned; but a person talking over
		// the agent, far louder than the echo can be, is heard.
		if c.talkHold == 0 {
			clear(out)
			outE = 0
		}
		// An echo that moves meanwhile out of the filter's first half is
		// followed too (there is no model to keep yet: the filter starts
		// over there); within it, the filter learns it where it is.
		if c.learnChecks++; farE > farActive && c.learnChecks%learnCheckEvery == 0 {
			if d, ncc, oldNCC, ok := c.echoAt(nil); ok && c.plainMove(d, ncc, oldNCC) {
				if d-c.delay >= samples(time.Millisecond) && d-c.delay <= samples(c.cfg.Tail/2) {
					c.echoLag = d
				} else {
					relearn, newLag = true, d
					c.moves++
				}
			}
		}
	} else if c.farHeard > 0 && time.Duration(c.farRecent)*audio.FrameDuration <= c.cfg.Tail {
		peak := 0.0
		for _, e := range c.farE {
			peak = max(peak, e)
		}
		switch {
		case outE < peak*math.Pow(10, -GateDB/10):
			clear(out) // residual echo
			outE = 0
		default:
			// Loud enough to be heard over the agent: a person talking
			// over it, or echo the filter does not cancel.
			lag, leaking, moved := c.echoMoved()
			switch {
			case !leaking:
			case moved:
				shift, newLag = true, lag
			default:
				// Muted. Just after a shift, echo that keeps coming
				// through at the delay shifted to means the shift did not
				// restore the cancellation.
				clear(out)
				outE = 0
				if c.probation > 0 {
					c.probeLeaks++
					relearn, newLag = c.probeLeaks >= probeLeakFrames, lag
				}
			}
		}
	}
	c.health.update(nearE, farE, outE)
	switch {
	case shift && c.delay+newLag-c.echoLag >= 0:
		// The room is the same, only the delay moved: shift the
		// reference by as much and keep the filter, muting the echo for
		// a Tail while the filter's memory of the reference catches up.
		c.moves++
		clear(out)
		c.delay += newLag - c.echoLag
		c.echoLag = newLag
		c.rawOut, c.rawIn = c.rawOut[:0], c.rawIn[:0]
		c.shiftMute = int(c.cfg.Tail/audio.FrameDuration) + 1
		c.probation, c.probeLeaks = int(shiftProbation/audio.FrameDuration), 0
	case shift || relearn:
		// The echo now comes before the filter's start, the shift did
		// not hold, or the echo left the filter's reach while it learned:
		// the filter starts over at the new delay (a second or so,
		// against the 2 s windows of measuring the delay again).
		if shift {
			c.moves++
		}
		clear(out)
		c.delay, c.echoLag = max(newLag-samples(delayMargin), 0), newLag
		c.restart(true)
	case c.health.diverged() || c.learning > RelearnAfter:
		// Measure the delay again: the filter diverged, or never
		// converged at the delay it was given.
		c.restart(false)
		c.health.resets++
		clear(out)
	}
	return nil
}

// restart resets the filter, which must then converge again (muting the
// echo meanwhile); unless aligned, the delay is measured again first.
func (c *Canceller) restart(aligned bool) {
	c.st.reset()
	c.aligned = aligned
	c.farHeard, c.converged, c.good, c.learning = 0, false, 0, 0
	c.verdicts, c.talkHold = c.verdicts[:0], 0
	c.shiftMute, c.probation, c.probeLeaks = 0, 0, 0
	c.health.bad = 0
	c.rawOut, c.rawIn = c.rawOut[:0], c.rawIn[:0]
}

// The leak detector. When the delay between the speaker and the
// microphone jumps (an xrun, the sound server re-buffering, a stall in
// miniaudio's duplex ring buffer), the filter no longer cancels and the
// echo comes through at almost its full level. Every frame that passes the
// gate while the far end plays is therefore checked, over the last
// LeakWindow and every delay up to MaxDelay (FFT cross-correlations at
// 16 kHz, about 1 ms):
//   - the filter's output must follow the far end (NCC above LeakNCC), and
//   - the microphone must follow it more closely (NCC above MovedNCC).
//
// Then the frame holds echo and is muted. If the microphone shows the echo
// at another delay than the one the filter models (refined to the sample
// at 48 kHz), the room is the same and only the delay moved: the reference
// is shifted by exactly as much and the filter kept, so it cancels again
// after a Tail (muted meanwhile) instead of re-learning the room, during
// which a person talking over the agent would stay muted. Should the echo
// keep coming through after the shift (probeLeakFrames frames within
// shiftProbation: the filter had drifted while the echo was misplaced),
// the filter starts over at the new delay. A person speaking over the
// agent fails the first test (their voice does not follow the agent's),
// and passes at once.
//
// RelearnAfter bounds how long the filter may learn at one delay: after
// that much far-end audio without converging, the delay is measured again
// from scratch.
const (
	LeakWindow   = 120 * time.Millisecond
	LeakNCC      = 0.5
	MovedNCC     = 0.6
	RelearnAfter = 4 * time.Second
)

// leakDecimation: the leak check correlates at 16 kHz (the rate the filter
// runs at), which is a ninth of the work of 48 kHz.
const leakDecimation = audio.SampleRate / ProcessingRate

// echoMoved checks the output over the last LeakWindow: leaking reports
// whether it holds echo the filter does not cancel (it follows the far
// end, and so does the microphone), moved whether the microphone plainly
// shows the echo at another delay than the one the filter models
// (plainMove), and lag is that delay.
func (c *Canceller) echoMoved() (lag int, leaking, moved bool) {
	win := samples(LeakWindow)
	long := win + samples(MaxDelay)
	if len(c.rawOut) < win || len(c.farBuf) < long {
		return 0, false, false
	}
	rawOut := c.rawOut[len(c.rawOut)-win:]
	if energy(rawOut) <= farActive {
		return 0, false, false
	}
	out := decimate(rawOut, leakDecimation)
	far := decimate(c.farBuf[len(c.farBuf)-long:], leakDecimation)
	// BestLag also tries lags where out only partly overlaps far (an echo
	// that would come before its sound): those are not echo.
	olag, oncc := c.leakXC.BestLag(out, far)
	if oncc <= LeakNCC || olag > len(far)-len(out) {
		return 0, false, false
	}
	// The microphone tells whether, and where, the echo moved. (The
	// output mixes the new echo with the filter's model of the old one,
	// so its own best lag can be either.)
	d, ncc, oldNCC, ok := c.echoAt(far)
	if !ok || ncc < MovedNCC {
		// A person speaking over the agent (whose voice, mixed with the
		// cancelled echo, happens to follow it).
		return 0, false, false
	}
	return d, true, c.plainMove(d, ncc, oldNCC)
}

// echoAt finds where the microphone shows the far end over the last
// LeakWindow: d, the echo's delay in samples at 48 kHz (found at 16 kHz,
// then refined at 48 kHz, so that the reference can be shifted by exactly
// as much as the echo moved), the NCC there, and the NCC at the delay the
// filter models. far16 is the far end's last LeakWindow + MaxDelay
// decimated to 16 kHz, or nil to decimate it here; ok is false while there
// is too little audio.
func (c *Canceller) echoAt(far16 []int16) (d int, ncc, oldNCC float64, ok bool) {
	win := samples(LeakWindow)
	long := win + samples(MaxDelay)
	if len(c.rawIn) < win || len(c.farBuf) < long {
		return 0, 0, 0, false
	}
	far48 := c.farBuf[len(c.farBuf)-long:]
	if far16 == nil {
		far16 = decimate(far48, leakDecimation)
	}
	near48 := c.rawIn[len(c.rawIn)-win:]
	lag16, _ := c.leakXC.BestLag(decimate(near48, leakDecimation), far16)
	if lag16 > len(far16)-win/leakDecimation {
		return 0, 0, 0, false // only partly inside the far end: not echo
	}
	// The echo appears in the far end at lag, so it trails the far end by
	// MaxDelay − lag.
	lag, ncc := 0, math.Inf(-1)
	for l := max((lag16-2)*leakDecimation, 0); l <= min((lag16+2)*leakDecimation, len(far48)-win); l++ {
		if v := audio.NCC(near48, far48[l:l+win]); v > ncc {
			lag, ncc = l, v
		}
	}
	if old := samples(MaxDelay) - c.echoLag; old >= 0 && old+win <= len(far48) {
		oldNCC = audio.NCC(near48, far48[old:old+win])
	}
	d = samples(MaxDelay) - lag
	return d, ncc, oldNCC, true
}

// plainMove reports whether the microphone shows the echo plainly at a
// delay d other than the one the filter models: more than a sample away
// (a sample either way is the measurement's), with NCC at least ShiftNCC
// there and ShiftMargin more than at the old delay. While a person talks,
// or while the window straddles a stall, a side peak can otherwise win.
func (c *Canceller) plainMove(d int, ncc, oldNCC float64) bool {
	return abs(d-c.echoLag) > 1 && ncc >= ShiftNCC && ncc-oldNCC >= ShiftMargin
}

// ShiftNCC and ShiftMargin: see plainMove.
const (
	ShiftNCC    = 0.7
	ShiftMargin = 0.2
)

func abs(x int) int { return max(x, -x) }

// Double talk. While the filter learns, the person talking over the agent
// keeps the output from coming out ConvergedDB under the microphone, and
// would keep the filter from ever counting as converged (they stay muted
// until the agent stops). So frames in which the microphone is much louder
// than the echo can be count neither for nor against convergence, nor
// towards RelearnAfter. It is the Geigel detector (D. L. Duttweiler, "A
// Twelve-Channel Digital Echo Canceler", IEEE Trans. Commun. 1978) with
// the echo path's gain measured rather than assumed: the echo of the far
// end can be no louder than the loudest far-end frame it can come from
// times the gain measured with the delay (the microphone's energy over the
// far end's, aligned); a frame doubleTalkDB above that holds someone
// else. The filter meanwhile keeps adapting (speexdsp slows its
// learning rate in double talk), and the person's pauses, or the far end's
// frames they do not cover, tell when it has converged.
const doubleTalkDB = 6.0

// doubleTalk reports whether a microphone frame of energy nearE is louder
// than the echo can be: playedPeak, the loudest far-end frame the echo can
// come from at any delay the canceller looks for (played up to MaxDelay +
// Tail ago, so that an echo that has moved is not taken for a person),
// times the echo path's gain, plus doubleTalkDB.
func (c *Canceller) doubleTalk(nearE, playedPeak float64) bool {
	return c.echoGain > 0 && nearE > playedPeak*c.echoGain*math.Pow(10, doubleTalkDB/10)
}

// doubleTalkHold: a frame within this many frames of one found to be
// double talk counts as double talk too (a word's onset and its tail are
// quieter than the detector's margin; a Geigel detector's hangover, here
// on both sides, so the judgement of a frame waits this many frames).
const doubleTalkHold = 3

type frameVerdict struct{ far, good, doubleTalk bool }

// judge counts, doubleTalkHold frames late, the frames towards
// convergence: a frame of far end cancelled by ConvergedDB counts for it;
// one not cancelled counts against it (twice, so that a glitch now and
// then under load does not start the count over), unless double talk is
// near, and towards RelearnAfter.
func (c *Canceller) judge(v frameVerdict) {
	c.verdicts = append(c.verdicts, v)
	if len(c.verdicts) < 2*doubleTalkHold+1 {
		return
	}
	mid := c.verdicts[doubleTalkHold]
	dt := false
	for _, w := range c.verdicts {
		dt = dt || w.doubleTalk
	}
	c.verdicts = append(c.verdicts[:0], c.verdicts[1:]...)
	if !mid.far || c.converged {
		return
	}
	switch {
	case mid.good:
		if c.good++; c.good >= ConvergedFrames {
			c.converged, c.learning = true, 0
			return
		}
	case dt:
		return // the person's voice hides how well the echo is cancelled
	default:
		c.good = max(c.good-2, 0)
	}
	c.learning += audio.FrameDuration
}

// shiftProbation: for this long after following a move by shifting the
// reference, an output that still follows the far end for probeLeakFrames
// frames (it is muted meanwhile) starts the filter over.
const (
	shiftProbation  = time.Second
	probeLeakFrames = 15
)

// learnCheckEvery: while the filter learns, every this many frames of far
// end the microphone is checked for an echo that moved (about 1 ms each).
const learnCheckEvery = 5

// decimate averages every n samples into one (a box filter, enough for a
// correlation).
func decimate(x []int16, n int) []int16 {
	out := make([]int16, len(x)/n)
	for i := range out {
		s := 0
		for _, v := range x[i*n : i*n+n] {
			s += int(v)
		}
		out[i] = int16(s / n)
	}
	return out
}

// estimate gathers audio and, once a window is full, measures the bulk
// delay by cross-correlation (media/audio.BestLag, an FFT): at 16 kHz, then
// refined to the sample at 48 kHz. At 48 kHz the FFT of the window took
// 19 ms and 17 MB of buffers (a 2¹⁸-point transform); at 16 kHz it takes a
// ninth of the time and a quarter of the memory, and the refinement
// (audio.NCC at the 48 kHz lags within two 16 kHz samples of the peak)
// finds the same lag (TestDelayEstimate).
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
		ref := c.estFar[:win-samples(MaxDelay)]
		lag16, ncc := audio.BestLag(decimate(ref, leakDecimation), decimate(c.estNear, leakDecimation))
		lag := lag16 * leakDecimation
		if lag <= samples(MaxDelay) {
			ncc = math.Inf(-1)
			for l := max(lag-2*leakDecimation, 0); l <= min(lag+2*leakDecimation, len(c.estNear)-len(ref)); l++ {
				if v := audio.NCC(ref, c.estNear[l:l+len(ref)]); v > ncc {
					lag, ncc = l, v
				}
			}
		}
		if ncc >= MinCorrelation && lag <= samples(MaxDelay) {
			// The microphone's whole energy, not only the share that
			// correlated: a wandering delay or the room's non-linearity
			// also lowers the correlation, and an echo gain measured too
			// low would take the echo for a person. (A person talking
			// meanwhile makes it too high, which only makes the
			// double-talk detector stricter.)
			c.echoGain = energy(c.estNear[lag:lag+len(ref)]) / energy(ref)
			c.delay, c.echoLag = max(lag-samples(delayMargin), 0), lag
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
	// Resets counts the times the delay was measured again because the
	// filter diverged (its output louder than its input for half a second)
	// or did not converge within RelearnAfter.
	Resets int
	// Moves counts the times the echo moved to another delay (the sound
	// server or a device re-buffered) and the canceller followed it.
	Moves int
	// Delay is the measured bulk delay (0 until Aligned).
	Delay   time.Duration
	Aligned bool
	// Converged: the filter cancels; the echo is no longer muted wholesale.
	Converged bool
}

// Stats returns the canceller's recent performance.
func (c *Canceller) Stats() Stats {
	d, ok := c.Delay()
	return Stats{ERLE: c.health.erle(), Resets: c.health.resets, Moves: c.moves, Delay: d, Aligned: ok, Converged: c.converged}
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
