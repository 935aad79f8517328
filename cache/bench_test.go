package cache

import "testing"

// benchStore fills a store with 40 files of 100 KB of random data.
func benchStore(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	const files, size = 40, 100_000
	fillStore(b, dir, files, size)
	return dir, files * size
}

// BenchmarkVerify rehashes every file of the store: compare its MB/s with
// `sha256sum` over the same files.
func BenchmarkVerify(b *testing.B) {
	dir, total := benchStore(b)
	s, _ := openStore(b, dir, 0)
	b.SetBytes(total)
	for b.Loop() {
		rep, err := s.Verify(b.Context())
		if err != nil || rep.Files != 40 {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
}

// BenchmarkWarmOpen reopens a store of 40 files whose index is valid: a
// stat per file, no hashing.
func BenchmarkWarmOpen(b *testing.B) {
	dir, _ := benchStore(b)
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if n := s.hashed.Load(); n != 0 {
			b.Fatalf("warm open hashed %d files", n)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
