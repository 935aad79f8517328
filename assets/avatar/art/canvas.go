package art

import (
	"image"
	"math"

	"golang.org/x/image/vector"
)

// canvas is an image being drawn: 8-bit premultiplied RGBA whose pixels are
// blended with integer arithmetic only, and whose shapes are rasterized from
// coordinates rounded to 1/256 px, so that the same drawing gives the same
// bytes on every machine (no float fusing can move a pixel).
type canvas struct {
	img *image.RGBA
}

// newCanvas returns a transparent size×size canvas.
func newCanvas(size int) *canvas {
	return &canvas{img: image.NewRGBA(image.Rect(0, 0, size, size))}
}

// mask is the coverage of a shape, 0 (outside) to 255 (inside), for the
// pixels of r; pixels outside r are not covered.
type mask struct {
	r image.Rectangle
	a []uint8 // row-major, r.Dx() per row
}

// at returns the coverage of pixel (x, y).
func (m *mask) at(x, y int) uint32 {
	if !(image.Point{x, y}).In(m.r) {
		return 0
	}
	return uint32(m.a[(y-m.r.Min.Y)*m.r.Dx()+x-m.r.Min.X])
}

// and returns the coverage of m inside o (m clipped to o).
func (m *mask) and(o *mask) *mask {
	r := m.r.Intersect(o.r)
	out := &mask{r: r, a: make([]uint8, r.Dx()*r.Dy())}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.a[(y-r.Min.Y)*r.Dx()+x-r.Min.X] = uint8(mul8(m.at(x, y), o.at(x, y)))
		}
	}
	return out
}

// minus returns the coverage of m outside o (o cut out of m).
func (m *mask) minus(o *mask) *mask {
	out := &mask{r: m.r, a: make([]uint8, len(m.a))}
	for y := m.r.Min.Y; y < m.r.Max.Y; y++ {
		for x := m.r.Min.X; x < m.r.Max.X; x++ {
			out.a[(y-m.r.Min.Y)*m.r.Dx()+x-m.r.Min.X] = uint8(mul8(m.at(x, y), 255-o.at(x, y)))
		}
	}
	return out
}

// cover rasterizes the closed subpaths of p (non-zero winding, anti-aliased
// by exact area coverage) into a mask.
func (c *canvas) cover(p *path) *mask {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, sub := range p.subs {
		for _, q := range sub {
			minX, minY = math.Min(minX, q.x), math.Min(minY, q.y)
			maxX, maxY = math.Max(maxX, q.x), math.Max(maxY, q.y)
		}
	}
	if minX > maxX {
		return &mask{}
	}
	r := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1)
	r = r.Intersect(c.img.Rect)
	if r.Empty() {
		return &mask{}
	}
	z := vector.NewRasterizer(r.Dx(), r.Dy())
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	for _, sub := range p.subs {
		if len(sub) < 3 {
			continue
		}
		z.MoveTo(fix(sub[0].x-ox), fix(sub[0].y-oy))
		for _, q := range sub[1:] {
			z.LineTo(fix(q.x-ox), fix(q.y-oy))
		}
		z.ClosePath()
	}
	dst := image.NewAlpha(image.Rect(0, 0, r.Dx(), r.Dy()))
	z.Draw(dst, dst.Bounds(), image.Opaque, image.Point{})
	return &mask{r: r, a: dst.Pix}
}

// fix rounds v to 1/256 px, which a float32 holds exactly.
func fix(v float64) float32 { return float32(math.Round(v*256) / 256) }

// fill paints pt over the canvas where m covers it (source over).
func (c *canvas) fill(m *mask, pt paint) {
	r := m.r.Intersect(c.img.Rect)
	pix := c.img.Pix
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cov := m.at(x, y)
			if cov == 0 {
				continue
			}
			col := pt.at(float64(x)+0.5, float64(y)+0.5)
			ea := mul8(q8(col.a), cov)
			if ea == 0 {
				continue
			}
			i := c.img.PixOffset(x, y)
			inv := 255 - ea
			pix[i+0] = uint8(mul8(q8(col.r), ea) + mul8(uint32(pix[i+0]), inv))
			pix[i+1] = uint8(mul8(q8(col.g), ea) + mul8(uint32(pix[i+1]), inv))
			pix[i+2] = uint8(mul8(q8(col.b), ea) + mul8(uint32(pix[i+2]), inv))
			pix[i+3] = uint8(ea + mul8(uint32(pix[i+3]), inv))
		}
	}
}

// draw fills the shape p with pt.
func (c *canvas) draw(p *path, pt paint) { c.fill(c.cover(p), pt) }

// clip keeps the canvas only where m covers it: every pixel is scaled by
// its coverage, pixels outside m become transparent.
func (c *canvas) clip(m *mask) {
	b := c.img.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			k := m.at(x, y)
			if k == 255 {
				continue
			}
			i := c.img.PixOffset(x, y)
			for j := 0; j < 4; j++ {
				c.img.Pix[i+j] = uint8(mul8(uint32(c.img.Pix[i+j]), k))
			}
		}
	}
}

// mul8 multiplies two 0..255 fractions, rounding to nearest.
func mul8(a, b uint32) uint32 { return (a*b + 127) / 255 }

// q8 quantizes a 0..1 fraction to 0..255, clamping.
func q8(v float64) uint32 {
	switch {
	case !(v > 0):
		return 0
	case v >= 1:
		return 255
	}
	return uint32(math.Floor(v*255 + 0.5))
}
