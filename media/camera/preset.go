package camera

import (
	"fmt"
	"time"
)

// Preset is a video quality the settings offer: the frame size a Source
// delivers, the rate it delivers frames at and the VP8 bit rate the call
// sends them with.
type Preset struct {
	Name          string // what the settings save, e.g. "640x480"
	Width, Height int    // pixels; both even (VP8's 4:2:0 needs it)
	BitRate       int    // VP8 target, bit/s
	FrameRate     int    // frames per second
}

// Presets are the video qualities, smallest first. Treat it as read-only.
var Presets = []Preset{
	{Name: "320x240", Width: 320, Height: 240, BitRate: 250_000, FrameRate: 15},
	{Name: "640x480", Width: 640, Height: 480, BitRate: 500_000, FrameRate: 15},
	{Name: "1024x768", Width: 1024, Height: 768, BitRate: 800_000, FrameRate: 15},
}

// DefaultPreset is 640×480 at 15 fps and 500 kbit/s: enough for a vision
// model to read a face or a page held up to the camera, light enough for
// any uplink and for two cores.
var DefaultPreset = Presets[1]

// PresetByName returns the preset called name (Preset.Name, e.g.
// "640x480") and true, or DefaultPreset and false if there is none.
func PresetByName(name string) (Preset, bool) {
	for _, p := range Presets {
		if p.Name == name {
			return p, true
		}
	}
	return DefaultPreset, false
}

// FrameInterval is the time between two frames (1/FrameRate); 0 if the
// frame rate is not positive.
func (p Preset) FrameInterval() time.Duration {
	if p.FrameRate <= 0 {
		return 0
	}
	return time.Second / time.Duration(p.FrameRate)
}

// String describes p for a person, e.g. "640×480, 15 fps, 500 kbit/s".
func (p Preset) String() string {
	return fmt.Sprintf("%d×%d, %d fps, %d kbit/s", p.Width, p.Height, p.FrameRate, p.BitRate/1000)
}

// check says what is wrong with p for Open, or nil.
func (p Preset) check() error {
	if p.Width <= 0 || p.Height <= 0 || p.Width%2 != 0 || p.Height%2 != 0 {
		return fmt.Errorf("camera: frame size %d×%d must be positive and even", p.Width, p.Height)
	}
	if p.FrameRate <= 0 || p.FrameRate > 120 {
		return fmt.Errorf("camera: frame rate %d fps must be between 1 and 120", p.FrameRate)
	}
	return nil
}
