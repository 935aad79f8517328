package app

import (
	"bytes"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adrg/xdg"

	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/cache"
)

// TestMain keeps every test's asset cache out of the user's: tests that do
// not choose a CacheDir get the default, under a temporary XDG_CACHE_HOME.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-app-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	xdg.Reload()
	code := m.Run()
	os.RemoveAll(dir)
	if agentBinDir != "" {
		os.RemoveAll(agentBinDir)
	}
	os.Exit(code)
}

// waitAvatar waits until the app's avatar is ready and returns its status.
func waitAvatar(t *testing.T, a *App, within time.Duration) AvatarStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if s := a.Status().Avatar; s.Ready {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the avatar never became ready: %+v", a.Status().Avatar)
	return AvatarStatus{}
}

// TestAvatarPreload: the first start fetches the pack from the local agent
// into the cache; the next start shows the avatar from the cache before
// the agent is even asked, and its sync downloads nothing; a cached file
// corrupted behind the cache's back is found when read and fetched again.
func TestAvatarPreload(t *testing.T) {
	dir := t.TempDir()
	pack := avatar.Default()
	start := func() *App {
		a, err := New(Config{Echo: true, NoHistory: true, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	a := start()
	s := waitAvatar(t, a, 15*time.Second)
	if s.Fetched != len(pack.Files) || s.Pack != pack.Name {
		t.Fatalf("first start: %+v, want all %d files of %q fetched", s, len(pack.Files), pack.Name)
	}
	f := a.Avatar(time.Now())
	if f.Face == nil || f.Mouth == nil || f.Expression != avatar.Neutral || f.Size != image.Pt(512, 512) {
		t.Fatalf("idle avatar frame %+v", f)
	}
	// The layers come cropped to what they draw, placed within the layer.
	layer := image.Rect(0, 0, 512, 512)
	if fb, mb := f.Face.Bounds(), f.Mouth.Bounds(); !fb.In(layer) || !mb.In(layer) || mb.Dx()*mb.Dy() > 100*100 {
		t.Fatalf("idle avatar's face at %v, mouth at %v: want both in %v, the mouth cropped", fb, mb, layer)
	}
	a.Close()

	// Warm start: ready from the cache, nothing downloaded.
	a = start()
	s = waitAvatar(t, a, 5*time.Second)
	<-a.Ready()
	time.Sleep(200 * time.Millisecond) // the sync with the agent
	if s = a.Status().Avatar; s.Fetched != 0 || s.Problem != "" {
		t.Fatalf("warm start downloaded %d (%q)", s.Fetched, s.Problem)
	}
	a.Close()

	// Corrupt a face in place, keeping its size and modification time, so
	// only its SHA-256 can tell.
	face := avatar.Default().Files[0]
	for _, f := range pack.Files {
		if strings.HasPrefix(f.Name, "face-neutral.") {
			face = f
		}
	}
	var path string
	_ = filepath.WalkDir(filepath.Join(dir, "assets"), func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() && strings.HasSuffix(p, face.Hash) {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatal("the face is not in the cache")
	}
	st, _ := os.Stat(path)
	b, _ := os.ReadFile(path)
	b[len(b)/3] ^= 0x55
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	a = start()
	defer a.Close()
	<-a.Ready()
	deadline := time.Now().Add(10 * time.Second)
	for a.Status().Avatar.Fetched != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := a.Status().Avatar; !s.Ready || s.Fetched != 1 {
		t.Fatalf("after corruption: %+v, want ready with the one bad file fetched again", s)
	}
	store, err := a.openStore()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadFile(cache.Digest(face.Hash)); err != nil || cache.Sum(got) != cache.Digest(face.Hash) {
		t.Fatalf("the face was not restored: %v", err)
	}
}

// TestCropRGBAComposesAsTheFullLayers draws every face of the built-in pack
// with every mouth over it twice: from the full 512×512 layers (as RGBA,
// which is what GL is given), and from the layers cropRGBA made, each at
// its Bounds(). The pixels must be the same, and the crops small where the
// layer is mostly transparent.
func TestCropRGBAComposesAsTheFullLayers(t *testing.T) {
	pack := avatar.Default()
	var faces, mouths []image.Image
	for _, f := range pack.Files {
		img, err := avatar.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Name, "mouth") {
			mouths = append(mouths, img)
		} else {
			faces = append(faces, img)
		}
	}
	if len(faces) == 0 || len(mouths) == 0 {
		t.Fatalf("%d faces and %d mouths in the built-in pack", len(faces), len(mouths))
	}
	whole := func(img image.Image) *image.RGBA {
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
		return rgba
	}
	compose := func(layers ...image.Image) *image.RGBA {
		dst := image.NewRGBA(image.Rect(0, 0, 512, 512))
		for _, l := range layers {
			draw.Draw(dst, l.Bounds(), l, l.Bounds().Min, draw.Over)
		}
		return dst
	}
	var croppedMouths int
	for _, m := range mouths {
		c := cropRGBA(m)
		croppedMouths += len(c.Pix)
		if c.Bounds().Dx() > 100 || c.Bounds().Dy() > 100 {
			t.Errorf("a mouth cropped to %v", c.Bounds())
		}
	}
	if whole := 512 * 512 * 4 * len(mouths); croppedMouths*20 > whole {
		t.Errorf("the %d mouths take %d bytes cropped, %d whole: want a twentieth at most", len(mouths), croppedMouths, whole)
	}
	for i, f := range faces {
		cf := cropRGBA(f)
		for j, m := range mouths {
			want, got := compose(whole(f), whole(m)), compose(cf, cropRGBA(m))
			if !bytes.Equal(want.Pix, got.Pix) {
				t.Fatalf("face %d with mouth %d: the cropped layers (%v, %v) draw other pixels than the whole ones", i, j, cf.Bounds(), cropRGBA(m).Bounds())
			}
		}
	}

	// A layer with nothing visible crops to nothing; one that is opaque
	// everywhere keeps its size.
	if c := cropRGBA(image.NewNRGBA(image.Rect(0, 0, 8, 8))); !c.Bounds().Empty() {
		t.Errorf("a transparent layer cropped to %v", c.Bounds())
	}
	full := image.NewRGBA(image.Rect(0, 0, 8, 8))
	draw.Draw(full, full.Rect, image.Black, image.Point{}, draw.Src)
	if c := cropRGBA(full); c.Bounds() != full.Rect {
		t.Errorf("an opaque layer cropped to %v", c.Bounds())
	}
}

// TestLayerSetDecodesFacesOnDemand: of the built-in pack, the mouths stay
// decoded and the faces are kept as their PNG files, decoded when asked
// for, each the same pixels as decoding and cropping it directly; only the
// last decodedLarge decoded are kept, and one asked for twice in a row is
// decoded once.
func TestLayerSetDecodesFacesOnDemand(t *testing.T) {
	pack := avatar.Default()
	l := newLayerSet()
	var faces []avatar.File
	for _, f := range pack.Files {
		img, err := avatar.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		l.add(f.Hash, f, img)
		if strings.HasPrefix(f.Name, "face") {
			faces = append(faces, f)
		}
	}
	if len(l.large) != len(faces) || len(l.small) != len(pack.Files)-len(faces) || l.decoded.Len() != 0 {
		t.Fatalf("%d layers kept decoded, %d as files, %d decoded: want the %d faces as files", len(l.small), len(l.large), l.decoded.Len(), len(faces))
	}
	for _, f := range faces {
		img, err := l.get(f.Hash)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := l.get(f.Hash)
		full, _ := avatar.Decode(f)
		want := cropRGBA(full)
		if got := img.(*image.RGBA); got != again || got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%s on demand: %v (same twice: %v), want %v and its pixels", f.Name, got.Rect, got == again, want.Rect)
		}
	}
	if n := l.decoded.Len(); n != decodedLarge {
		t.Fatalf("%d faces kept decoded after showing all %d, want %d", n, len(faces), decodedLarge)
	}
	var held int
	for _, img := range l.small {
		held += len(img.Pix)
	}
	for _, f := range l.large {
		held += len(f.Data)
	}
	t.Logf("held between frames: %d KB, and %d decoded faces of ~1 MB", held>>10, decodedLarge)
	if img, err := l.get("no such digest"); img != nil || err != nil {
		t.Fatalf("an unknown digest gave %v, %v", img, err)
	}
	if l.has("no such digest") || !l.has(faces[0].Hash) {
		t.Fatal("has is wrong")
	}
}
