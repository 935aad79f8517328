package camera_test

import (
	"context"
	"fmt"

	"github.com/parley-app/parley/media/camera"
)

// Open a video source by the ID Devices gives and read its frames: each
// is a 4:2:0 image of the preset's size, ready for media/vp8.
func ExampleOpen() {
	p, _ := camera.PresetByName("320x240")
	src, err := camera.Open(camera.TestPatternID, p, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	img, err := src.Read(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src.Info().Label, img.Bounds().Dx(), "×", img.Bounds().Dy(), "at", p.FrameRate, "fps")
	// Output: Test pattern 320 × 240 at 15 fps
}
