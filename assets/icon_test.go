package assets

import (
	"bytes"
	"image/png"
	"os"
	"testing"
)

func TestIconMatchesCommittedPNG(t *testing.T) {
	got := IconPNG()
	img, err := png.Decode(bytes.NewReader(got))
	if err != nil || img.Bounds().Dx() != IconSize {
		t.Fatalf("icon does not decode as a %d px PNG: %v", IconSize, err)
	}
	want, err := os.ReadFile("icon.png")
	if err != nil {
		t.Fatalf("%v: run go generate ./assets", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("assets/icon.png is stale: run go generate ./assets")
	}
}
