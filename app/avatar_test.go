package app

import (
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
	if f.Face == nil || f.Mouth == nil || f.Expression != avatar.Neutral || f.Face.Bounds().Dx() != 512 {
		t.Fatalf("idle avatar frame %+v", f)
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
