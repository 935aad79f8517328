package avatar

import (
	"image"
	"image/color"
	"sync"

	"golang.org/x/image/draw"
)

// Compose stacks layers, the first at the bottom, into dst: the stack is
// scaled (Catmull-Rom) to the largest rectangle of its aspect that fits
// dst's bounds, centered, so a square avatar in a 640×480 frame is 480×480
// with bars left and right. The bars and whatever the layers leave
// transparent are filled first with the background: the first layer when
// it is an *image.Uniform (a color given by the caller, which is then not
// scaled), otherwise the color of the first layer's top-left pixel (for the
// default pack, transparent: pass a Uniform to get an opaque video frame).
//
// Layers of one size are stacked at that size and scaled once (about 20 ms
// for 512×512 into 640×480 on one core of a 2020s server); a stack that
// needs no scaling is drawn as is. Compose is safe for concurrent use with
// distinct dst.
func Compose(dst *image.RGBA, layers ...image.Image) {
	if len(layers) == 0 {
		return
	}
	var bg color.Color
	if u, ok := layers[0].(*image.Uniform); ok {
		bg, layers = u.C, layers[1:]
	} else {
		b := layers[0].Bounds()
		bg = layers[0].At(b.Min.X, b.Min.Y)
	}
	draw.Draw(dst, dst.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	if len(layers) == 0 {
		return
	}
	size := layers[0].Bounds().Size()
	same := true
	for _, l := range layers[1:] {
		same = same && l.Bounds().Size() == size
	}
	r := Fit(dst.Bounds(), size.X, size.Y)
	switch {
	case !same:
		for _, l := range layers {
			sb := l.Bounds()
			draw.CatmullRom.Scale(dst, Fit(dst.Bounds(), sb.Dx(), sb.Dy()), l, sb, draw.Over, nil)
		}
	case r.Size() == size:
		for _, l := range layers {
			draw.Draw(dst, r, l, l.Bounds().Min, draw.Over)
		}
	default:
		stack := scratch(size)
		defer stacks.Put(stack)
		for i, l := range layers {
			op := draw.Over
			if i == 0 {
				op = draw.Src
			}
			draw.Draw(stack, stack.Rect, l, l.Bounds().Min, op)
		}
		draw.CatmullRom.Scale(dst, r, stack, stack.Rect, draw.Over, nil)
	}
}

// stacks holds *image.RGBA scratch images, so a video loop does not
// allocate a stack per frame.
var stacks sync.Pool

// scratch returns an image of size from stacks, or a new one.
func scratch(size image.Point) *image.RGBA {
	if s, ok := stacks.Get().(*image.RGBA); ok && s.Rect.Size() == size {
		return s
	}
	return image.NewRGBA(image.Rectangle{Max: size})
}

// Fit returns the largest rectangle of aspect w:h centered in r (empty if
// w or h is not positive).
func Fit(r image.Rectangle, w, h int) image.Rectangle {
	if w <= 0 || h <= 0 || r.Empty() {
		return image.Rectangle{}
	}
	fw, fh := r.Dx(), r.Dx()*h/w
	if fh > r.Dy() {
		fw, fh = r.Dy()*w/h, r.Dy()
	}
	x, y := r.Min.X+(r.Dx()-fw)/2, r.Min.Y+(r.Dy()-fh)/2
	return image.Rect(x, y, x+fw, y+fh)
}
