package app

import (
	"slices"

	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device"
)

// Devices are what the settings offer to choose from: the sound system's
// microphones and speakers (malgo) and the video sources (mediadevices
// cameras, then the test pattern and the screen).
type Devices struct {
	Mics, Speakers []device.Info
	Cameras        []camera.Info
}

// Devices lists the devices connected now. Listing asks the sound server:
// call it off the UI goroutine. It returns the sound system's error
// (device.ErrNoDevice) with the cameras still listed.
func (a *App) Devices() (Devices, error) {
	d := Devices{Cameras: camera.Devices()}
	devs, err := a.soundSystem()
	if err != nil {
		return d, err
	}
	if d.Mics, err = devs.Devices(device.Microphone); err != nil {
		return d, err
	}
	d.Speakers, err = devs.Devices(device.Speaker)
	return d, err
}

// soundSystem returns the app's connection to the sound system, opening it
// on first use (without holding the app's lock: a backend can take a
// while).
func (a *App) soundSystem() (*device.Context, error) {
	a.mu.Lock()
	devs := a.devs
	a.mu.Unlock()
	if devs != nil {
		return devs, nil
	}
	d, err := device.NewContext(a.cfg.Log)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.devs == nil {
		a.devs = d
	} else {
		d.Close()
	}
	return a.devs, nil
}

// Equal reports whether d and o list the same devices in the same order.
func (d Devices) Equal(o Devices) bool {
	return slices.Equal(d.Mics, o.Mics) && slices.Equal(d.Speakers, o.Speakers) && slices.Equal(d.Cameras, o.Cameras)
}
