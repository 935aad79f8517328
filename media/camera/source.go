package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"
)

// ErrClosed is returned by Source.Read once the source is closed.
var ErrClosed = errors.New("camera: source closed")

// maxReadErrors is how many reads in a row may fail (a camera's read
// times out after 5 s) before capture stops with the error.
const maxReadErrors = 3

// device is where a Source's pictures come from.
type device interface {
	// read returns the next picture and a function that gives its buffer
	// back (called once the picture has been converted). It blocks for
	// about one frame interval, at most for the driver's own timeout.
	read() (img image.Image, release func(), err error)
	// close stops the device; read is not called after it.
	close() error
}

// owned marks a picture the device made for this frame alone: when it is
// already a frame of the preset (4:2:0, the preset's size) it is published
// as it is, without a copy.
type owned struct{ *image.YCbCr }

// Source captures one video source. Frames are 4:2:0 *image.YCbCr of the
// preset's size (Width×Height, origin 0,0), at most FrameRate a second;
// each is a new image that is never written again, so a caller may keep
// any frame it is given. Read and Latest are safe for concurrent use;
// Read has one consumer (each frame goes to one Read).
type Source struct {
	info   Info
	preset Preset
	log    *slog.Logger
	dev    device
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	frame   *image.YCbCr  // latest frame; nil before the first
	seq     uint64        // frames published
	readSeq uint64        // the seq Read returned last
	fresh   chan struct{} // closed and replaced at each frame and when capture ends
	err     error         // why capture ended; nil while it runs
}

// Open starts capturing the video source id (an Info.ID from Devices; ""
// for the first camera) at preset p. log may be nil. It returns an error
// wrapping ErrNotFound if there is no such source now, ErrBusy if it is
// being captured already, or the driver's error; no goroutine is left
// running on error.
func Open(id string, p Preset, log *slog.Logger) (*Source, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if id == "" {
		if id = firstCamera(); id == "" {
			return nil, fmt.Errorf("%w: no camera is connected; choose the test pattern or the screen in the settings", ErrNotFound)
		}
	}
	s := newSource(p)
	if id == TestPatternID {
		s.start(Info{ID: TestPatternID, Label: "Test pattern", Kind: TestPattern},
			newPattern(p.Width, p.Height, image.YCbCrSubsampleRatio420, p.FrameInterval(), s.stop), log)
		return s, nil
	}
	info, dev, err := openDriver(id, p)
	if err != nil {
		return nil, err
	}
	s.start(info, dev, log)
	return s, nil
}

func newSource(p Preset) *Source {
	return &Source{preset: p, stop: make(chan struct{}), done: make(chan struct{}), fresh: make(chan struct{})}
}

// start runs capture from dev.
func (s *Source) start(info Info, dev device, log *slog.Logger) {
	s.info, s.dev = info, dev
	s.log = log.With("component", "camera", "source", info.ID)
	go s.capture()
}

// Info returns what the source is.
func (s *Source) Info() Info { return s.info }

// Preset returns the size, frame rate and bit rate the source was opened
// with.
func (s *Source) Preset() Preset { return s.preset }

// Read waits for the next frame not yet returned by Read and returns it:
// a 4:2:0 *image.YCbCr of the preset's size that the caller may keep. A
// slow reader skips to the latest frame; frames are never queued. It
// returns ctx's error, ErrClosed after Close, or the device's error if
// capture stopped on its own (a camera unplugged).
func (s *Source) Read(ctx context.Context) (image.Image, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return nil, err
		}
		if s.frame != nil && s.seq != s.readSeq {
			s.readSeq = s.seq
			f := s.frame
			s.mu.Unlock()
			return f, nil
		}
		fresh := s.fresh
		s.mu.Unlock()
		select {
		case <-fresh:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Latest returns the most recent frame, a 4:2:0 *image.YCbCr of the
// preset's size that the caller may keep (capture never writes to it
// again); nil before the first frame. It is for a self-view: it does not
// take the frame from Read, and it costs no copy.
func (s *Source) Latest() image.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frame == nil {
		return nil
	}
	return s.frame
}

// Err returns the device's error if capture stopped on its own (a camera
// unplugged, reads failing); nil while capture runs or once Close stopped
// it.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.err, ErrClosed) {
		return nil
	}
	return s.err
}

// Close stops capture and releases the device. It waits for the capture
// goroutine: at most one frame interval for the test pattern and the
// screen, for a stalled camera at most its driver's read timeout (5 s).
// It is safe to call twice; it returns the device's error on close.
func (s *Source) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.end(ErrClosed)
		err = s.dev.close()
	})
	<-s.done
	return err
}

// capture reads the device until Close, converting at most FrameRate
// pictures a second into new frames.
func (s *Source) capture() {
	defer close(s.done)
	var (
		scratch *image.RGBA // conversion buffer, reused
		pace    pacer
		fails   int
	)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		img, release, err := s.dev.read()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if fails++; fails < maxReadErrors {
				s.log.Debug("read failed", "err", err)
				continue
			}
			s.log.Warn("capture stopped", "err", err)
			s.end(fmt.Errorf("camera: reading %s: %w", s.info.Label, err))
			return
		}
		fails = 0
		now := time.Now()
		if !pace.due(now, s.preset.FrameInterval()) {
			if release != nil {
				release()
			}
			continue
		}
		var f *image.YCbCr
		if o, ok := img.(owned); ok {
			if img = o.YCbCr; isFrame(o.YCbCr, s.preset) {
				f = o.YCbCr
			}
		}
		if f == nil {
			f = image.NewYCbCr(image.Rect(0, 0, s.preset.Width, s.preset.Height), image.YCbCrSubsampleRatio420)
			scratch = convert(f, img, scratch)
		}
		if release != nil {
			release()
		}
		s.publish(f)
	}
}

func (s *Source) publish(f *image.YCbCr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frame = f
	s.seq++
	close(s.fresh)
	s.fresh = make(chan struct{})
}

// end records why capture stopped and wakes Read.
func (s *Source) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	close(s.fresh)
	s.fresh = make(chan struct{})
}

// pacer drops pictures that come early, so a device faster than the preset
// (a 30 fps camera for 15 fps) yields one every interval.
type pacer struct{ next time.Time }

// due reports whether a picture arriving at now is kept. A quarter of an
// interval of slack keeps a device that runs at the preset rate, with some
// jitter, from losing frames.
func (p *pacer) due(now time.Time, interval time.Duration) bool {
	if !p.next.IsZero() && now.Before(p.next.Add(-interval/4)) {
		return false
	}
	if p.next.IsZero() || now.Sub(p.next) > interval {
		p.next = now // started, or fell behind: do not try to catch up
	}
	p.next = p.next.Add(interval)
	return true
}

// isFrame reports whether f is already a frame of p: 4:2:0, p's size, at
// the origin.
func isFrame(f *image.YCbCr, p Preset) bool {
	return f.SubsampleRatio == image.YCbCrSubsampleRatio420 && f.Rect == image.Rect(0, 0, p.Width, p.Height)
}
