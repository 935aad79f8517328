package app

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/device/pulsetest"
)

// TestCameraOnOff: the camera (the test pattern, as this machine has no
// camera) turned on before a call shows in the self-view and is sent once
// the call connects; off mid-call stops the frames; on again sends again.
// A camera that is not there says so and stays off.
func TestCameraOnOff(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	a, r := startApp(t, Config{Echo: true, NoHistory: true, CameraID: camera.TestPatternID, VideoPreset: "320x240"})
	a.SetCamera(true)
	if !a.Status().Camera {
		t.Fatalf("the camera is not on: %+v", a.Status())
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.SelfView() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no self-view frame in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b := a.SelfView().Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("self-view %v", b)
	}
	a.Call()
	r.waitFor(t, call.InCall)
	frames := func() int64 { return a.currentCall().CameraStats().Frames }
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not in 5 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("camera frames sent", func() bool { return frames() >= 10 })

	a.SetCamera(false)
	if a.Status().Camera || a.SelfView() != nil {
		t.Fatal("the camera is still on")
	}
	n := frames()
	time.Sleep(time.Second)
	if m := frames(); m != n {
		t.Fatalf("%d frames sent in the second after the camera went off", m-n)
	}
	a.SetCamera(true)
	waitUntil("camera frames again", func() bool { return frames() >= n+10 })
	a.Hangup()
	r.waitFor(t, call.Ended)
	a.SetCamera(false)

	// A saved camera that is gone falls back to the first camera; with
	// none at all (as here) the camera stays off and the notice says why.
	b, err := New(Config{Echo: true, NoHistory: true, CameraID: "v4l2:usb-gone-camera"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.SetCamera(true)
	if s := b.Status(); s.Camera || !strings.Contains(s.Notice, "test pattern") {
		t.Fatalf("no camera: camera %v, notice %q", s.Camera, s.Notice)
	}
}
