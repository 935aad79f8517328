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
	if d.Speakers, err = devs.Devices(device.Speaker); err != nil {
		return d, err
	}
	a.logDevices(d)
	return d, nil
}

// logDevices logs the devices when they differ from the last ones logged:
// what the settings offer, for a person's bug report.
func (a *App) logDevices(d Devices) {
	a.mu.Lock()
	same := a.listed != nil && a.listed.Equal(d)
	if !same {
		a.listed = &d
	}
	a.mu.Unlock()
	if same {
		return
	}
	names := func(in []device.Info) []string {
		out := make([]string, len(in))
		for i, x := range in {
			out[i] = x.Name
		}
		return out
	}
	cams := make([]string, len(d.Cameras))
	for i, c := range d.Cameras {
		cams[i] = c.Label
	}
	a.log.Info("devices listed", "microphones", names(d.Mics), "speakers", names(d.Speakers), "cameras", cams)
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
