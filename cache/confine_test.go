package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGCLeftovers: GC removes temp files, foreign files and symlinks,
// uppercase (non-canonical) names and mislabelled assets, leaves
// directories and good assets alone.
func TestGCLeftovers(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	outside := filepath.Join(parent, "outside")
	os.WriteFile(outside, []byte("outside"), 0o644)
	s, _ := openStore(t, dir, 0)
	good := mustPut(t, s, []byte("good"))
	bad := Sum([]byte("bad"))
	for name, content := range map[string]string{
		"tmp-0123": "half", "junk.txt": "junk", string(Sum([]byte("x")))[:10]: "short",
		string(bytes.ToUpper([]byte(Sum([]byte("up"))))): "up", string(bad): "not bad",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	rep, err := s.GC()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Leftovers != 6 || len(rep.Evicted) != 0 {
		t.Fatalf("GC = %+v, want 6 leftovers", rep)
	}
	if got, want := dirNames(t, dir), []string{string(good), indexName, "sub"}; !slices.Equal(got, want) {
		t.Fatalf("after GC: %v, want %v", got, want)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "outside" {
		t.Fatalf("the symlink's target changed: %q, %v", b, err)
	}
	if s.Has(bad) {
		t.Fatal("mislabelled file adopted")
	}
}

// TestConfinement plants symlinks to files outside the store, under digest
// names, temp names and the index's name, before and after Open: the store
// never reads, writes or removes the targets, and Put replaces such a link
// with a real file.
func TestConfinement(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	out := filepath.Join(parent, "outside")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(out, 0o755)
	secret := []byte("secret outside the store")
	files := map[string][]byte{
		"secret": secret,
		"index":  []byte(`{"version":1,"entries":{}}`),
		"tmp":    []byte("temp target"),
		"other":  []byte("other"),
	}
	for n, b := range files {
		os.WriteFile(filepath.Join(out, n), b, 0o644)
	}
	checkOutside := func() {
		t.Helper()
		for n, b := range files {
			if got, err := os.ReadFile(filepath.Join(out, n)); err != nil || !bytes.Equal(got, b) {
				t.Fatalf("outside file %s: %q, %v", n, got, err)
			}
		}
	}
	d := Sum(secret)
	os.Symlink(filepath.Join(out, "secret"), filepath.Join(dir, string(d)))         // absolute
	os.Symlink("../outside/other", filepath.Join(dir, string(Sum(files["other"])))) // relative, escaping
	os.Symlink(filepath.Join(out, "index"), filepath.Join(dir, indexName))          // the index
	os.Symlink(filepath.Join(out, "tmp"), filepath.Join(dir, tempPrefix+"planted")) // a "temp file"

	s, _ := openStore(t, dir, 0)
	checkOutside()
	if s.Has(d) || len(s.List()) != 0 {
		t.Fatal("a symlink was taken for an asset")
	}
	if _, err := s.ReadFile(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadFile through a symlink = %v", err)
	}
	// os.Root itself refuses to leave the root.
	if _, err := s.root.Open("../outside/secret"); err == nil {
		t.Fatal("os.Root opened a file outside")
	}
	if _, err := s.root.Open(string(d)); err == nil {
		t.Fatal("os.Root followed a symlink outside")
	}
	// Put replaces the link with the real bytes.
	if _, err := s.PutBytes(secret); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, string(d))); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("after Put: %v, %v", fi, err)
	}
	checkOutside()

	// A symlink swapped in for a stored asset after Open: a read removes
	// the link (ErrCorrupt), never the target.
	o := mustPut(t, s, []byte("o"))
	os.Remove(filepath.Join(dir, string(o)))
	os.Symlink(filepath.Join(out, "secret"), filepath.Join(dir, string(o)))
	if _, err := s.ReadFile(o); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFile of a swapped-in symlink = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, string(o))); !os.IsNotExist(err) {
		t.Fatal("the swapped-in symlink is still there")
	}
	// The same via Verify.
	o2 := mustPut(t, s, []byte("o2"))
	os.Remove(filepath.Join(dir, string(o2)))
	os.Symlink(filepath.Join(out, "other"), filepath.Join(dir, string(o2)))
	if rep, err := s.Verify(t.Context()); err != nil || !slices.Equal(rep.Corrupt, []Digest{o2}) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	if _, err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkOutside()
	if fi, err := os.Lstat(filepath.Join(dir, indexName)); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("index.json is not a regular file of the store: %v, %v", fi, err)
	}
	for _, n := range dirNames(t, dir) {
		if fi, _ := os.Lstat(filepath.Join(dir, n)); fi.Mode()&os.ModeSymlink != 0 {
			t.Fatalf("symlink %s left after GC", n)
		}
	}
}
