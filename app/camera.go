package app

import (
	"errors"
	"fmt"
	"image"

	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/camera"
)

// preset is the camera's video quality from the config.
func (a *App) preset() camera.Preset {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, _ := camera.PresetByName(a.cfg.VideoPreset)
	return p
}

// SetCamera turns the camera on or off. On, it opens the camera of the
// config (a saved camera that is gone falls back to the first one, with a
// notice) at the video preset, shows it in SelfView, and sends it in the
// current call and the ones placed after; off, it stops sending video (no
// black frames) and closes the camera. A camera that cannot be opened
// leaves it off and says why in Status.Notice. Opening a camera can take a
// moment: call it off the UI goroutine.
func (a *App) SetCamera(on bool) {
	a.camMu.Lock() // one switch at a time
	defer a.camMu.Unlock()
	if !on {
		a.swapCamera(nil, "")
		return
	}
	a.mu.Lock()
	id, closed, have := a.cfg.CameraID, a.closed, a.cam != nil
	a.mu.Unlock()
	if closed || have {
		return
	}
	p := a.preset()
	src, err := camera.Open(id, p, a.cfg.Log)
	notice := ""
	if errors.Is(err, camera.ErrNotFound) && id != "" {
		notice = fmt.Sprintf("The camera “%s” is not connected: using the first camera found.", id)
		src, err = camera.Open("", p, a.cfg.Log)
	}
	if err != nil {
		a.log.Warn("camera", "err", err)
		a.update(func(s *Status) bool {
			s.Camera = false
			s.Notice = "The camera could not be turned on: " + cameraProblem(err)
			return true
		})
		return
	}
	a.swapCamera(src, notice)
}

// cameraProblem says what went wrong with the camera, for a person.
func cameraProblem(err error) string {
	switch {
	case errors.Is(err, camera.ErrNotFound):
		return "no camera is connected. In Settings → Devices you can choose the test pattern or the screen instead."
	case errors.Is(err, camera.ErrBusy):
		return "another program is using it. Close that program, then try again."
	}
	return err.Error()
}

// swapCamera makes src (nil: none) the camera, in the app and in the
// current call, and closes the one before. The caller holds camMu.
func (a *App) swapCamera(src *camera.Source, notice string) {
	var old *camera.Source
	var c *call.Call
	a.update(func(s *Status) bool {
		old, a.cam = a.cam, src
		s.Camera = src != nil
		if notice != "" {
			s.Notice = notice
		}
		if a.att != nil && !a.att.ended {
			c = a.att.call
		}
		return true
	})
	if c != nil {
		a.sendCamera(c, src)
	}
	if old != nil {
		if err := old.Close(); err != nil {
			a.log.Warn("closing the camera", "err", err)
		}
	}
}

// sendCamera switches c's camera to src (nil: off).
func (a *App) sendCamera(c *call.Call, src *camera.Source) {
	var err error
	if src == nil {
		err = c.SetCamera(nil) // not a nil *camera.Source in the interface
	} else {
		err = c.SetCamera(src)
	}
	if err != nil && !errors.Is(err, call.ErrCallEnded) {
		a.log.Warn("switching the call's camera", "err", err)
	}
}

// SelfView returns the latest frame of the camera, for the person's own
// picture in the window; nil while the camera is off.
func (a *App) SelfView() image.Image {
	a.mu.Lock()
	src := a.cam
	a.mu.Unlock()
	if src == nil {
		return nil
	}
	return src.Latest()
}
