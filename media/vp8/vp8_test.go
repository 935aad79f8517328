package vp8

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"
)

// pattern is a moving colour gradient with a white box, 320×240.
func pattern(i int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			c := color.RGBA{uint8(x + 2*i), uint8(y), uint8(128 + i), 255}
			if x > 100+i && x < 160+i && y > 80 && y < 140 {
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// TestRoundTrip: frames encoded and decoded again look like the originals
// (luma PSNR ≥ 30 dB), the first frame is a keyframe and the bitrate is
// near the target.
func TestRoundTrip(t *testing.T) {
	enc, err := NewEncoder(Config{Width: 320, Height: 240, FrameRate: 30, BitRate: 400_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec := NewDecoder()
	defer dec.Close()
	var frames [][]byte
	for i := range 30 {
		src := pattern(i)
		b, err := enc.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && !IsKeyFrame(b) {
			t.Fatal("the first frame is not a keyframe")
		}
		frames = append(frames, b)
		out, err := dec.Decode(b)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if p := psnrY(src, out); i > 5 && p < 30 {
			t.Errorf("frame %d: luma PSNR %.1f dB", i, p)
		}
	}
	if !IsKeyFrame(frames[0]) || IsKeyFrame(frames[5]) {
		t.Errorf("keyframes: first %v, sixth %v", IsKeyFrame(frames[0]), IsKeyFrame(frames[5]))
	}
	// An inter frame alone cannot be decoded.
	fresh := NewDecoder()
	defer fresh.Close()
	if _, err := fresh.Decode(frames[5]); !errors.Is(err, ErrNoKeyframe) {
		t.Errorf("inter frame first: %v, want ErrNoKeyframe", err)
	}
}

// TestScalesToFit: a frame of another size is letterboxed, not rejected.
func TestScalesToFit(t *testing.T) {
	enc, err := NewEncoder(Config{Width: 160, Height: 120, FrameRate: 15, BitRate: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec := NewDecoder()
	defer dec.Close()
	square := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range square.Pix {
		square.Pix[i] = 255
	}
	b, err := enc.Encode(square)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Bounds().Dx() != 160 || out.Bounds().Dy() != 120 {
		t.Fatalf("decoded %v", out.Bounds())
	}
	if y := out.Y[60*out.YStride+80]; y < 200 {
		t.Errorf("centre luma %d, want white", y)
	}
	if y := out.Y[60*out.YStride+5]; y > 60 {
		t.Errorf("left bar luma %d, want black", y)
	}
	if _, err := NewEncoder(Config{Width: 161, Height: 120}); err == nil {
		t.Error("an odd width was accepted")
	}
}

func psnrY(src *image.RGBA, out *image.YCbCr) float64 {
	var se float64
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := src.At(x, y).RGBA()
			yy, _, _ := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			d := float64(yy) - float64(out.Y[y*out.YStride+x])
			se += d * d
		}
	}
	mse := se / float64(b.Dx()*b.Dy())
	return 10 * math.Log10(255*255/mse)
}

func BenchmarkEncode640(b *testing.B) {
	enc, err := NewEncoder(Config{Width: 640, Height: 480, FrameRate: 30, BitRate: 500_000})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	i := 0
	for b.Loop() {
		img.Pix[i%len(img.Pix)] ^= 0xff
		i += 4097
		if _, err := enc.Encode(img); err != nil {
			b.Fatal(err)
		}
	}
}
