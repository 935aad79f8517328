// Package turn decides when the caller has started and finished a turn from
// per-frame voice activity, in the manner of FastRTC's ReplyOnPause: a turn
// starts after MinSpeech of speech and ends after EndSilence of silence.
package turn

import "time"

// Defaults for reply-on-pause.
const (
	DefaultMinSpeech  = 200 * time.Millisecond
	DefaultEndSilence = 500 * time.Millisecond
)

// Event is what a frame caused.
type Event int

const (
	None      Event = iota
	Start           // the caller has spoken for MinSpeech: a turn has begun
	EndOfTurn       // the caller has been silent for EndSilence after a turn
	Discarded       // a blip shorter than MinSpeech ended; forget it
)

// Detector tracks one caller's turns. Feed it one VAD decision per frame.
type Detector struct {
	MinSpeech  time.Duration
	EndSilence time.Duration
	Frame      time.Duration // length of one frame, e.g. 20 ms

	speech, silence time.Duration
	inTurn          bool
}

// NewDetector returns a detector with the default thresholds for frames of
// the given length.
func NewDetector(frame time.Duration) *Detector {
	return &Detector{MinSpeech: DefaultMinSpeech, EndSilence: DefaultEndSilence, Frame: frame}
}

// Push takes one frame's VAD decision and returns what it caused.
func (d *Detector) Push(speech bool) Event {
	if speech {
		d.silence = 0
		d.speech += d.Frame
		if !d.inTurn && d.speech >= d.MinSpeech {
			d.inTurn = true
			return Start
		}
		return None
	}
	d.silence += d.Frame
	switch {
	case d.inTurn && d.silence >= d.EndSilence:
		d.Reset()
		return EndOfTurn
	case !d.inTurn && d.speech > 0 && d.silence >= d.EndSilence:
		d.Reset()
		return Discarded
	}
	return None
}

// InTurn reports whether a turn has started and not yet ended.
func (d *Detector) InTurn() bool { return d.inTurn }

// Active reports whether there is any speech pending (a turn, or a blip that
// may become one).
func (d *Detector) Active() bool { return d.inTurn || d.speech > 0 }

// Reset forgets the current turn.
func (d *Detector) Reset() { d.speech, d.silence, d.inTurn = 0, 0, false }
