// Package testvideo hands tests real VP8: frames of a moving 320×240 test
// pattern encoded by libvpx (through mediadevices), the way the app's
// camera path encodes.
package testvideo

import (
	"image"
	"testing"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// Width and Height of the frames VP8Frames makes.
const (
	Width  = 320
	Height = 240
)

// VP8Frames encodes n frames (RFC 6386; the first a keyframe) at 30 fps
// and 300 kbit/s. It fails tb if libvpx cannot encode (run make deps).
func VP8Frames(tb testing.TB, n int) [][]byte {
	tb.Helper()
	params, err := vpx.NewVP8Params()
	if err != nil {
		tb.Fatal(err)
	}
	params.BitRate = 300_000
	i := 0
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		img := image.NewYCbCr(image.Rect(0, 0, Width, Height), image.YCbCrSubsampleRatio420)
		for y := 0; y < Height; y++ {
			for x := 0; x < Width; x++ {
				img.Y[y*img.YStride+x] = uint8(x + y + 8*i)
			}
		}
		i++
		return img, func() {}, nil
	})
	enc, err := params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{Width: Width, Height: Height, FrameRate: 30, FrameFormat: frame.FormatI420}})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	var out [][]byte
	for len(out) < n {
		b, release, err := enc.Read()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, append([]byte(nil), b...))
		release()
	}
	return out
}
