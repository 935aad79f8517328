package avatar_test

import (
	"image"
	"image/color"
	"testing"

	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/assets/avatar/art"
)

// These tests look at the committed pack's pixels: they check what the
// drawing does, not numbers copied from it.

// images decodes the default pack's files by name.
func images(t *testing.T) map[string]*image.NRGBA {
	t.Helper()
	p := avatar.Default()
	out := map[string]*image.NRGBA{}
	for _, f := range p.Files {
		img, err := avatar.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		n := image.NewNRGBA(img.Bounds())
		for y := 0; y < n.Rect.Dy(); y++ {
			for x := 0; x < n.Rect.Dx(); x++ {
				n.Set(x, y, img.At(x, y))
			}
		}
		out[f.Name] = n
	}
	return out
}

// luma is the brightness of c, 0..1.
func luma(c color.NRGBA) float64 {
	return (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 255
}

// mouthAreas returns the opaque area of a mouth (sum of alpha, pixels) and
// the number of its dark pixels (the inside of an open mouth).
func mouthAreas(img *image.NRGBA) (area float64, dark int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			area += float64(c.A) / 255
			if c.A > 200 && luma(c) < 0.2 {
				dark++
			}
		}
	}
	return area, dark
}

func TestMouthsOpenWiderInOrder(t *testing.T) {
	imgs := images(t)
	var prevArea float64
	prevDark := -1
	for _, shape := range []string{"closed", "slight", "half", "open", "wide"} {
		area, dark := mouthAreas(imgs[art.MouthName(shape)])
		t.Logf("%-7s area %6.0f px, dark inside %5d px", shape, area, dark)
		if shape == "closed" && dark != 0 {
			t.Errorf("the closed mouth shows %d px of dark inside", dark)
		}
		if area <= prevArea || dark <= prevDark {
			t.Errorf("%s (area %.0f, dark %d) is not more open than the mouth before (%.0f, %d)", shape, area, dark, prevArea, prevDark)
		}
		prevArea, prevDark = area, dark
	}
	_, small := mouthAreas(imgs[art.MouthName("round-small")])
	_, big := mouthAreas(imgs[art.MouthName("round")])
	if !(0 < small && small < big) {
		t.Errorf("round-small shows %d px of dark inside, round %d: want 0 < small < round", small, big)
	}
}

func TestMouthsStayInTheirBox(t *testing.T) {
	if art.MouthBox.Overlaps(art.EyeBox) {
		t.Fatalf("mouth box %v overlaps the eyes %v", art.MouthBox, art.EyeBox)
	}
	imgs := images(t)
	for _, m := range art.Mouths {
		img := imgs[art.MouthName(m.Name)]
		drawn := 0
		for y := 0; y < art.Size; y++ {
			for x := 0; x < art.Size; x++ {
				a := img.NRGBAAt(x, y).A
				if a == 0 {
					continue
				}
				drawn++
				if !(image.Point{x, y}).In(art.MouthBox) {
					t.Fatalf("mouth %s has a pixel at %d,%d, outside %v", m.Name, x, y, art.MouthBox)
				}
				// Every mouth pixel lies on skin on every face.
				for _, e := range avatar.RequiredExpressions() {
					for _, blink := range []bool{false, true} {
						c := imgs[art.FaceName(e, blink)].NRGBAAt(x, y)
						if c.A != 255 || !(c.R > 170 && c.R > c.G && c.G > c.B) {
							t.Fatalf("mouth %s at %d,%d lies on %v of %s, not on skin", m.Name, x, y, c, art.FaceName(e, blink))
						}
					}
				}
			}
		}
		if drawn < 50 {
			t.Errorf("mouth %s has only %d pixels", m.Name, drawn)
		}
	}
}

func TestBlinkClosesOnlyTheEyes(t *testing.T) {
	imgs := images(t)
	for _, e := range avatar.RequiredExpressions() {
		open, shut := imgs[art.FaceName(e, false)], imgs[art.FaceName(e, true)]
		inside := 0
		for y := 0; y < art.Size; y++ {
			for x := 0; x < art.Size; x++ {
				if open.NRGBAAt(x, y) == shut.NRGBAAt(x, y) {
					continue
				}
				if !(image.Point{x, y}).In(art.EyeBox) {
					t.Fatalf("%s: the blink changes pixel %d,%d, outside the eyes %v", e, x, y, art.EyeBox)
				}
				inside++
			}
		}
		// Closing an eye hides its white: at least a third of the eye
		// area changes (an eye is about 45×50 px, two of them).
		if inside < 1500 {
			t.Errorf("%s: the blink changes only %d pixels of the eyes", e, inside)
		}
	}
}

func TestExpressionsDiffer(t *testing.T) {
	imgs := images(t)
	exprs := avatar.RequiredExpressions()
	for i, a := range exprs {
		for _, b := range exprs[i+1:] {
			x, y := imgs[art.FaceName(a, false)], imgs[art.FaceName(b, false)]
			diff := 0
			for j := range x.Pix {
				if x.Pix[j] != y.Pix[j] {
					diff++
				}
			}
			if diff < 2000 {
				t.Errorf("faces %s and %s differ in only %d bytes", a, b, diff)
			}
		}
	}
}
