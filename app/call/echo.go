package call

import (
	"sync"

	"github.com/parley-app/parley/media/audio"
)

// farEnd hands the echo canceller what the speaker was given, in step with
// the microphone. Both devices run at 48 kHz on their own clocks and
// deliver in bursts (the sound server's fragments), so frames are matched
// by count, not by arrival time: the speaker's frame k goes with the
// microphone's frame k − offset, where offset is fixed at the first
// microphone frame. The echo then always trails its reference by the same
// device latency, which the adaptive filter learns. If the two clocks
// drift apart by more than maxSkew frames the pairing is re-made (a jump the
// filter must re-learn), and counted; a microphone frame with no speaker
// frame yet gets silence.
type farEnd struct {
	mu      sync.Mutex
	ring    [][]int16 // the last len(ring) frames given to the speaker
	pushed  int64     // frames given to the speaker
	popped  int64     // microphone frames paired
	offset  int64     // speaker frame = microphone frame + offset
	started bool
	realign int // times the pairing was re-made
}

const (
	farRing = 64 // 1.28 s of the speaker
	maxSkew = 25 // 500 ms of drift before re-pairing
)

func newFarEnd() *farEnd {
	f := &farEnd{ring: make([][]int16, farRing)}
	for i := range f.ring {
		f.ring[i] = make([]int16, audio.FrameSamples)
	}
	return f
}

func (f *farEnd) push(frame []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	copy(f.ring[f.pushed%farRing], frame)
	f.pushed++
}

// pop fills dst with the speaker frame paired with the next microphone
// frame, or silence.
func (f *farEnd) pop(dst []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.popped
	f.popped++
	if !f.started {
		if f.pushed == 0 {
			clear(dst)
			return
		}
		f.started, f.offset = true, f.pushed-1-m
	}
	if skew := (f.pushed - 1 - m) - f.offset; skew > maxSkew || skew < -maxSkew {
		f.offset = f.pushed - 1 - m
		f.realign++
	}
	k := m + f.offset
	if k >= f.pushed || k < f.pushed-farRing || k < 0 {
		clear(dst) // the microphone ran ahead: no speaker frame yet
		return
	}
	copy(dst, f.ring[k%farRing])
}

// realigned returns how often the pairing was re-made (0 for a nil f, when
// a duplex device pairs the frames itself).
func (f *farEnd) realigned() int {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.realign
}
