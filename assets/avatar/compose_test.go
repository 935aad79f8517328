package avatar

import (
	"image"
	"image/color"
	"testing"

	"golang.org/x/image/draw"
)

func TestFit(t *testing.T) {
	tests := []struct {
		r    image.Rectangle
		w, h int
		want image.Rectangle
	}{
		{image.Rect(0, 0, 640, 480), 512, 512, image.Rect(80, 0, 560, 480)},
		{image.Rect(0, 0, 480, 640), 512, 512, image.Rect(0, 80, 480, 560)},
		{image.Rect(10, 20, 522, 532), 512, 512, image.Rect(10, 20, 522, 532)},
		{image.Rect(0, 0, 640, 480), 200, 100, image.Rect(0, 80, 640, 400)},
		{image.Rect(0, 0, 640, 480), 0, 100, image.Rectangle{}},
		{image.Rectangle{}, 512, 512, image.Rectangle{}},
	}
	for _, tt := range tests {
		if got := Fit(tt.r, tt.w, tt.h); got != tt.want {
			t.Errorf("Fit(%v, %d, %d) = %v, want %v", tt.r, tt.w, tt.h, got, tt.want)
		}
	}
}

// layers decodes the default pack's face of expression and its mouth of
// the given shape.
func layers(t testing.TB, expression, mouth string) (face, m image.Image) {
	t.Helper()
	p := Default()
	for _, f := range p.Files {
		img, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		switch f.Name {
		case "face-" + expression + ".png":
			face = img
		case "mouth-" + mouth + ".png":
			m = img
		}
	}
	if face == nil || m == nil {
		t.Fatalf("no face %s or mouth %s", expression, mouth)
	}
	return face, m
}

// alphaCentroid returns the middle of img's opaque area, weighted by alpha.
func alphaCentroid(img image.Image) (x, y float64) {
	var sx, sy, sw float64
	b := img.Bounds()
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			_, _, _, a := img.At(px, py).RGBA()
			w := float64(a)
			sx, sy, sw = sx+w*(float64(px)+0.5), sy+w*(float64(py)+0.5), sw+w
		}
	}
	return sx / sw, sy / sw
}

func near(a, b color.Color, tol uint32) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	d := func(x, y uint32) uint32 {
		if x > y {
			return (x - y) >> 8
		}
		return (y - x) >> 8
	}
	return d(r1, r2) <= tol && d(g1, g2) <= tol && d(b1, b2) <= tol && d(a1, a2) <= tol
}

func TestComposeVideoFrame(t *testing.T) {
	face, mouth := layers(t, Happy, "wide")
	bg := color.RGBA{0x20, 0x30, 0x40, 0xff}
	dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
	Compose(dst, image.NewUniform(bg), face, mouth)
	bare := image.NewRGBA(dst.Rect)
	Compose(bare, image.NewUniform(bg), face)

	if dst.Bounds().Dx() != 640 || dst.Bounds().Dy() != 480 {
		t.Fatalf("frame is %v", dst.Bounds())
	}
	for _, p := range []image.Point{{0, 0}, {79, 240}, {560, 479}, {639, 0}, {100, 5}} {
		if got := dst.At(p.X, p.Y); got != bg {
			t.Errorf("pixel %v = %v, want the background %v", p, got, bg)
		}
	}
	// The mouth's middle, scaled like the face (480/512, 80 px bar), lands
	// on the mouth in the frame and on skin in the face without a mouth.
	cx, cy := alphaCentroid(mouth)
	fx, fy := int(80+cx*480/512), int(cy*480/512)
	want := mouth.At(int(cx), int(cy))
	if got := dst.At(fx, fy); !near(got, want, 24) {
		t.Errorf("frame pixel %d,%d = %v, want the mouth's %v", fx, fy, got, want)
	}
	r, g, b, _ := bare.At(fx, fy).RGBA()
	if !(r>>8 > 200 && r > g && g > b) {
		t.Errorf("without a mouth, frame pixel %d,%d = %v, want skin", fx, fy, bare.At(fx, fy))
	}
	// Outside the scaled mouth box the mouth changed nothing.
	box := image.Rect(80+170*480/512, 280*480/512, 80+342*480/512, 400*480/512)
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			if !(image.Point{x, y}).In(box) && dst.At(x, y) != bare.At(x, y) {
				t.Fatalf("the mouth changed frame pixel %d,%d, far from the mouth", x, y)
			}
		}
	}
}

func TestComposeSameSizeIsPlainOver(t *testing.T) {
	face, mouth := layers(t, Neutral, "half")
	got := image.NewRGBA(face.Bounds())
	Compose(got, face, mouth)
	want := image.NewRGBA(face.Bounds())
	draw.Draw(want, want.Rect, face, image.Point{}, draw.Src)
	draw.Draw(want, want.Rect, mouth, image.Point{}, draw.Over)
	for i := range got.Pix {
		if got.Pix[i] != want.Pix[i] {
			t.Fatalf("byte %d: %d, want %d", i, got.Pix[i], want.Pix[i])
		}
	}
	// Without a Uniform, the bars take the first layer's corner: for the
	// default pack, transparent.
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	Compose(frame, face, mouth)
	if c := frame.RGBAAt(2, 2); c.A != 0 {
		t.Errorf("bar pixel = %v, want transparent", c)
	}
	Compose(frame) // nothing to draw: no panic, frame unchanged
}

func BenchmarkCompose640x480(b *testing.B) {
	face, mouth := layers(b, Neutral, "half")
	bg := image.NewUniform(color.RGBA{0, 0, 0, 0xff})
	dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for b.Loop() {
		Compose(dst, bg, face, mouth)
	}
}
