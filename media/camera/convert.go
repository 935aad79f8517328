package camera

import (
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// convert draws src into dst, a 4:2:0 frame at the origin, letterboxed
// (scaled to fit, centred between black bars) when the sizes or aspects
// differ:
//   - a YCbCr picture (what cameras give) plane by plane: copied when it is
//     4:2:0 or 4:2:2 at dst's size, else scaled bilinearly per plane;
//   - any other picture (the screen's RGBA) through scratch, an RGBA of
//     dst's size (made if nil, returned for reuse): scaled with
//     x/image/draw's ApproxBiLinear, then converted with BT.601 full-range
//     coefficients (image/color, as media/vp8 does).
func convert(dst *image.YCbCr, src image.Image, scratch *image.RGBA) *image.RGBA {
	if y, ok := src.(*image.YCbCr); ok {
		switch {
		case y.Rect.Size() == dst.Rect.Size() && (y.SubsampleRatio == image.YCbCrSubsampleRatio420 || y.SubsampleRatio == image.YCbCrSubsampleRatio422):
			copyYCbCr(dst, y)
		default:
			scaleYCbCr(dst, y)
		}
		return scratch
	}
	if scratch == nil || scratch.Rect != dst.Rect {
		scratch = image.NewRGBA(dst.Rect)
	}
	if src.Bounds().Size() == dst.Rect.Size() {
		draw.Draw(scratch, scratch.Rect, src, src.Bounds().Min, draw.Src)
	} else {
		letterbox(scratch, src)
	}
	rgbaToYCbCr(dst, scratch)
	return scratch
}

// fit returns where a sw×sh picture goes in a dw×dh one: scaled to fit,
// centred. With even set, the rectangle's corners are even, so that it
// halves exactly into a 4:2:0 chroma plane.
func fit(sw, sh, dw, dh int, even bool) image.Rectangle {
	scale := min(float64(dw)/float64(sw), float64(dh)/float64(sh))
	w, h := int(float64(sw)*scale+0.5), int(float64(sh)*scale+0.5)
	x0, y0 := (dw-w)/2, (dh-h)/2
	if even {
		x0, y0, w, h = x0&^1, y0&^1, (w+1)&^1, (h+1)&^1
		w, h = min(w, dw-x0), min(h, dh-y0)
	}
	return image.Rect(x0, y0, x0+w, y0+h)
}

// scaleYCbCr draws src (any size, any subsampling) into the 4:2:0 dst,
// letterboxed on black, by bilinear resampling of each plane.
func scaleYCbCr(dst, src *image.YCbCr) {
	for i := range dst.Y {
		dst.Y[i] = 0
	}
	for i := range dst.Cb {
		dst.Cb[i], dst.Cr[i] = 128, 128 // black: color.RGBToYCbCr(0, 0, 0)
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if sw == 0 || sh == 0 {
		return
	}
	r := fit(sw, sh, dst.Rect.Dx(), dst.Rect.Dy(), true)
	yo := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y)
	scalePlane(dst.Y, dst.YStride, r, src.Y[yo:], src.YStride, sw, sh)
	cr := image.Rect(r.Min.X/2, r.Min.Y/2, r.Max.X/2, r.Max.Y/2)
	cw, ch := chromaWidth(sw, src.SubsampleRatio), chromaHeight(sh, src.SubsampleRatio)
	co := src.COffset(src.Rect.Min.X, src.Rect.Min.Y)
	scalePlane(dst.Cb, dst.CStride, cr, src.Cb[co:], src.CStride, cw, ch)
	scalePlane(dst.Cr, dst.CStride, cr, src.Cr[co:], src.CStride, cw, ch)
}

// scalePlane resamples the sw×sh plane src (row stride ss) into the
// rectangle r of the plane dst (row stride ds), bilinearly: each output
// sample is the mix of the four source samples around its centre (16-bit
// fixed point weights). A 2:1 reduction is thus a 2×2 box filter.
func scalePlane(dst []byte, ds int, r image.Rectangle, src []byte, ss, sw, sh int) {
	if r.Empty() {
		return
	}
	type tap struct{ i0, i1, f int } // left, right source column; weight of right, 0..65536
	taps := make([]tap, r.Dx())
	for x := range taps {
		t0, t1, f := coord(x, r.Dx(), sw)
		taps[x] = tap{t0, t1, f}
	}
	for y := range r.Dy() {
		y0, y1, fy := coord(y, r.Dy(), sh)
		row0, row1 := src[y0*ss:], src[y1*ss:]
		out := dst[(r.Min.Y+y)*ds+r.Min.X:][:r.Dx()]
		for x, t := range taps {
			top := int(row0[t.i0])<<16 + (int(row0[t.i1])-int(row0[t.i0]))*t.f
			bot := int(row1[t.i0])<<16 + (int(row1[t.i1])-int(row1[t.i0]))*t.f
			v := top + (bot-top)*fy>>16
			out[x] = uint8((v + 1<<15) >> 16)
		}
	}
}

// coord maps output sample i of n onto a source of size m: the two source
// samples around its centre and the weight of the second (0..65536).
func coord(i, n, m int) (int, int, int) {
	// centre of i in source coordinates, 16.16 fixed point, minus half a sample
	c := ((2*i+1)*m<<16)/(2*n) - 1<<15
	if c < 0 {
		c = 0
	}
	i0 := c >> 16
	if i0 >= m-1 {
		return m - 1, m - 1, 0
	}
	return i0, i0 + 1, c & 0xffff
}

// copyYCbCr copies a same-size 4:2:0 or 4:2:2 src into the 4:2:0 dst; a
// 4:2:2 chroma sample of dst is the mean of two rows of src.
func copyYCbCr(dst, src *image.YCbCr) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	o := src.Rect.Min
	for y := range h {
		i := src.YOffset(o.X, o.Y+y)
		copy(dst.Y[y*dst.YStride:][:w], src.Y[i:i+w])
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := range ch {
		d := y * dst.CStride
		if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			i := src.COffset(o.X, o.Y+2*y)
			copy(dst.Cb[d:d+cw], src.Cb[i:i+cw])
			copy(dst.Cr[d:d+cw], src.Cr[i:i+cw])
			continue
		}
		i0 := src.COffset(o.X, o.Y+2*y)
		i1 := i0
		if 2*y+1 < h {
			i1 = src.COffset(o.X, o.Y+2*y+1)
		}
		for x := range cw {
			dst.Cb[d+x] = uint8((uint16(src.Cb[i0+x]) + uint16(src.Cb[i1+x]) + 1) / 2)
			dst.Cr[d+x] = uint8((uint16(src.Cr[i0+x]) + uint16(src.Cr[i1+x]) + 1) / 2)
		}
	}
}

