package cache

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestEviction: over budget, the least recently used unpinned assets go
// first; a read counts as a use; pinned assets stay; LRU order and pins
// survive a reopen.
func TestEviction(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Budget: 3000})
	if err != nil {
		t.Fatal(err)
	}
	a1k := func(seed uint64) []byte { return randBytes(1000, seed) }
	p := Sum(a1k(1))
	s.SetPinned([]Digest{p, Sum([]byte("not stored"))})
	mustPut(t, s, a1k(1))
	a := mustPut(t, s, a1k(2))
	b := mustPut(t, s, a1k(3))
	if _, err := s.ReadFile(a); err != nil { // a is now more recent than b
		t.Fatal(err)
	}
	c := mustPut(t, s, a1k(4)) // 4000 > 3000: b goes
	if got, want := digests(s.List()), []Digest{c, a, p}; !slices.Equal(got, want) {
		t.Fatalf("after the 4th Put: %v, want %v (b = %s evicted)", got, want, b)
	}
	if _, err := os.Lstat(filepath.Join(dir, string(b))); !os.IsNotExist(err) {
		t.Fatal("b's file is still there")
	}
	if _, err := s.ReadFile(p); err != nil { // the pinned one is the most recent
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: the order and the pin hold.
	s, _ = openStore(t, dir, 3000)
	if got, want := digests(s.List()), []Digest{p, c, a}; !slices.Equal(got, want) {
		t.Fatalf("after reopening: %v, want %v", got, want)
	}
	if es := s.List(); !es[0].Pinned || es[1].Pinned {
		t.Fatalf("pins after reopening: %+v", es)
	}
	d := mustPut(t, s, a1k(5)) // a is the least recently used
	if got, want := digests(s.List()), []Digest{d, p, c}; !slices.Equal(got, want) {
		t.Fatalf("after a Put on the reopened store: %v, want %v", got, want)
	}
	if s.Size() != 3000 || len(assetNames(t, dir)) != 3 {
		t.Fatalf("size %d, files %v", s.Size(), assetNames(t, dir))
	}
}

// TestEvictionPinnedOverBudget: pinned assets stay even when they alone
// exceed the budget; GC evicts the rest, least recently used first; the
// asset just written is kept.
func TestEvictionPinnedOverBudget(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	var ds []Digest
	for i := range 5 {
		ds = append(ds, mustPut(t, s, randBytes(1000, uint64(20+i))))
	}
	s.SetPinned(ds[3:]) // 2000 bytes pinned
	s.budget = 1500
	rep, err := s.GC()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Evicted, ds[:3]) || rep.EvictedBytes != 3000 {
		t.Fatalf("GC evicted %v (%d bytes), want %v in that order", rep.Evicted, rep.EvictedBytes, ds[:3])
	}
	if got := digests(s.List()); !slices.Equal(got, []Digest{ds[4], ds[3]}) {
		t.Fatalf("left %v", got)
	}
	big := mustPut(t, s, randBytes(2000, 30)) // over budget alone: kept
	if !s.Has(big) || s.Size() != 4000 {
		t.Fatalf("the new asset was evicted: size %d", s.Size())
	}
	s.SetPinned(nil)
	if rep, err := s.GC(); err != nil || !slices.Equal(rep.Evicted, []Digest{ds[3], ds[4], big}) || s.Size() != 0 {
		t.Fatalf("GC after unpinning = %+v, %v", rep, err)
	}
}
