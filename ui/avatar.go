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

// AvatarView draws the agent's avatar: the face and mouth images stacked,
// or the agent's live video in hybrid mode, and a line about the pack's
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

	clock ticker
	n     int // frames shown, for OnFrame
}

// NewAvatarView returns the view; call Start to animate it.
func NewAvatarView(src Animator) *AvatarView {
	v := &AvatarView{src: src, Note: widget.NewLabel("")}
	mk := func() *canvas.Image {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		// GL scales the image (linear filtering). ImageScaleSmooth would make
		// Fyne first rescale it on the CPU (Catmull-Rom) every time a face or
		// mouth changes, even 512→512 when the view is larger than the
		// image: ~9 ms and 1 MB of garbage per change (BenchmarkInCall).
		img.ScaleMode = canvas.ImageScaleFastest
		img.SetMinSize(fyne.NewSize(240, 240))
		return img
	}
	v.Face, v.Mouth, v.Video = mk(), mk(), mk()
	v.Video.Hide()
	v.Note.Alignment = fyne.TextAlignCenter
	v.Note.Wrapping = fyne.TextWrapWord
	v.Box = container.NewBorder(nil, v.Note, nil, nil, container.NewStack(v.Face, v.Mouth, v.Video))
	return v
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
	if !same(v.Face.Image, f.Face) {
		v.Face.Image = f.Face
		v.Face.Refresh()
	}
	if !same(v.Mouth.Image, f.Mouth) {
		v.Mouth.Image = f.Mouth
		v.Mouth.Refresh()
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
