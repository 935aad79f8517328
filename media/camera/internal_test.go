package camera

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/prop"
)

func mode(w, h int, f frame.Format, fps float32) prop.Media {
	return prop.Media{Video: prop.Video{Width: w, Height: h, FrameFormat: f, FrameRate: fps}}
}

func TestChoose(t *testing.T) {
	vga := DefaultPreset // 640×480 at 15 fps
	tests := []struct {
		name  string
		modes []prop.Media
		want  prop.Media
		ok    bool
	}{
		{"nothing readable", []prop.Media{mode(640, 480, frame.FormatZ16, 30)}, prop.Media{}, false},
		{"exact size", []prop.Media{mode(1280, 720, frame.FormatYUYV, 30), mode(640, 480, frame.FormatYUYV, 30), mode(320, 240, frame.FormatYUYV, 30)},
			mode(640, 480, frame.FormatYUYV, 30), true},
		{"raw before MJPEG", []prop.Media{mode(640, 480, frame.FormatMJPEG, 30), mode(640, 480, frame.FormatYUYV, 30)},
			mode(640, 480, frame.FormatYUYV, 30), true},
		{"lowest rate that is enough", []prop.Media{mode(640, 480, frame.FormatYUYV, 30), mode(640, 480, frame.FormatYUYV, 15), mode(640, 480, frame.FormatYUYV, 5)},
			mode(640, 480, frame.FormatYUYV, 15), true},
		{"MJPEG when raw is too slow", []prop.Media{mode(640, 480, frame.FormatYUYV, 10), mode(640, 480, frame.FormatMJPEG, 30)},
			mode(640, 480, frame.FormatMJPEG, 30), true},
		{"closest larger size", []prop.Media{mode(1920, 1080, frame.FormatMJPEG, 30), mode(800, 600, frame.FormatMJPEG, 30), mode(320, 240, frame.FormatYUYV, 30)},
			mode(800, 600, frame.FormatMJPEG, 30), true},
		{"largest when all are smaller", []prop.Media{mode(160, 120, frame.FormatYUYV, 30), mode(352, 288, frame.FormatYUYV, 30)},
			mode(352, 288, frame.FormatYUYV, 30), true},
		{"screen: no rate", []prop.Media{mode(1280, 800, frame.FormatRGBA, 0)}, mode(1280, 800, frame.FormatRGBA, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := choose(tt.modes, vga)
			if ok != tt.ok || got.Video != tt.want.Video {
				t.Fatalf("choose = %+v, %v; want %+v, %v", got.Video, ok, tt.want.Video, tt.ok)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	iv := time.Second / 15
	var p pacer
	t0 := time.Now()
	kept := 0
	for i := range 60 { // a 30 fps camera for 2 s
		if p.due(t0.Add(time.Duration(i)*time.Second/30), iv) {
			kept++
		}
	}
	if kept != 30 {
		t.Errorf("kept %d of 60 frames at 30 fps, want 30 (15 fps)", kept)
	}
	p = pacer{}
	kept = 0
	for i := range 30 { // a 15 fps camera with ±5 ms jitter
		j := time.Duration(i%3-1) * 5 * time.Millisecond
		if p.due(t0.Add(time.Duration(i)*iv+j), iv) {
			kept++
		}
	}
	if kept != 30 {
		t.Errorf("kept %d of 30 frames at 15 fps, want all", kept)
	}
}

// TestConvert: a same-size 4:2:2 picture (a YUYV camera) is copied plane
// by plane; a wider RGBA picture (a 16:10 screen) is scaled between black
// bars.
func TestConvert(t *testing.T) {
	dst := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	src := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio422)
	for i := range src.Y {
		src.Y[i] = uint8(i)
	}
	for y := range 48 {
		for x := range 32 {
			src.Cb[y*src.CStride+x] = uint8(100 + y%2*10) // rows alternate 100, 110
			src.Cr[y*src.CStride+x] = 50
		}
	}
	if scratch := convert(dst, src, nil); scratch != nil {
		t.Error("a same-size YCbCr went through the RGBA scratch")
	}
	for i := range dst.Y {
		if dst.Y[i] != src.Y[i] {
			t.Fatalf("luma %d: %d, want %d", i, dst.Y[i], src.Y[i])
		}
	}
	if dst.Cb[0] != 105 || dst.Cr[0] != 50 || dst.Cb[len(dst.Cb)-1] != 105 {
		t.Errorf("chroma %d %d %d, want the mean of two rows (105, 50)", dst.Cb[0], dst.Cr[0], dst.Cb[len(dst.Cb)-1])
	}

	wide := image.NewRGBA(image.Rect(0, 0, 1280, 800))
	red := color.RGBA{200, 30, 40, 255}
	draw.Draw(wide, wide.Rect, image.NewUniform(red), image.Point{}, draw.Src)
	ry, rcb, rcr := color.RGBToYCbCr(red.R, red.G, red.B)
	dst = image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	scratch := convert(dst, wide, nil)
	if scratch == nil || convert(dst, wide, scratch) != scratch {
		t.Error("the scratch buffer is not reused")
	}
	at := func(x, y int) color.YCbCr { return dst.YCbCrAt(x, y) }
	for _, y := range []int{0, 19, 220, 239} { // bars: 240 - 800/4 = 40 rows
		if c := at(160, y); c.Y != 0 {
			t.Errorf("row %d: luma %d, want a black bar", y, c.Y)
		}
	}
	for _, y := range []int{21, 120, 218} {
		if c := at(160, y); absDiff(c.Y, ry) > 1 || absDiff(c.Cb, rcb) > 1 || absDiff(c.Cr, rcr) > 1 {
			t.Errorf("row %d: %v, want red %d/%d/%d", y, c, ry, rcb, rcr)
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestScaleYCbCr: a 1280×720 4:2:2 picture (a YUYV camera at 720p) is
// scaled into a 640×480 frame between black bars of 60 rows, keeping its
// colours and its horizontal gradient.
func TestScaleYCbCr(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio422)
	for y := range 720 {
		for x := range 1280 {
			src.Y[y*src.YStride+x] = uint8(x / 5) // 0..255 across
		}
		for x := range 640 {
			src.Cb[y*src.CStride+x], src.Cr[y*src.CStride+x] = 90, 200
		}
	}
	dst := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio420)
	if convert(dst, src, nil) != nil {
		t.Error("a YCbCr picture went through the RGBA scratch")
	}
	for _, y := range []int{0, 59, 420, 479} {
		if c := dst.YCbCrAt(320, y); c != (color.YCbCr{0, 128, 128}) {
			t.Errorf("row %d: %v, want a black bar", y, c)
		}
	}
	for _, y := range []int{60, 240, 419} {
		for _, x := range []int{0, 320, 639} {
			c := dst.YCbCrAt(x, y)
			if want := uint8(min(2*x/5, 255)); absDiff(c.Y, want) > 1 || c.Cb != 90 || c.Cr != 200 {
				t.Errorf("(%d, %d): %v, want luma %d, chroma 90/200", x, y, c, want)
			}
		}
	}
}

func TestCoord(t *testing.T) {
	for _, tt := range []struct{ i, n, m, i0, i1, f int }{
		{0, 640, 1280, 0, 1, 1 << 15}, // 2:1 — the mean of two
		{639, 640, 1280, 1278, 1279, 1 << 15},
		{0, 1280, 640, 0, 1, 0}, // 1:2 — clamped at the edge: all weight on sample 0
		{1279, 1280, 640, 639, 639, 0},
		{5, 10, 10, 5, 6, 0}, // 1:1 — the sample itself
	} {
		if i0, i1, f := coord(tt.i, tt.n, tt.m); i0 != tt.i0 || i1 != tt.i1 || f != tt.f {
			t.Errorf("coord(%d, %d, %d) = %d, %d, %d; want %d, %d, %d", tt.i, tt.n, tt.m, i0, i1, f, tt.i0, tt.i1, tt.f)
		}
	}
}
