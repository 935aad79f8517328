package device

import (
	"context"
	"sync"
	"time"

	"github.com/gen2brain/malgo"

	"github.com/parley-app/parley/media/audio"
)

// Duplex is a microphone and a speaker opened as one miniaudio duplex
// device: one callback both takes the captured period and gives the
// speaker the period to play, so every captured frame can be paired with
// what was played in the same periods (ReadFrameRef), and a late reader
// does not shift the delay an echo canceller (media/aec) sees.
//
// How steady that delay is depends on the backend. On synchronous backends
// (ALSA) miniaudio runs both directions in one read/write loop on one
// clock. On asynchronous ones (PulseAudio) it joins the two streams through
// a ring buffer of 5 periods, 2 of them filled at the start: a stall that
// outlasts that slack plays silence the reference does not show, or drops
// captured audio, and the echo's delay moves by the stall (3–38 ms, once
// in most 8.6 s runs of TestDuplex between two null sinks; the canceller's
// leak detector follows such a move). Both sides use 20 ms frames of
// 48 kHz mono int16, as Capture and Playback do; Duplex is an audio.Source,
// an audio.Sink and an audio.ReferencedSource.
type Duplex struct {
	c      *Context
	dev    *malgo.Device
	in     *inQueue
	out    *outQueue
	played []int16 // the callback's played period, reused
	done   chan struct{}
	lost   <-chan struct{} // closed when the backend stops the device
	once   sync.Once
}

// OpenDuplex starts the microphone micID and the speaker spkID (IDs or
// names; "" for the system default) as one duplex device. It returns an
// error wrapping ErrNoDevice when either is missing or the backend cannot
// open them together.
func (c *Context) OpenDuplex(micID, spkID string) (*Duplex, error) {
	d := &Duplex{in: newInQueue(), out: newOutQueue(), played: make([]int16, 0, 4*audio.FrameSamples),
		done: make(chan struct{}), c: c}
	dev, lost, err := c.open(malgo.Duplex, micID, spkID, d.onData)
	if err != nil {
		return nil, err
	}
	d.lost = lost
	d.dev = dev
	return d, nil
}

// onData runs on miniaudio's thread: out (to play) and in (captured) hold
// the same number of S16 mono frames.
func (d *Duplex) onData(out, in []byte, _ uint32) {
	d.played = d.out.fill(out, d.played)
	d.in.push(in, d.played)
}

// ReadFrame implements audio.Source: the next captured 20 ms frame. It
// returns io.EOF after Close and ErrDeviceLost once the backend has stopped
// the device on its own.
func (d *Duplex) ReadFrame(ctx context.Context, f []int16) error {
	return d.in.read(ctx, f, nil, d.done, d.lost)
}

// ReadFrameRef implements audio.ReferencedSource: the next captured frame
// in near and, in far, what the speaker was given in the same device
// periods (silence where WriteFrame had nothing queued). Errors are
// ReadFrame's.
func (d *Duplex) ReadFrameRef(ctx context.Context, near, far []int16) error {
	return d.in.read(ctx, near, far, d.done, d.lost)
}

// WriteFrame implements audio.Sink, as Playback's does: at most 60 ms
// queued, then it blocks. It returns os.ErrClosed after Close and
// ErrDeviceLost once the backend has stopped the device on its own.
func (d *Duplex) WriteFrame(ctx context.Context, f []int16) error {
	return d.out.write(ctx, f, d.lost)
}

// Latency estimates how long the frame WriteFrame last queued takes to be
// heard (audio.Latencer).
func (d *Duplex) Latency() time.Duration { return d.out.latency() }

// Dropped returns how many captured frames were dropped because the reader
// lagged.
func (d *Duplex) Dropped() int64 { return d.in.dropped.Load() }

// Underruns counts device periods that ran out of queued audio to play
// mid-stream.
func (d *Duplex) Underruns() int64 { return d.out.underruns.Load() }

// Close stops and releases the device (both directions; what is queued to
// play is dropped); it is safe to call twice. It returns ErrStuck if the
// backend did not stop the device within 3 s.
func (d *Duplex) Close() error {
	var err error
	d.once.Do(func() {
		close(d.done)
		d.out.closed.Store(true)
		err = d.c.uninit(d.dev)
	})
	return err
}
