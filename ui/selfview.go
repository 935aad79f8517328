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

	mu      sync.Mutex
	on      bool
	last    image.Image
	stop    chan struct{}
	stopped chan struct{}
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
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stop != nil {
		return
	}
	v.stop, v.stopped = make(chan struct{}), make(chan struct{})
	go func(stop, stopped chan struct{}) {
		defer close(stopped)
		t := time.NewTicker(SelfViewInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				v.mu.Lock()
				on := v.on
				v.mu.Unlock()
				if on {
					fyne.Do(v.Show)
				}
			}
		}
	}(v.stop, v.stopped)
}

// Stop ends the ticker and waits for it.
func (v *SelfView) Stop() {
	v.mu.Lock()
	stop, stopped := v.stop, v.stopped
	v.stop = nil
	v.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
}
