// Package testspeech hands tests real speech that no one on the team
// recorded, from Debian packages that `make deps` installs (DESIGN.md, "Real
// input for tests"). A missing recording fails the test with the command
// that installs it; it never skips.
package testspeech

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/wavfile"
)

// The recordings.
const (
	// GoForwardRaw is "go forward ten meters", 16 kHz mono s16le, 2.79 s
	// (Debian package pocketsphinx-testdata).
	GoForwardRaw = "/usr/share/pocketsphinx/test/data/goforward.raw"
	// FrontCenterWAV is a voice saying "front center", 48 kHz mono 16-bit
	// WAV, 1.43 s (Debian package alsa-utils).
	FrontCenterWAV = "/usr/share/sounds/alsa/Front_Center.wav"
)

// GoForward returns GoForwardRaw resampled to 48 kHz mono int16.
func GoForward(tb testing.TB) []int16 {
	tb.Helper()
	b, err := os.ReadFile(GoForwardRaw)
	if err != nil {
		tb.Fatalf("%v (run make deps)", err)
	}
	pcm, err := audio.Resample(audio.DecodeS16LE(b), 16000, audio.SampleRate)
	if err != nil {
		tb.Fatal(err)
	}
	return pcm
}

// GoForwardWAV writes GoForwardRaw as a 16 kHz WAV file in a temporary
// directory, the way a person would hand a recording to `parley call`, and
// returns its path.
func GoForwardWAV(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(GoForwardRaw)
	if err != nil {
		tb.Fatalf("%v (run make deps)", err)
	}
	p := filepath.Join(tb.TempDir(), "goforward.wav")
	if err := wavfile.Save(p, audio.DecodeS16LE(b), 16000); err != nil {
		tb.Fatal(err)
	}
	return p
}

// FrontCenter returns FrontCenterWAV as 48 kHz mono int16.
func FrontCenter(tb testing.TB) []int16 {
	tb.Helper()
	pcm, err := wavfile.Load(FrontCenterWAV)
	if err != nil {
		tb.Fatalf("%v (run make deps)", err)
	}
	return pcm
}
