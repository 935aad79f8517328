package device

import (
	"context"
	"sync"
	"time"

	"github.com/gen2brain/malgo"
)

// Playback is a speaker as an audio.Sink: WriteFrame queues 20 ms of 48 kHz
// mono int16 and blocks until the queue has room for it (at most 60 ms
// queued), so the writer runs on the device's clock. Close stops at once and
// drops what is still queued (a hang-up should be silent at once).
type Playback struct {
	c    *Context
	dev  *malgo.Device
	q    *outQueue
	lost <-chan struct{} // closed when the backend stops the device
	once sync.Once
}

// OpenPlayback starts the speaker whose ID or name is id ("" for the system
// default). It returns an error wrapping ErrNoDevice when it cannot be opened.
func (c *Context) OpenPlayback(id string) (*Playback, error) {
	p := &Playback{q: newOutQueue(), c: c}
	dev, lost, err := c.open(malgo.Playback, "", id, func(out, _ []byte, _ uint32) { p.q.fill(out, nil) })
	if err != nil {
		return nil, err
	}
	p.lost = lost
	p.dev = dev
	return p, nil
}

// WriteFrame implements audio.Sink. It returns os.ErrClosed after Close and
// ErrDeviceLost once the backend has stopped the device on its own.
func (p *Playback) WriteFrame(ctx context.Context, f []int16) error {
	return p.q.write(ctx, f, p.lost)
}

// Latency estimates how long the frame WriteFrame last queued takes to be
// heard: the audio queued before it plus the device's buffer.
func (p *Playback) Latency() time.Duration { return p.q.latency() }

// Underruns counts device periods that ran out of queued audio mid-stream.
func (p *Playback) Underruns() int64 { return p.q.underruns.Load() }

// Close stops and releases the device; it is safe to call twice. It returns
// ErrStuck if the backend did not stop the device within 3 s.
func (p *Playback) Close() error {
	var err error
	p.once.Do(func() {
		p.q.closed.Store(true)
		err = p.c.uninit(p.dev)
	})
	return err
}
