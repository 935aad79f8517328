package ui

import (
	"image"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"golang.org/x/image/draw"

	"github.com/parley-app/parley/assets/avatar"
)

// SelfViewer gives the latest frame of the person's own camera (nil when
// the camera is off).
type SelfViewer interface {
	SelfView() image.Image
}

// SelfViewSize is the thumbnail's size in the corner of the avatar.
var SelfViewSize = fyne.NewSize(160, 120)

// selfViewPixels is the thumbnail's resolution: twice its size, sharp on
// a HiDPI screen (scale 2) and a quarter of a 640×480 frame.
var selfViewPixels = image.Rect(0, 0, 2*int(SelfViewSize.Width), 2*int(SelfViewSize.Height))

// SelfView is the small picture of the person's own camera, shown while
// the camera is on. Each new camera frame is scaled into one reused
// thumbnail (nearest neighbour, golang.org/x/image/draw: a quarter of the
// CPU of bilinear, and a thumbnail shows no difference) instead of being handed to
// Fyne whole: Fyne would convert every 640×480 frame to a new RGBA image
// (1.2 MB of garbage per frame).
type SelfView struct {
	src   SelfViewer
	Image *canvas.Image

	mu    sync.Mutex
	on    bool
	last  image.Image // the camera frame shown
	thumb *image.RGBA
}

// NewSelfView returns the self-view, hidden until Render(true). The
// window's avatar clock calls Show (PanelEvery).
func NewSelfView(src SelfViewer) *SelfView {
	v := &SelfView{src: src, Image: canvas.NewImageFromImage(nil), thumb: image.NewRGBA(selfViewPixels)}
	v.Image.FillMode = canvas.ImageFillContain
	v.Image.ScaleMode = canvas.ImageScaleFastest
	v.Image.SetMinSize(SelfViewSize)
	v.Image.Hide()
	return v
}

// Render shows or hides the self-view; call it on the Fyne goroutine.
func (v *SelfView) Render(on bool) {
	v.mu.Lock()
	v.on = on
	v.mu.Unlock()
	if on {
		v.Image.Show()
		return
	}
	v.Image.Hide()
	v.Image.Image, v.last = nil, nil
}

// Show draws the latest camera frame, scaled to fit the thumbnail with
// black bars, if it is new; call it on the Fyne goroutine.
func (v *SelfView) Show() {
	v.mu.Lock()
	on := v.on
	v.mu.Unlock()
	if !on {
		return
	}
	img := v.src.SelfView()
	if img == nil || img == v.last {
		return
	}
	v.last = img
	draw.Draw(v.thumb, v.thumb.Rect, image.Black, image.Point{}, draw.Src)
	b := img.Bounds()
	draw.NearestNeighbor.Scale(v.thumb, avatar.Fit(v.thumb.Rect, b.Dx(), b.Dy()), img, b, draw.Src, nil)
	v.Image.Image = v.thumb
	v.Image.Refresh()
}
