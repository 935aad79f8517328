package avatar_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/parley-app/parley/assets/avatar"
)

// A rig names the layer to show: here for a happy avatar that is silent,
// then speaking an open vowel and an "o".
func ExampleRig() {
	p := avatar.Default()
	rig, err := avatar.NewRig(p.Entries())
	if err != nil {
		fmt.Println(err)
		return
	}
	name := func(hash string) string { f, _ := p.File(hash); return f.Name }
	fmt.Println(name(rig.Face(avatar.Happy, false)), name(rig.Rest(avatar.Happy)))
	fmt.Println(name(rig.Mouth(0.8, false)))
	fmt.Println(name(rig.Mouth(0.4, true)))
	// Output:
	// face-happy.png mouth-smile.png
	// mouth-open.png
	// mouth-round-small.png
}

// Compose renders a video frame: the face with a mouth, letterboxed on a
// dark background.
func ExampleCompose() {
	p := avatar.Default()
	rig, _ := avatar.NewRig(p.Entries())
	decode := func(hash string) image.Image {
		f, _ := p.File(hash)
		img, _ := avatar.Decode(f)
		return img
	}
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	bg := image.NewUniform(color.RGBA{0x10, 0x12, 0x18, 0xff})
	avatar.Compose(frame, bg, decode(rig.Face(avatar.Neutral, false)), decode(rig.Mouth(0.5, false)))
	fmt.Println(frame.Bounds(), avatar.Fit(frame.Bounds(), p.Size, p.Size))
	// Output: (0,0)-(640,480) (80,0)-(560,480)
}
