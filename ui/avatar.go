package ui

import (
	"fmt"
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app"
)

// Animator is what the avatar view asks the app for every frame.
type Animator interface {
	Avatar(t time.Time) app.AvatarFrame
}

// AvatarInterval is how often the avatar view asks for a new frame: 25
// times a second. Each change redraws the window (Fyne repaints the whole
// canvas), so this is as often as the mouth needs, not more. The view asks
// for the frame half an interval ahead, so what it shows is at most half an
// interval off the audio (±20 ms).
const AvatarInterval = 40 * time.Millisecond

// AvatarView draws the agent's avatar: the face with the mouth over it, or
// the agent's live video in hybrid mode, and a line about the pack's
// preload until it is ready. Start it with Start; Stop ends its ticker.
type AvatarView struct {
	src   Animator
	Face  *canvas.Image
	Mouth *canvas.Image
	Video *canvas.Image
	Note  *widget.Label // "Loading the avatar…", or why it could not load
	Box   *fyne.Container

	// OnFrame, if set, runs on the Fyne goroutine after each frame is
	// shown, with the frame's number: what else the window draws in step
	// with the avatar, so that it shares the avatar's repaint.
	OnFrame func(n int)

	clock  ticker
	n      int             // frames shown, for OnFrame
	layers *fyne.Container // Face, Mouth and Video, placed by layerLayout
	frame  image.Point     // the pack's layer size (app.AvatarFrame.Size)
}

// NewAvatarView returns the view; call Start to animate it.
func NewAvatarView(src Animator) *AvatarView {
	v := &AvatarView{src: src, Note: widget.NewLabel("")}
	mk := func() *canvas.Image {
		img := canvas.NewImageFromImage(nil)
		// layerLayout sizes Face and Mouth to their aspect, and Video
		// to the view.
		img.FillMode = canvas.ImageFillStretch
		// GL scales the image (linear filtering). ImageScaleSmooth would make
		// Fyne first rescale it on the CPU (Catmull-Rom) every time a face or
		// mouth changes, even 512→512 when the view is larger than the
		// image: ~9 ms and 1 MB of garbage per change (BenchmarkInCall).
		img.ScaleMode = canvas.ImageScaleFastest
		return img
	}
	v.Face, v.Mouth, v.Video = mk(), mk(), mk()
	v.Video.FillMode = canvas.ImageFillContain
	v.Video.Hide()
	v.Note.Alignment = fyne.TextAlignCenter
	v.Note.Wrapping = fyne.TextWrapWord
	v.layers = container.New(layerLayout{v}, v.Face, v.Mouth, v.Video)
	v.Box = container.NewBorder(nil, v.Note, nil, nil, v.layers)
	return v
}

// layerLayout places the avatar's layers in the view: the pack's layer
// frame (AvatarView.frame, e.g. 512×512) is scaled to fit the view and
// centred, as canvas.ImageFillContain would place a whole layer, and Face
// and Mouth each cover the part of it their Bounds() name (they come
// cropped to what they draw: app.AvatarFrame). Live video fills the view,
// keeping its aspect.
type layerLayout struct{ v *AvatarView }

// avatarMinSize is the smallest the avatar view gets, in Fyne units.
var avatarMinSize = fyne.NewSize(240, 240)

func (l layerLayout) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	l.v.Video.Move(fyne.Position{})
	l.v.Video.Resize(size)
	l.v.place(size)
}

func (l layerLayout) MinSize([]fyne.CanvasObject) fyne.Size { return avatarMinSize }

// place moves and sizes Face and Mouth for a view of the given size.
func (v *AvatarView) place(size fyne.Size) {
	if v.frame.X <= 0 || v.frame.Y <= 0 {
		return
	}
	fw, fh := float32(v.frame.X), float32(v.frame.Y)
	scale := min(size.Width/fw, size.Height/fh)
	origin := fyne.NewPos((size.Width-fw*scale)/2, (size.Height-fh*scale)/2)
	for _, img := range []*canvas.Image{v.Face, v.Mouth} {
		if img.Image == nil {
			continue
		}
		b := img.Image.Bounds()
		img.Move(origin.AddXY(float32(b.Min.X)*scale, float32(b.Min.Y)*scale))
		img.Resize(fyne.NewSize(float32(b.Dx())*scale, float32(b.Dy())*scale))
	}
}

// Start begins asking for frames every AvatarInterval.
func (v *AvatarView) Start() {
	v.clock.start(AvatarInterval, func(now time.Time) {
		f := v.src.Avatar(now.Add(AvatarInterval / 2))
		fyne.Do(func() {
			v.Show(f)
			if v.OnFrame != nil {
				v.OnFrame(v.n)
			}
			v.n++
		})
	})
}

// Stop ends the ticker and waits for it; safe to call twice.
func (v *AvatarView) Stop() { v.clock.halt() }

// Show draws f if it differs from what is shown; call it on the Fyne
// goroutine.
func (v *AvatarView) Show(f app.AvatarFrame) {
	showingVideo := v.Video.Visible()
	if f.Video != nil {
		if !same(v.Video.Image, f.Video) {
			v.Video.Image = f.Video
			v.Video.Show()
			v.Video.Refresh()
		}
		if !showingVideo {
			v.Face.Hide()
			v.Mouth.Hide()
		}
		return
	}
	if showingVideo {
		v.Video.Hide()
		v.Face.Show()
		v.Mouth.Show()
	}
	frame := f.Size
	if frame == (image.Point{}) && f.Face != nil {
		frame = f.Face.Bounds().Max // a frame from a whole, uncropped layer
	}
	moved := frame != v.frame
	v.frame = frame
	for _, l := range []struct {
		obj *canvas.Image
		img image.Image
	}{{v.Face, f.Face}, {v.Mouth, f.Mouth}} {
		if same(l.obj.Image, l.img) {
			continue
		}
		if l.obj.Image == nil || l.img == nil || l.obj.Image.Bounds() != l.img.Bounds() {
			moved = true
		}
		l.obj.Image = l.img
		l.obj.Refresh()
	}
	if moved {
		v.place(v.layers.Size())
	}
}

// Render shows the pack's preload state; call it on the Fyne goroutine.
func (v *AvatarView) Render(s app.AvatarStatus) {
	switch {
	case s.Ready:
		v.Note.SetText("")
		v.Note.Hide()
	case s.Problem != "":
		v.Note.SetText(s.Problem)
		v.Note.Show()
	case s.Total > 0:
		v.Note.SetText(fmt.Sprintf("Loading the avatar… %d of %d images", s.Done, s.Total))
		v.Note.Show()
	default:
		v.Note.SetText("Loading the avatar…")
		v.Note.Show()
	}
}

// same reports whether a and b are the same image (the app hands out the
// same decoded image for the same asset).
func same(a, b image.Image) bool { return a == b }
