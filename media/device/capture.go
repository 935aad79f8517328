package device

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"

	"github.com/gen2brain/malgo"

	"github.com/parley-app/parley/media/audio"
)

// captureQueue is how many 20 ms frames may wait for the reader (500 ms);
// past that the oldest is dropped so a stalled reader never builds latency.
const captureQueue = 25

// Capture is a microphone as an audio.Source: 20 ms frames of 48 kHz mono
// int16, delivered at the device's pace.
type Capture struct {
	c       *Context
	dev     *malgo.Device
	frames  chan []int16
	acc     []int16
	dropped atomic.Int64
	done    chan struct{} // closed by Close
	lost    chan struct{} // closed when the backend stops the device
	lostOne sync.Once
	once    sync.Once
}

// OpenCapture starts capturing from the microphone whose ID or name is id
// ("" for the system default). It returns an error wrapping ErrNoDevice when
// the device cannot be opened.
func (c *Context) OpenCapture(id string) (*Capture, error) {
	cp := &Capture{
		frames: make(chan []int16, captureQueue),
		acc:    make([]int16, 0, 2*audio.FrameSamples),
		done:   make(chan struct{}),
		lost:   make(chan struct{}),
		c:      c,
	}
	dev, err := c.open(Microphone, id, cp.onData, func() { cp.lostOne.Do(func() { close(cp.lost) }) })
	if err != nil {
		return nil, err
	}
	cp.dev = dev
	return cp, nil
}

// onData runs on miniaudio's thread with little-endian S16 mono samples.
func (cp *Capture) onData(_, in []byte, _ uint32) {
	for i := 0; i+1 < len(in); i += 2 {
		cp.acc = append(cp.acc, int16(binary.LittleEndian.Uint16(in[i:])))
	}
	for len(cp.acc) >= audio.FrameSamples {
		f := make([]int16, audio.FrameSamples)
		copy(f, cp.acc)
		cp.acc = append(cp.acc[:0], cp.acc[audio.FrameSamples:]...)
		select {
		case cp.frames <- f:
		default: // reader stalled: drop the oldest frame, keep the newest
			select {
			case <-cp.frames:
				cp.dropped.Add(1)
			default:
			}
			select {
			case cp.frames <- f:
			default:
			}
		}
	}
}

// ReadFrame implements audio.Source. It returns io.EOF after Close and
// ErrDeviceLost once the backend has stopped the device on its own.
func (cp *Capture) ReadFrame(ctx context.Context, f []int16) error {
	if len(f) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	select {
	case <-cp.done:
		return io.EOF
	default:
	}
	select {
	case fr := <-cp.frames:
		copy(f, fr)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-cp.done:
		return io.EOF
	case <-cp.lost:
		select {
		case <-cp.done: // our own Close stopped it
			return io.EOF
		default:
			return ErrDeviceLost
		}
	}
}

// Dropped returns how many frames were dropped because the reader lagged.
func (cp *Capture) Dropped() int64 { return cp.dropped.Load() }

// Close stops and releases the device; it is safe to call twice. It returns
// ErrStuck if the backend did not stop the device within 3 s.
func (cp *Capture) Close() error {
	var err error
	cp.once.Do(func() {
		close(cp.done)
		err = cp.c.uninit(cp.dev) // stops the device and waits for its callback
	})
	return err
}
