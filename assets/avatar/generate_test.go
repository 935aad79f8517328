package avatar_test

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parley-app/parley/assets/avatar/art"
)

// TestCommittedPackIsGenerated redraws the pack into a temporary folder and
// compares it byte for byte with the committed one, so a change to the
// drawing code without `go generate ./assets/avatar` fails here.
func TestCommittedPackIsGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := art.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	names := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	got, want := names("pack"), names(dir)
	if !slices.Equal(got, want) {
		t.Fatalf("assets/avatar/pack holds %v, the code draws %v: run go generate ./assets/avatar", got, want)
	}
	for _, name := range want {
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("pack", name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(fresh, committed) {
			continue
		}
		if filepath.Ext(name) == ".png" && samePixels(t, fresh, committed) {
			t.Errorf("pack/%s: same pixels, other bytes (has the PNG encoder changed?): run go generate ./assets/avatar", name)
			continue
		}
		t.Errorf("pack/%s is stale: run go generate ./assets/avatar", name)
	}
}

func samePixels(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(p []byte) *image.RGBA {
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		out := image.NewRGBA(img.Bounds())
		draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
		return out
	}
	x, y := decode(a), decode(b)
	return x.Rect == y.Rect && bytes.Equal(x.Pix, y.Pix)
}
