package camera

import (
	"image"
	"image/color"
	"time"
)

// The test pattern: eight colour bars (75 % SMPTE/EBU colours) scrolling
// left, one picture width every 4 s, and a white square bouncing up and
// down every 3 s. Everything moves a little in every frame, as in front
// of a camera, without the noise that would make VP8 spend its whole bit
// rate on it. mediadevices' videotest driver is not used: it is one
// global device (one open at a time), its read can block forever once it
// is closed, it registers itself as a camera, and only its noise moves.
const (
	patternScroll = 4 * time.Second // bars: one width per period
	patternBounce = 3 * time.Second // square: down and up per period
)

var patternBars = [...]color.RGBA{
	{191, 191, 191, 255}, // white
	{191, 191, 0, 255},   // yellow
	{0, 191, 191, 255},   // cyan
	{0, 191, 0, 255},     // green
	{191, 0, 191, 255},   // magenta
	{191, 0, 0, 255},     // red
	{0, 0, 191, 255},     // blue
	{16, 16, 16, 255},    // black
}

// pattern draws the test pattern at w×h pixels in the given chroma
// subsampling (4:2:0, or 4:2:2 as a YUYV camera gives), one picture per
// interval, timed by the clock.
type pattern struct {
	w, h     int
	ratio    image.YCbCrSubsampleRatio
	interval time.Duration
	stop     <-chan struct{}
	start    time.Time
	next     time.Time
	timer    *time.Timer
	// One row of the bars, twice the width so that any scroll offset is
	// one slice: luma at full, chroma at the subsampled width.
	y, cb, cr []byte
}

func newPattern(w, h int, ratio image.YCbCrSubsampleRatio, interval time.Duration, stop <-chan struct{}) *pattern {
	p := &pattern{w: w, h: h, ratio: ratio, interval: interval, stop: stop}
	cw := chromaWidth(w, ratio)
	p.y, p.cb, p.cr = make([]byte, 2*w), make([]byte, 2*cw), make([]byte, 2*cw)
	for x := range 2 * w {
		c := patternBars[(x%w)*len(patternBars)/w]
		p.y[x], _, _ = color.RGBToYCbCr(c.R, c.G, c.B)
	}
	for x := range 2 * cw {
		c := patternBars[(x%cw)*len(patternBars)/cw]
		_, p.cb[x], p.cr[x] = color.RGBToYCbCr(c.R, c.G, c.B)
	}
	return p
}

// read waits for the next frame time and draws a new picture; it returns
// ErrClosed as soon as stop is closed.
func (p *pattern) read() (image.Image, func(), error) {
	now := time.Now()
	if p.start.IsZero() {
		p.start, p.next = now, now
	}
	if wait := p.next.Sub(now); wait > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(wait)
		} else {
			p.timer.Reset(wait)
		}
		select {
		case <-p.stop:
			return nil, nil, ErrClosed
		case now = <-p.timer.C:
		}
	}
	if p.next = p.next.Add(p.interval); now.Sub(p.next) > p.interval {
		p.next = now // fell behind: do not catch up in a burst
	}
	img := image.NewYCbCr(image.Rect(0, 0, p.w, p.h), p.ratio)
	p.draw(img, now.Sub(p.start))
	return owned{img}, nil, nil
}

// draw paints the picture at time t after the start into img.
func (p *pattern) draw(img *image.YCbCr, t time.Duration) {
	off := int(int64(t) * int64(p.w) / int64(patternScroll) % int64(p.w))
	cw, ch := chromaWidth(p.w, p.ratio), chromaHeight(p.h, p.ratio)
	coff := off * cw / p.w
	for y := range p.h {
		copy(img.Y[y*img.YStride:][:p.w], p.y[off:])
	}
	for y := range ch {
		copy(img.Cb[y*img.CStride:][:cw], p.cb[coff:])
		copy(img.Cr[y*img.CStride:][:cw], p.cr[coff:])
	}
	// The square: a sixth of the height, bouncing in the middle column.
	side := max(p.h/6, 2)
	phase := float64(t%patternBounce) / float64(patternBounce) // 0..1
	travel := float64(p.h - side)
	top := int(travel * 2 * phase)
	if phase > 0.5 {
		top = int(travel * 2 * (1 - phase))
	}
	sq := image.Rect(p.w/2-side/2, top, p.w/2+side/2, top+side)
	for y := sq.Min.Y; y < sq.Max.Y; y++ {
		row := img.Y[y*img.YStride:]
		for x := sq.Min.X; x < sq.Max.X; x++ {
			row[x] = 235
		}
	}
	for y := sq.Min.Y; y < sq.Max.Y; y++ {
		for x := sq.Min.X; x < sq.Max.X; x++ {
			i := img.COffset(x, y)
			img.Cb[i], img.Cr[i] = 128, 128
		}
	}
}

func (p *pattern) close() error {
	if p.timer != nil {
		p.timer.Stop()
	}
	return nil
}

// chromaWidth is the width of a chroma row of a w-pixel-wide picture.
func chromaWidth(w int, r image.YCbCrSubsampleRatio) int {
	switch r {
	case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
		return w
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		return (w + 3) / 4
	}
	return (w + 1) / 2
}

// chromaHeight is the height of a chroma plane of an h-row picture.
func chromaHeight(h int, r image.YCbCrSubsampleRatio) int {
	switch r {
	case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio410:
		return (h + 1) / 2
	}
	return h
}
