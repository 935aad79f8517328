package device

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"github.com/parley-app/parley/media/audio"
)

// playbackAhead is how much audio WriteFrame lets queue for the device before
// it blocks: 3 frames (60 ms) covers a 10 ms device period with margin.
const playbackAhead = 3 * audio.FrameSamples

// Playback is a speaker as an audio.Sink: WriteFrame queues 20 ms of 48 kHz
// mono int16 and blocks until the queue has room for it (at most 60 ms
// queued), so the writer runs on the device's clock. Close stops at once and
// drops what is still queued (a hang-up should be silent at once).
type Playback struct {
	c         *Context
	dev       *malgo.Device
	lost      chan struct{}
	lostOne   sync.Once
	mu        sync.Mutex
	ring      []int16
	r, n      int
	space     chan struct{}
	underruns atomic.Int64
	closed    atomic.Bool
	once      sync.Once
}

// OpenPlayback starts the speaker whose ID or name is id ("" for the system
// default). It returns an error wrapping ErrNoDevice when it cannot be opened.
func (c *Context) OpenPlayback(id string) (*Playback, error) {
	p := &Playback{
		ring:  make([]int16, playbackAhead+audio.FrameSamples),
		space: make(chan struct{}, 1),
		lost:  make(chan struct{}),
		c:     c,
	}
	dev, err := c.open(Speaker, id, p.onData, func() { p.lostOne.Do(func() { close(p.lost) }) })
	if err != nil {
		return nil, err
	}
	p.dev = dev
	return p, nil
}

// onData runs on miniaudio's thread and fills out with queued samples,
// silence where there are none.
func (p *Playback) onData(out, _ []byte, _ uint32) {
	want := len(out) / 2
	p.mu.Lock()
	got := min(want, p.n)
	for i := 0; i < got; i++ {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(p.ring[p.r]))
		p.r = (p.r + 1) % len(p.ring)
	}
	p.n -= got
	p.mu.Unlock()
	if got < want {
		clear(out[2*got:])
		if got > 0 {
			p.underruns.Add(1)
		}
	}
	select {
	case p.space <- struct{}{}:
	default:
	}
}

// WriteFrame implements audio.Sink. It returns os.ErrClosed after Close and
// ErrDeviceLost once the backend has stopped the device on its own.
func (p *Playback) WriteFrame(ctx context.Context, f []int16) error {
	if len(f) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	for {
		if p.closed.Load() {
			return os.ErrClosed
		}
		p.mu.Lock()
		if p.n+len(f) <= playbackAhead {
			w := (p.r + p.n) % len(p.ring)
			for _, s := range f {
				p.ring[w] = s
				w = (w + 1) % len(p.ring)
			}
			p.n += len(f)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		t := time.NewTimer(audio.FrameDuration)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-p.lost:
			t.Stop()
			if p.closed.Load() {
				return os.ErrClosed
			}
			return ErrDeviceLost
		case <-p.space:
		case <-t.C: // the device stalled; re-check rather than hang
		}
		t.Stop()
	}
}

// deviceBuffer is what the device itself holds beyond Playback's queue: two
// of the 10 ms periods it is opened with (an estimate: miniaudio and the
// sound server do not report their own latency through malgo).
const deviceBuffer = 20 * time.Millisecond

// Latency estimates how long the frame WriteFrame last queued takes to be
// heard: the audio queued before it plus the device's buffer.
func (p *Playback) Latency() time.Duration {
	p.mu.Lock()
	before := max(p.n-audio.FrameSamples, 0)
	p.mu.Unlock()
	return time.Duration(before)*time.Second/audio.SampleRate + deviceBuffer
}

// Underruns counts device periods that ran out of queued audio mid-stream.
func (p *Playback) Underruns() int64 { return p.underruns.Load() }

// Close stops and releases the device; it is safe to call twice. It returns
// ErrStuck if the backend did not stop the device within 3 s.
func (p *Playback) Close() error {
	var err error
	p.once.Do(func() {
		p.closed.Store(true)
		err = p.c.uninit(p.dev)
	})
	return err
}