// letterbox draws src scaled to fit dst, centred on black.
func letterbox(dst *image.RGBA, src image.Image) {
	draw.Draw(dst, dst.Rect, image.Black, image.Point{}, draw.Src)
	sb := src.Bounds()
	if sb.Empty() {
		return
	}
	r := fit(sb.Dx(), sb.Dy(), dst.Rect.Dx(), dst.Rect.Dy(), false).Add(dst.Rect.Min)
	xdraw.ApproxBiLinear.Scale(dst, r, src, sb, draw.Src, nil)
}

// rgbaToYCbCr converts src into the 4:2:0 dst of the same size: luma per
// pixel, chroma from the mean colour of each 2×2 block.
func rgbaToYCbCr(dst *image.YCbCr, src *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := range h {
		row := src.Pix[y*src.Stride:][:4*w]
		out := dst.Y[y*dst.YStride:][:w]
		for x := range out {
			p := row[4*x : 4*x+3 : 4*x+3]
			out[x], _, _ = color.RGBToYCbCr(p[0], p[1], p[2])
		}
	}
	for y := 0; y < h; y += 2 {
		r0 := src.Pix[y*src.Stride:][:4*w]
		r1 := r0
		if y+1 < h {
			r1 = src.Pix[(y+1)*src.Stride:][:4*w]
		}
		d := (y / 2) * dst.CStride
		for x := 0; x < w; x += 2 {
			x1 := min(x+1, w-1)
			r := (uint16(r0[4*x]) + uint16(r0[4*x1]) + uint16(r1[4*x]) + uint16(r1[4*x1]) + 2) / 4
			g := (uint16(r0[4*x+1]) + uint16(r0[4*x1+1]) + uint16(r1[4*x+1]) + uint16(r1[4*x1+1]) + 2) / 4
			b := (uint16(r0[4*x+2]) + uint16(r0[4*x1+2]) + uint16(r1[4*x+2]) + uint16(r1[4*x1+2]) + 2) / 4
			_, dst.Cb[d+x/2], dst.Cr[d+x/2] = color.RGBToYCbCr(uint8(r), uint8(g), uint8(b))
		}
	}
}
