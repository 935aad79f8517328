package camera

import (
	"errors"
	"fmt"
	"image"
	"sort"
	"strings"
	"syscall"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// mdDevice is a mediadevices driver that is recording.
type mdDevice struct {
	d driver.Driver
	r video.Reader
}

func (m *mdDevice) read() (image.Image, func(), error) { return m.r.Read() }
func (m *mdDevice) close() error                       { return m.d.Close() }

// openDriver opens the camera or screen id and starts it recording in the
// format that suits p best (choose).
func openDriver(id string, p Preset) (Info, device, error) {
	scanMu.Lock()
	defer scanMu.Unlock()
	d := lookup(id)
	if d == nil {
		switch {
		case strings.HasPrefix(id, cameraPrefix):
			return Info{}, nil, fmt.Errorf("%w: the camera %q is not connected (unplugged?); choose another one in the settings", ErrNotFound, strings.TrimPrefix(id, cameraPrefix))
		case strings.HasPrefix(id, screenPrefix):
			return Info{}, nil, fmt.Errorf("%w: the screen %q is not available: there is no X display (DISPLAY) to capture", ErrNotFound, strings.TrimPrefix(id, screenPrefix))
		}
		return Info{}, nil, fmt.Errorf("%w: there is no video source %q; choose one in the settings", ErrNotFound, id)
	}
	info, _ := describe(d)
	if err := d.Open(); err != nil {
		switch {
		case d.Status() != driver.StateClosed:
			return Info{}, nil, fmt.Errorf("%w: %s is being captured already", ErrBusy, info.Label)
		case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV):
			return Info{}, nil, fmt.Errorf("%w: the camera %q is not connected any more (unplugged?); choose another one in the settings", ErrNotFound, info.Label)
		case errors.Is(err, syscall.EBUSY):
			return Info{}, nil, fmt.Errorf("%w: %s is being used by another program", ErrBusy, info.Label)
		}
		return Info{}, nil, fmt.Errorf("camera: opening %s: %w", info.Label, err)
	}
	want, ok := choose(d.Properties(), p)
	if !ok {
		_ = d.Close()
		return Info{}, nil, fmt.Errorf("camera: %s offers no picture format this app can read", info.Label)
	}
	rec, ok := d.(driver.VideoRecorder)
	if !ok {
		_ = d.Close()
		return Info{}, nil, fmt.Errorf("camera: %s does not record video", info.Label)
	}
	if info.Kind == Screen && want.FrameRate == 0 {
		want.FrameRate = float32(p.FrameRate) // the screen driver captures at the rate asked for
	}
	r, err := rec.VideoRecord(want) // closes d on error
	if errors.Is(err, syscall.EBUSY) {
		return Info{}, nil, fmt.Errorf("%w: %s is being used by another program", ErrBusy, info.Label)
	}
	if err != nil {
		return Info{}, nil, fmt.Errorf("camera: starting %s at %dx%d %s: %w", info.Label, want.Width, want.Height, want.FrameFormat, err)
	}
	return info, &mdDevice{d: d, r: r}, nil
}

// rawFormats are the uncompressed formats, cheaper to read than MJPEG.
var rawFormats = map[frame.Format]bool{
	frame.FormatI420: true, frame.FormatNV12: true, frame.FormatNV21: true,
	frame.FormatYUYV: true, frame.FormatYUY2: true, frame.FormatUYVY: true,
	frame.FormatRGBA: true,
}

// readable are the formats mediadevices decodes into a colour picture (not
// Z16, a depth map).
func readable(f frame.Format) bool { return rawFormats[f] || f == frame.FormatMJPEG }

// choose picks the device mode to record for p, from what the device
// offers (a V4L2 camera: every size × format × frame rate; a screen: its
// size, RGBA, no rate). In order of importance: a frame rate of at least
// p's (or unknown); exactly p's size; a size that covers p's (scaled
// down, not up), the closest to it, else the largest; an uncompressed
// format; the lowest frame rate above p's (less USB bandwidth). A camera
// mode without a frame rate keeps the camera's own; the screen driver
// captures at the rate asked for, and openDriver asks it for p's. It
// returns false if no mode has a readable format.
func choose(modes []prop.Media, p Preset) (prop.Media, bool) {
	var c []prop.Media
	for _, m := range modes {
		if readable(m.FrameFormat) && m.Width > 0 && m.Height > 0 {
			c = append(c, m)
		}
	}
	if len(c) == 0 {
		return prop.Media{}, false
	}
	fr := float32(p.FrameRate)
	fast := func(m prop.Media) bool { return m.FrameRate == 0 || m.FrameRate >= fr-0.5 }
	exact := func(m prop.Media) bool { return m.Width == p.Width && m.Height == p.Height }
	covers := func(m prop.Media) bool { return m.Width >= p.Width && m.Height >= p.Height }
	area := func(m prop.Media) int { return m.Width * m.Height }
	better := func(a, b prop.Media) bool {
		if fast(a) != fast(b) {
			return fast(a)
		}
		if exact(a) != exact(b) {
			return exact(a)
		}
		if covers(a) != covers(b) {
			return covers(a)
		}
		if area(a) != area(b) {
			if covers(a) {
				return area(a) < area(b)
			}
			return area(a) > area(b)
		}
		if rawFormats[a.FrameFormat] != rawFormats[b.FrameFormat] {
			return rawFormats[a.FrameFormat]
		}
		if fast(a) {
			return a.FrameRate != 0 && (b.FrameRate == 0 || a.FrameRate < b.FrameRate)
		}
		return a.FrameRate > b.FrameRate
	}
	sort.SliceStable(c, func(i, j int) bool { return better(c[i], c[j]) })
	return c[0], true
}
