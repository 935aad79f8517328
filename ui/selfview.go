package ui

import (
	"image"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
)

// SelfViewer gives the latest frame of the person's own camera (nil when
// the camera is off).
type SelfViewer interface {
	SelfView() image.Image
}

// SelfViewInterval is how often the self-view looks for a new camera
// frame: 10 times a second is enough for a thumbnail, and each redraw
// repaints the window.
const SelfViewInterval = 100 * time.Millisecond

// SelfViewSize is the thumbnail's size in the corner of the avatar.
var SelfViewSize = fyne.NewSize(160, 120)

// SelfView is the small picture of the person's own camera, shown while
// the camera is on.
type SelfView struct {
	src   SelfViewer
	Image *canvas.Image

	mu    sync.Mutex
	on    bool
	last  image.Image
	clock ticker
}

// NewSelfView returns the self-view, hidden until Render(true).
func NewSelfView(src SelfViewer) *SelfView {
	v := &SelfView{src: src, Image: canvas.NewImageFromImage(nil)}
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

// Show draws the latest camera frame if it is new; call it on the Fyne
// goroutine.
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
	v.Image.Image = img
	v.Image.Refresh()
}

// Start looks for new frames every SelfViewInterval until Stop.
func (v *SelfView) Start() {
	v.clock.start(SelfViewInterval, func(time.Time) {
		v.mu.Lock()
		on := v.on
		v.mu.Unlock()
		if on {
			fyne.Do(v.Show)
		}
	})
}

// Stop ends the ticker and waits for it.
func (v *SelfView) Stop() { v.clock.halt() }
