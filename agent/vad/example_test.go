package vad_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/audio"
)

// Open once per process, New per stream; show Notice to the user when it is
// not empty.
func ExampleOpen() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	vads := vad.Open(log)
	defer vads.Close()
	if vads.Notice != "" {
		fmt.Println(vads.Notice) // e.g. a banner in the call window
	}

	d := vads.New() // one per call, used by that call's audio goroutine
	if c, ok := d.(interface{ Close() error }); ok {
		defer c.Close()
	}
	frame := make([]int16, audio.FrameSamples) // 20 ms of 48 kHz mono
	fmt.Println(vads.Kind, d.IsSpeech(frame))
}
