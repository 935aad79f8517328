package device

import (
	"context"
	"sync"

	"github.com/gen2brain/malgo"
)

// Capture is a microphone as an audio.Source: 20 ms frames of 48 kHz mono
// int16, delivered at the device's pace.
type Capture struct {
	c    *Context
	dev  *malgo.Device
	q    *inQueue
	done chan struct{}   // closed by Close
	lost <-chan struct{} // closed when the backend stops the device
	once sync.Once
}

// OpenCapture starts capturing from the microphone whose ID or name is id
// ("" for the system default). It returns an error wrapping ErrNoDevice when
// the device cannot be opened.
func (c *Context) OpenCapture(id string) (*Capture, error) {
	cp := &Capture{q: newInQueue(), done: make(chan struct{}), c: c}
	dev, lost, err := c.open(malgo.Capture, id, "", func(_, in []byte, _ uint32) { cp.q.push(in, nil) })
	if err != nil {
		return nil, err
	}
	cp.lost = lost
	cp.dev = dev
	return cp, nil
}

// ReadFrame implements audio.Source. It returns io.EOF after Close and
// ErrDeviceLost once the backend has stopped the device on its own.
func (cp *Capture) ReadFrame(ctx context.Context, f []int16) error {
	return cp.q.read(ctx, f, nil, cp.done, cp.lost)
}

// Dropped returns how many frames were dropped because the reader lagged.
func (cp *Capture) Dropped() int64 { return cp.q.dropped.Load() }

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
