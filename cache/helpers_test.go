package cache

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf collects a store's log lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// openStore opens a store in dir, closed at the end of the test. Its log
// goes to the returned buffer.
func openStore(t testing.TB, dir string, budget int64) (*Store, *logBuf) {
	t.Helper()
	var lb logBuf
	s, err := Open(dir, Options{Budget: budget, Log: slog.New(slog.NewTextHandler(&lb, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, &lb
}

// randBytes returns n pseudo-random bytes, the same for the same seed.
func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// dirNames lists dir, sorted.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	slices.Sort(out)
	return out
}

// assetNames lists the files of dir that are not the index: assets and
// anything else a write might have left.
func assetNames(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range dirNames(t, dir) {
		if n != indexName {
			out = append(out, n)
		}
	}
	return out
}

// tempNames lists the temp files in dir.
func tempNames(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range dirNames(t, dir) {
		if strings.HasPrefix(n, tempPrefix) {
			out = append(out, n)
		}
	}
	return out
}

// mustPut stores b and returns its digest.
func mustPut(t testing.TB, s *Store, b []byte) Digest {
	t.Helper()
	d, err := s.PutBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// flipByte corrupts the file at path in place: same size, one byte changed.
func flipByte(t testing.TB, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func digests(es []Entry) []Digest {
	out := make([]Digest, len(es))
	for i, e := range es {
		out[i] = e.Digest
	}
	return out
}
