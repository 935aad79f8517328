package device

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-app/parley/media/audio"
)

// captureQueue is how many 20 ms frames may wait for the reader (500 ms);
// past that the oldest is dropped so a stalled reader never builds latency.
const captureQueue = 25

// frame is one captured 20 ms frame and, from a duplex device, what the
// speaker was given in the same device periods.
type frame struct{ near, far []int16 }

// inQueue turns the capture callback's samples into 20 ms frames for the
// reader.
type inQueue struct {
	frames  chan frame
	acc     []int16 // captured samples not yet a whole frame
	farAcc  []int16 // played samples in step with acc (duplex only)
	dropped atomic.Int64
}

func newInQueue() *inQueue {
	return &inQueue{frames: make(chan frame, captureQueue), acc: make([]int16, 0, 2*audio.FrameSamples)}
}

// push runs on miniaudio's thread with little-endian S16 mono samples; far,
// when not nil, holds as many samples played in the same periods.
func (q *inQueue) push(in []byte, far []int16) {
	for i := 0; i+1 < len(in); i += 2 {
		q.acc = append(q.acc, int16(binary.LittleEndian.Uint16(in[i:])))
	}
	q.farAcc = append(q.farAcc, far...)
	for len(q.acc) >= audio.FrameSamples {
		f := frame{near: make([]int16, audio.FrameSamples)}
		copy(f.near, q.acc)
		q.acc = append(q.acc[:0], q.acc[audio.FrameSamples:]...)
		if far != nil {
			f.far = make([]int16, audio.FrameSamples)
			copy(f.far, q.farAcc)
			q.farAcc = append(q.farAcc[:0], q.farAcc[audio.FrameSamples:]...)
		}
		select {
		case q.frames <- f:
		default: // reader stalled: drop the oldest frame, keep the newest
			select {
			case <-q.frames:
				q.dropped.Add(1)
			default:
			}
			select {
			case q.frames <- f:
			default:
			}
		}
	}
}

// read waits for the next frame and copies it into near and, when far is
// not nil, its reference into far (both FrameSamples long, else
// audio.ErrFrameSize). It returns io.EOF once done is closed and
// ErrDeviceLost once lost is closed (and done is not).
func (q *inQueue) read(ctx context.Context, near, far []int16, done, lost <-chan struct{}) error {
	if len(near) != audio.FrameSamples || (far != nil && len(far) != audio.FrameSamples) {
		return audio.ErrFrameSize
	}
	select {
	case <-done:
		return io.EOF
	default:
	}
	select {
	case f := <-q.frames:
		copy(near, f.near)
		if far != nil {
			copy(far, f.far)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return io.EOF
	case <-lost:
		select {
		case <-done: // our own Close stopped it
			return io.EOF
		default:
			return ErrDeviceLost
		}
	}
}

// playbackAhead is how much audio WriteFrame lets queue for the device before
// it blocks: 3 frames (60 ms) covers the 30 ms device period, which
// PulseAudio may ask for at once, with a frame of margin.
const playbackAhead = 3 * audio.FrameSamples

// outQueue holds what WriteFrame gave the speaker until the playback
// callback takes it.
type outQueue struct {
	mu        sync.Mutex
	ring      []int16
	r, n      int
	space     chan struct{}
	underruns atomic.Int64
	closed    atomic.Bool
}

func newOutQueue() *outQueue {
	return &outQueue{ring: make([]int16, playbackAhead+audio.FrameSamples), space: make(chan struct{}, 1)}
}

// fill runs on miniaudio's thread: it writes queued samples into out
// (little-endian S16 mono), silence where there are none, and returns what
// it wrote as samples in played (reused; nil to skip).
func (q *outQueue) fill(out []byte, played []int16) []int16 {
	want := len(out) / 2
	keep := played != nil
	played = played[:0]
	q.mu.Lock()
	got := min(want, q.n)
	for i := 0; i < got; i++ {
		s := q.ring[q.r]
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
		if keep {
			played = append(played, s)
		}
		q.r = (q.r + 1) % len(q.ring)
	}
	q.n -= got
	q.mu.Unlock()
	if got < want {
		clear(out[2*got:])
		if keep {
			for range want - got {
				played = append(played, 0)
			}
		}
		if got > 0 {
			q.underruns.Add(1)
		}
	}
	select {
	case q.space <- struct{}{}:
	default:
	}
	return played
}

// write queues f, blocking until there is room. It returns os.ErrClosed
// once closed and ErrDeviceLost once lost is closed.
func (q *outQueue) write(ctx context.Context, f []int16, lost <-chan struct{}) error {
	if len(f) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	for {
		if q.closed.Load() {
			return os.ErrClosed
		}
		select {
		case <-lost: // gone: say so now, not once the queue is full
			return ErrDeviceLost
		default:
		}
		q.mu.Lock()
		if q.n+len(f) <= playbackAhead {
			w := (q.r + q.n) % len(q.ring)
			for _, s := range f {
				q.ring[w] = s
				w = (w + 1) % len(q.ring)
			}
			q.n += len(f)
			q.mu.Unlock()
			return nil
		}
		q.mu.Unlock()
		t := time.NewTimer(audio.FrameDuration)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-lost:
			t.Stop()
			if q.closed.Load() {
				return os.ErrClosed
			}
			return ErrDeviceLost
		case <-q.space:
		case <-t.C: // the device stalled; re-check rather than hang
		}
		t.Stop()
	}
}

// deviceBuffer is what the device itself holds beyond the queue: two of the
// periods it is opened with (an estimate: miniaudio and the sound server do
// not report their own latency through malgo).
func deviceBuffer() time.Duration { return 2 * period }

// latency estimates how long the frame write last queued takes to be
// heard: the audio queued before it plus the device's buffer.
func (q *outQueue) latency() time.Duration {
	q.mu.Lock()
	before := max(q.n-audio.FrameSamples, 0)
	q.mu.Unlock()
	return time.Duration(before)*time.Second/audio.SampleRate + deviceBuffer()
}
