package cache

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fillStore puts n assets of size bytes in dir and closes the store.
func fillStore(t testing.TB, dir string, n, size int) []Digest {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []Digest
	for i := range n {
		ds = append(ds, mustPut(t, s, randBytes(size, uint64(100+i))))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestWarmOpen: reopening an unchanged store hashes nothing; a file changed
// behind the store's back (size or mtime) is hashed again, and removed if
// its content no longer matches its name; a file the index lacks is hashed
// and adopted.
func TestWarmOpen(t *testing.T) {
	dir := t.TempDir()
	ds := fillStore(t, dir, 10, 2000)

	s, _ := openStore(t, dir, 0)
	if n := s.hashed.Load(); n != 0 {
		t.Fatalf("warm open hashed %d files, want 0", n)
	}
	before := s.List()
	if len(before) != 10 {
		t.Fatalf("%d entries after reopening, want 10", len(before))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	path := func(d Digest) string { return filepath.Join(dir, string(d)) }
	later := time.Now().Add(time.Hour)
	// Same size, new content and mtime: hashed, mismatch, removed.
	if err := os.WriteFile(path(ds[0]), randBytes(2000, 999), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path(ds[0]), later, later)
	// Only the mtime changed: hashed, kept.
	os.Chtimes(path(ds[1]), later, later)
	// Longer, same mtime as before: hashed, removed.
	fi, _ := os.Stat(path(ds[2]))
	f, _ := os.OpenFile(path(ds[2]), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("x"))
	f.Close()
	os.Chtimes(path(ds[2]), fi.ModTime(), fi.ModTime())
	// Unknown to the index: hashed, adopted.
	extra := randBytes(500, 1000)
	os.WriteFile(path(Sum(extra)), extra, 0o644)

	s2, logs := openStore(t, dir, 0)
	if n := s2.hashed.Load(); n != 4 {
		t.Fatalf("hashed %d files, want the 4 changed ones", n)
	}
	for _, d := range ds[:3] {
		if _, err := os.Lstat(path(d)); !os.IsNotExist(err) && d != ds[1] {
			t.Fatalf("changed file %s kept", d.Short())
		}
	}
	if !s2.Has(ds[1]) || !s2.Has(Sum(extra)) || s2.Has(ds[0]) || s2.Has(ds[2]) {
		t.Fatal("wrong files kept")
	}
	if got := len(s2.List()); got != 9 {
		t.Fatalf("%d entries, want 9", got)
	}
	if !strings.Contains(logs.String(), "does not match its name") {
		t.Fatalf("removal not logged: %s", logs)
	}
	// The next Verify reports what Open removed.
	wantCorrupt := []Digest{ds[0], ds[2]}
	slices.Sort(wantCorrupt)
	if rep, err := s2.Verify(t.Context()); err != nil || !slices.Equal(rep.Corrupt, wantCorrupt) || rep.Files != 9 {
		t.Fatalf("Verify after the open = %+v, %v; want corrupt %v", rep, err, wantCorrupt)
	}
	if rep, _ := s2.Verify(t.Context()); len(rep.Corrupt) != 0 {
		t.Fatalf("reported twice: %+v", rep)
	}
	// Last use survives for the untouched files.
	for _, e := range s2.List() {
		if i := slices.IndexFunc(before, func(b Entry) bool { return b.Digest == e.Digest }); i >= 0 && !before[i].LastUsed.Equal(e.LastUsed) {
			t.Fatalf("last use of %s changed: %v → %v", e.Digest.Short(), before[i].LastUsed, e.LastUsed)
		}
	}
}

// TestIndexRebuilt: a missing, garbled, foreign-version or unreadable index
// is rebuilt by hashing every file, never an error.
func TestIndexRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index func(t *testing.T, p string)
		warn  bool
	}{
		{"missing", func(t *testing.T, p string) { os.Remove(p) }, false},
		{"garbled", func(t *testing.T, p string) { os.WriteFile(p, []byte(`{"version":1,"entries":{`), 0o644) }, true},
		{"other version", func(t *testing.T, p string) { os.WriteFile(p, []byte(`{"version":99}`), 0o644) }, true},
		{"a directory", func(t *testing.T, p string) { os.Remove(p); os.Mkdir(p, 0o755) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ds := fillStore(t, dir, 4, 100)
			tc.index(t, filepath.Join(dir, indexName))
			s, logs := openStore(t, dir, 0)
			if n := s.hashed.Load(); n != 4 {
				t.Fatalf("hashed %d files, want 4", n)
			}
			for _, d := range ds {
				if !s.Has(d) {
					t.Fatalf("lost %s", d.Short())
				}
			}
			if got := strings.Contains(logs.String(), "rebuilding"); got != tc.warn {
				t.Fatalf("warning logged: %v, want %v: %s", got, tc.warn, logs)
			}
		})
	}
}
