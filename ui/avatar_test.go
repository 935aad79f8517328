package ui

import (
	"image"
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parley-app/parley/app"
	"github.com/parley-app/parley/assets/avatar"
)

// packImage decodes one image of the built-in pack by its file name.
func packImage(t *testing.T, name string) image.Image {
	t.Helper()
	for _, f := range avatar.Default().Files {
		if f.Name == name {
			img, err := avatar.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("the pack has no %s", name)
	return nil
}

// TestAvatarView: the view stacks the face and mouth it is given, swaps
// only what changed, switches to live video and back, and says how the
// preload goes.
func TestAvatarView(t *testing.T) {
	test.NewTempApp(t)
	fc := &fakeCaller{}
	v := NewAvatarView(fc)
	face, blink := packImage(t, "face-neutral.png"), packImage(t, "face-neutral-blink.png")
	shut, open := packImage(t, "mouth-closed.png"), packImage(t, "mouth-open.png")

	v.Show(app.AvatarFrame{Face: face, Mouth: shut})
	if v.Face.Image != face || v.Mouth.Image != shut || !v.Face.Visible() || v.Video.Visible() {
		t.Fatal("the first frame is not shown as face + mouth")
	}
	v.Show(app.AvatarFrame{Face: blink, Mouth: open})
	if v.Face.Image != blink || v.Mouth.Image != open {
		t.Fatal("blink and open mouth not shown")
	}
	video := image.NewRGBA(image.Rect(0, 0, 320, 240))
	v.Show(app.AvatarFrame{Face: face, Mouth: shut, Video: video})
	if !v.Video.Visible() || v.Face.Visible() || v.Mouth.Visible() || v.Video.Image != video {
		t.Fatal("live video does not replace the avatar")
	}
	v.Show(app.AvatarFrame{Face: face, Mouth: shut})
	if v.Video.Visible() || !v.Face.Visible() || v.Face.Image != face {
		t.Fatal("the avatar does not come back after the video")
	}

	v.Render(app.AvatarStatus{Total: 19, Done: 4})
	if !v.Note.Visible() || v.Note.Text != "Loading the avatar… 4 of 19 images" {
		t.Errorf("preload note %q", v.Note.Text)
	}
	v.Render(app.AvatarStatus{Problem: "The avatar could not be loaded: no route"})
	if v.Note.Text != "The avatar could not be loaded: no route" {
		t.Errorf("problem note %q", v.Note.Text)
	}
	v.Render(app.AvatarStatus{Ready: true, Total: 19, Done: 19})
	if v.Note.Visible() {
		t.Error("the note stays once the avatar is ready")
	}
}

// TestAvatarViewAnimates: once started, the view asks the app for frames
// and shows them, and Stop ends its ticker.
func TestAvatarViewAnimates(t *testing.T) {
	test.NewTempApp(t)
	face := packImage(t, "face-happy.png")
	fc := &fakeCaller{frame: app.AvatarFrame{Face: face}}
	v := NewAvatarView(fc)
	v.Start()
	defer v.Stop()
	deadline := time.Now().Add(2 * time.Second)
	for v.Face.Image != face && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if v.Face.Image != face {
		t.Fatal("the view never showed the app's frame")
	}
	v.Stop()
	v.Stop()
}

// TestAvatarViewPlacesCroppedLayers: layers cropped to what they draw are
// placed where they sit in the pack's layer frame, with the frame scaled to
// fit the view and centred, and a mouth of another size moves with it.
func TestAvatarViewPlacesCroppedLayers(t *testing.T) {
	test.NewTempApp(t)
	v := NewAvatarView(&fakeCaller{})
	v.Note.Hide()
	v.Box.Resize(fyne.NewSize(600, 400))
	crop := func(r image.Rectangle) image.Image { return image.NewRGBA(r) }
	face, shut, open := crop(image.Rect(6, 6, 506, 506)), crop(image.Rect(231, 326, 281, 334)), crop(image.Rect(225, 313, 287, 360))
	frame := image.Pt(512, 512)

	// 600×400: the 512×512 frame is shown 400×400 from x = 100.
	const scale = 400.0 / 512
	want := func(name string, obj fyne.CanvasObject, r image.Rectangle) {
		t.Helper()
		pos := fyne.NewPos(100+float32(r.Min.X)*scale, float32(r.Min.Y)*scale)
		size := fyne.NewSize(float32(r.Dx())*scale, float32(r.Dy())*scale)
		if !near(obj.Position(), pos) || !near(fyne.NewPos(obj.Size().Width, obj.Size().Height), fyne.NewPos(size.Width, size.Height)) {
			t.Errorf("%s at %v size %v, want at %v size %v", name, obj.Position(), obj.Size(), pos, size)
		}
	}
	v.Show(app.AvatarFrame{Face: face, Mouth: shut, Size: frame})
	want("face", v.Face, face.Bounds())
	want("closed mouth", v.Mouth, shut.Bounds())
	v.Show(app.AvatarFrame{Face: face, Mouth: open, Size: frame})
	want("open mouth", v.Mouth, open.Bounds())

	// The window grows: 1000×500 shows the frame 500×500 from x = 250.
	v.Box.Resize(fyne.NewSize(1000, 500))
	if got := v.Mouth.Position(); !near(got, fyne.NewPos(250+225*500.0/512, 313*500.0/512)) {
		t.Errorf("after a resize the open mouth is at %v", got)
	}
}

func near(a, b fyne.Position) bool {
	return math.Abs(float64(a.X-b.X)) < 0.01 && math.Abs(float64(a.Y-b.Y)) < 0.01
}
