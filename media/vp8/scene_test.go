package vp8

import (
	"image"
	"math"
	"sync"
)

// scene is a synthetic camera picture for rate-control and quality
// measurements: a textured background (value noise at three scales: soft
// shapes, edges and fine detail) that pans slowly, a textured ellipse (a
// head) moving over it, and sensor noise that changes every frame. Unlike
// pattern's smooth gradient it makes libvpx spend its whole bit budget, as
// a real camera does.
type scene struct {
	w, h   int
	bg     []uint8 // luma, (w+panX)×(h+panY)
	bgW    int
	cb, cr []uint8 // chroma at half resolution, (w+panX)/2 × (h+panY)/2
	head   []uint8 // luma texture of the head, w×h
}

const panX, panY = 128, 64

var (
	sceneOnce sync.Once
	scene640  *scene
)

// newScene640 returns the shared 640×480 scene (its textures take ~50 ms to
// make).
func newScene640() *scene {
	sceneOnce.Do(func() { scene640 = makeScene(640, 480) })
	return scene640
}

func makeScene(w, h int) *scene {
	s := &scene{w: w, h: h, bgW: w + panX}
	bh := h + panY
	coarse := valueNoise(s.bgW, bh, 96, 1)
	mid := valueNoise(s.bgW, bh, 12, 2)
	fine := valueNoise(s.bgW, bh, 3, 3)
	s.bg = make([]uint8, s.bgW*bh)
	for i := range s.bg {
		v := 40 + 120*coarse[i] + 50*mid[i] + 25*fine[i]
		s.bg[i] = uint8(min(235, max(16, v)))
	}
	cw, ch := s.bgW/2, bh/2
	cbN, crN := valueNoise(cw, ch, 64, 4), valueNoise(cw, ch, 64, 5)
	s.cb, s.cr = make([]uint8, cw*ch), make([]uint8, cw*ch)
	for i := range s.cb {
		s.cb[i] = uint8(100 + 56*cbN[i])
		s.cr[i] = uint8(100 + 56*crN[i])
	}
	hm, hf := valueNoise(w, h, 8, 6), valueNoise(w, h, 2, 7)
	s.head = make([]uint8, w*h)
	for i := range s.head {
		s.head[i] = uint8(130 + 40*hm[i] + 20*hf[i])
	}
	return s
}

// frame draws frame i into dst (w×h, 4:2:0).
func (s *scene) frame(dst *image.YCbCr, i int) {
	// The background pans on a triangle wave, 2 px right and 1 px down a frame.
	ox, oy := tri(2*i, panX), tri(i, panY)
	// The head: an ellipse sliding left and right and bobbing.
	hx := float64(s.w)/2 + 0.2*float64(s.w)*math.Sin(float64(i)/12)
	hy := float64(s.h)/2 + 0.05*float64(s.h)*math.Sin(float64(i)/5)
	rx, ry := 0.16*float64(s.w), 0.3*float64(s.h)
	rng := uint32(i)*2654435761 + 1
	for y := 0; y < s.h; y++ {
		row := s.bg[(y+oy)*s.bgW+ox:]
		out := dst.Y[y*dst.YStride:]
		dy := (float64(y) - hy) / ry
		for x := 0; x < s.w; x++ {
			v := int(row[x])
			dx := (float64(x) - hx) / rx
			if dx*dx+dy*dy < 1 {
				v = int(s.head[y*s.w+x])
			}
			rng ^= rng << 13
			rng ^= rng >> 17
			rng ^= rng << 5
			v += int(rng>>29) - 3 // sensor noise, -3..+4
			out[x] = uint8(min(255, max(0, v)))
		}
	}
	cw := s.bgW / 2
	for y := 0; y < s.h/2; y++ {
		dy := (float64(2*y) - hy) / ry
		for x := 0; x < s.w/2; x++ {
			cb, cr := s.cb[(y+oy/2)*cw+x+ox/2], s.cr[(y+oy/2)*cw+x+ox/2]
			dx := (float64(2*x) - hx) / rx
			if dx*dx+dy*dy < 1 {
				cb, cr = 110, 150 // skin
			}
			dst.Cb[y*dst.CStride+x], dst.Cr[y*dst.CStride+x] = cb, cr
		}
	}
}

// tri is a triangle wave from 0 to period and back.
func tri(t, period int) int {
	t %= 2 * period
	if t > period {
		return 2*period - t
	}
	return min(t, period-1)
}

// valueNoise is w×h values in [0, 1): random values on a grid of the given
// cell size, interpolated bilinearly (smoothstep).
func valueNoise(w, h, cell int, seed uint32) []float64 {
	gw, gh := w/cell+2, h/cell+2
	grid := make([]float64, gw*gh)
	r := seed*2654435761 + 12345
	for i := range grid {
		r ^= r << 13
		r ^= r >> 17
		r ^= r << 5
		grid[i] = float64(r) / (1 << 32)
	}
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		gy, fy := y/cell, smooth(float64(y%cell)/float64(cell))
		for x := 0; x < w; x++ {
			gx, fx := x/cell, smooth(float64(x%cell)/float64(cell))
			a, b := grid[gy*gw+gx], grid[gy*gw+gx+1]
			c, d := grid[(gy+1)*gw+gx], grid[(gy+1)*gw+gx+1]
			top, bot := a+(b-a)*fx, c+(d-c)*fx
			out[y*w+x] = top + (bot-top)*fy
		}
	}
	return out
}

func smooth(t float64) float64 { return t * t * (3 - 2*t) }

// psnrYCbCr is the luma PSNR of out against src, dB (99 for identical).
func psnrYCbCr(src, out *image.YCbCr) float64 {
	var se float64
	b := src.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			d := float64(src.Y[y*src.YStride+x]) - float64(out.Y[y*out.YStride+x])
			se += d * d
		}
	}
	if se == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/(se/float64(b.Dx()*b.Dy())))
}
