// Package audio holds Parley's PCM conventions: the 20 ms frame of 48 kHz mono
// signed 16-bit samples that every source, sink and codec in media exchanges,
// the Source and Sink interfaces shared by devices and files, a real-time
// pacer, a level meter and a resampler.
package audio

import (
	"context"
	"errors"
	"math"
	"time"
)

// The frame format used everywhere in Parley's media path. Opus (RFC 6716)
// runs at 48 kHz; 20 ms is the frame length WebRTC uses by default (RFC 7587).
const (
	SampleRate    = 48000                 // Hz
	Channels      = 1                     // mono
	FrameDuration = 20 * time.Millisecond // one frame
	FrameSamples  = SampleRate / 50       // 960 samples per 20 ms frame
)

// ErrFrameSize is returned when a frame is not exactly FrameSamples long.
var ErrFrameSize = errors.New("audio: frame must hold 960 samples (20 ms at 48 kHz mono)")

// Source produces audio in real time, a 20 ms frame at a time.
//
// ReadFrame fills f (len FrameSamples, 48 kHz mono int16) with the next frame,
// blocking until that frame is due, so a caller that loops on ReadFrame is
// paced at one frame per 20 ms. It returns io.EOF when the source has ended,
// ctx.Err() when ctx is done, and ErrFrameSize for a wrongly sized f.
type Source interface {
	ReadFrame(ctx context.Context, f []int16) error
	Close() error
}

// Sink consumes audio in real time, a 20 ms frame at a time.
//
// WriteFrame takes f (len FrameSamples, 48 kHz mono int16) and blocks while the
// sink is a full frame ahead of real time, so a writer is paced by the sink's
// clock. It returns ctx.Err() when ctx is done and ErrFrameSize for a wrongly
// sized f. Close flushes what was written.
type Sink interface {
	WriteFrame(ctx context.Context, f []int16) error
	Close() error
}

// ReferencedSource is a Source that can pair each captured frame with the
// far-end reference an echo canceller needs: what the speaker was given
// during the same device periods (a duplex device, media/device.Duplex).
// ReadFrameRef fills near with the next frame, as ReadFrame does, and far
// (len FrameSamples) with that reference; errors are ReadFrame's.
type ReferencedSource interface {
	Source
	ReadFrameRef(ctx context.Context, near, far []int16) error
}

// Latencer is an optional ability of a Sink (found by type assertion): how
// long after WriteFrame returns the frame it took is heard. A Sink without
// it is taken to play a frame as soon as it is written.
type Latencer interface {
	Latency() time.Duration
}

// Pacer releases one tick per FrameDuration against the monotonic clock,
// starting at the first call to Wait. Late ticks are not bunched up beyond
// maxLag: after a stall the pacer resynchronises instead of bursting.
type Pacer struct {
	start time.Time
	n     int64
}

// maxLag is how far behind schedule a Pacer may fall before it resynchronises.
const maxLag = 200 * time.Millisecond

// Wait blocks until the next 20 ms tick is due. It returns ctx.Err() if ctx
// ends first.
func (p *Pacer) Wait(ctx context.Context) error {
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	due := p.start.Add(time.Duration(p.n) * FrameDuration)
	if now.Sub(due) > maxLag {
		p.start, p.n = now, 0
		due = now
	}
	p.n++
	if d := due.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// RMS returns the root mean square of f, normalised so that a full-scale
// square wave is 1.0. It returns 0 for an empty f.
func RMS(f []int16) float64 {
	if len(f) == 0 {
		return 0
	}
	var sum float64
	for _, s := range f {
		v := float64(s) / 32768
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(f)))
}

// Level maps the RMS of f onto 0..1 for a level meter: -60 dBFS and below is
// 0, 0 dBFS is 1, linear in dB in between.
func Level(f []int16) float64 {
	r := RMS(f)
	if r <= 0 {
		return 0
	}
	db := 20 * math.Log10(r)
	switch {
	case db <= -60:
		return 0
	case db >= 0:
		return 1
	}
	return (db + 60) / 60
}

// DecodeS16LE converts raw signed 16-bit little-endian PCM bytes to samples;
// a trailing odd byte is ignored.
func DecodeS16LE(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return out
}
