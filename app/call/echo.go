package call

import (
	"sync"

	"github.com/parley-app/parley/media/audio"
)

// farEnd hands the echo canceller what the speaker was given, frame by
// frame, in step with the microphone. The playout loop pushes each frame as
// it gives it to the speaker; the microphone loop pops one per captured
// frame. Both run at the devices' pace, so the queue stays short; it is
// held to maxFar frames (the oldest dropped) so the reference never lags
// the echo it must cancel (the echo comes later than the frame is written:
// after the speaker's buffer, the room and the microphone's buffer), and an
// empty queue gives silence. Drops and gaps count how often the two
// devices' clocks disagreed.
type farEnd struct {
	mu     sync.Mutex
	q      [][]int16
	free   [][]int16
	drops  int // frames dropped: the speaker ran ahead of the microphone
	gaps   int // silence given: the microphone ran ahead of the speaker
	silent []int16
}

// maxFar is how many frames of the speaker the queue holds: 40 ms.
const maxFar = 2

func newFarEnd() *farEnd { return &farEnd{silent: make([]int16, audio.FrameSamples)} }

func (f *farEnd) push(frame []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []int16
	if n := len(f.free); n > 0 {
		b, f.free = f.free[n-1], f.free[:n-1]
	} else {
		b = make([]int16, audio.FrameSamples)
	}
	copy(b, frame)
	f.q = append(f.q, b)
	for len(f.q) > maxFar {
		f.free = append(f.free, f.q[0])
		f.q = f.q[1:]
		f.drops++
	}
}

// pop returns the next far-end frame (valid until the next pop), or
// silence.
func (f *farEnd) pop(dst []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) == 0 {
		copy(dst, f.silent)
		f.gaps++
		return
	}
	copy(dst, f.q[0])
	f.free = append(f.free, f.q[0])
	f.q = f.q[1:]
}

func (f *farEnd) counts() (drops, gaps int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops, f.gaps
}
