// Package camera captures video for a call: real cameras (V4L2, through
// pion/mediadevices' camera driver), the X11 screen (mediadevices' screen
// driver) and a moving test pattern drawn here.
//
// A Source delivers frames of one Preset's size (4:2:0 *image.YCbCr,
// scaled and letterboxed when the device cannot give exactly that size)
// at the preset's frame rate; media/vp8 encodes them as they are.
//
// Importing the package registers mediadevices' V4L2 and X11 drivers
// (their init): the first looks for V4L2 devices under /dev and opens each
// briefly to read its name, the second opens the X display once if
// DISPLAY is set. Without a camera or a display they find nothing, in
// microseconds and without a word on stdout or stderr. Devices scans again
// (and Open does, for an ID it does not know), so a camera plugged in
// later and a display reached later are found.
package camera

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/availability"
	v4l2 "github.com/pion/mediadevices/pkg/driver/camera"
	x11 "github.com/pion/mediadevices/pkg/driver/screen"
)

// Kind is what a video source is.
type Kind int

// The kinds of video source.
const (
	Camera      Kind = iota + 1 // a V4L2 camera
	TestPattern                 // the moving test pattern drawn by this package
	Screen                      // an X11 screen, captured whole
)

func (k Kind) String() string {
	switch k {
	case Camera:
		return "camera"
	case TestPattern:
		return "test pattern"
	case Screen:
		return "screen"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Info describes a video source.
//
// ID is stable across launches, for the settings to save:
//   - a camera: "v4l2:" and the name of its link in /dev/v4l/by-id (model
//     and serial number, e.g. "v4l2:usb-046d_HD_Webcam_C525_A1B2C3D4-video-index0":
//     the same camera in any USB port), else in /dev/v4l/by-path (the
//     port it is in), else the device node ("v4l2:video0", which can change
//     when cameras are added or removed);
//   - the test pattern: TestPatternID;
//   - an X11 screen: "x11:" and mediadevices' name for it ("x11:X11Screen0").
type Info struct {
	ID    string
	Label string // for people: the camera's model, "Test pattern", "Screen"
	Kind  Kind
}

// TestPatternID is the ID of the moving test pattern.
const TestPatternID = "test-pattern"

const (
	cameraPrefix = "v4l2:"
	screenPrefix = "x11:"
)

// ErrNotFound is returned (wrapped, with the ID and what to do) by Open
// for a video source that does not exist now: a camera unplugged since
// its ID was saved, a screen without an X display, an unknown ID.
var ErrNotFound = errors.New("camera: video source not found")

// ErrBusy is returned (wrapped) by Open for a camera that another Source
// or program is capturing (V4L2 streams to one reader at a time).
var ErrBusy = errors.New("camera: video source in use")

// scanMu serializes this package's use of mediadevices' global driver
// registry: a rescan deletes and registers drivers.
var scanMu sync.Mutex

// Devices lists the video sources available now: the cameras (by ID), then
// the test pattern, then the X11 screens when DISPLAY names a display that
// answers. The test pattern comes before the screens so that a settings
// list without a camera defaults to something that shows nothing private.
// Listing opens each /dev/video* device briefly (to read its name and skip
// the metadata nodes that UVC cameras add); it never fails: a camera that
// cannot be queried is left out.
func Devices() []Info {
	scanMu.Lock()
	defer scanMu.Unlock()
	rescan()
	var cams, screens []Info
	for _, d := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
		info, ok := describe(d)
		switch {
		case !ok:
		case info.Kind == Camera:
			if _, err := driver.IsAvailable(d); err != nil && !errors.Is(err, availability.ErrBusy) {
				continue // a metadata node, or gone
			}
			cams = append(cams, info)
		case info.Kind == Screen:
			screens = append(screens, info)
		}
	}
	byID := func(s []Info) { sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID }) }
	byID(cams)
	byID(screens)
	disambiguate(cams)
	if len(screens) > 1 {
		for i := range screens {
			screens[i].Label = fmt.Sprintf("Screen %d", i+1)
		}
	}
	out := append(cams, Info{ID: TestPatternID, Label: "Test pattern", Kind: TestPattern})
	return append(out, screens...)
}

// rescan makes mediadevices' registry match the devices present now:
// cameras plugged in or out since the last scan, and the X display when
// it became reachable after start (the drivers scan once, at init).
// mediadevices' camera rescan removes every video driver, the screens
// included, so the screens are registered again after it. Called with
// scanMu held.
func rescan() {
	v4l2.Initialize()
	if os.Getenv("DISPLAY") != "" {
		x11.Initialize() // opens the display once; registers nothing if it does not answer
	}
}

// describe returns our Info for one of mediadevices' video drivers, false
// for a driver this package does not offer.
func describe(d driver.Driver) (Info, bool) {
	in := d.Info()
	switch in.DeviceType {
	case driver.Camera:
		// mediadevices' V4L2 label is "<link name>;<device node>", its name
		// "<card name>;<bus info>" (pkg/driver/camera).
		link, node, ok := strings.Cut(in.Label, v4l2.LabelSeparator)
		if !ok || link == "" {
			return Info{}, false // not the V4L2 driver (e.g. mediadevices' videotest)
		}
		label, _, _ := strings.Cut(in.Name, v4l2.LabelSeparator)
		if label = strings.TrimSpace(label); label == "" {
			label = "Camera " + filepath.Base(node)
		}
		return Info{ID: cameraPrefix + link, Label: label, Kind: Camera}, true
	case driver.Screen:
		return Info{ID: screenPrefix + in.Label, Label: "Screen", Kind: Screen}, true
	}
	return Info{}, false
}

// disambiguate appends the device's link name to the labels of cameras
// that share one (two cameras of the same model).
func disambiguate(cams []Info) {
	n := map[string]int{}
	for _, c := range cams {
		n[c.Label]++
	}
	for i, c := range cams {
		if n[c.Label] > 1 {
			cams[i].Label = fmt.Sprintf("%s (%s)", c.Label, strings.TrimPrefix(c.ID, cameraPrefix))
		}
	}
}

// lookup finds the driver of a camera or screen ID: among those
// registered, else after a rescan; nil if there is none. Called with
// scanMu held.
func lookup(id string) driver.Driver {
	find := func() driver.Driver {
		for _, d := range driver.GetManager().Query(driver.FilterVideoRecorder()) {
			if info, ok := describe(d); ok && info.ID == id {
				return d
			}
		}
		return nil
	}
	if d := find(); d != nil {
		return d
	}
	rescan()
	return find()
}

// firstCamera returns the ID of the first camera Devices lists, "" if
// there is none.
func firstCamera() string {
	for _, d := range Devices() {
		if d.Kind == Camera {
			return d.ID
		}
	}
	return ""
}
