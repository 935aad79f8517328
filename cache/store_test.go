package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestPutRead(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	var want []Digest
	var total int64
	for i := range 3 {
		b := randBytes(1000*(i+1), uint64(i))
		n, err := s.Put(t.Context(), bytes.NewReader(b), Sum(b), int64(len(b)))
		if err != nil || n != int64(len(b)) {
			t.Fatalf("Put: %d, %v", n, err)
		}
		got, err := s.ReadFile(Sum(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
		}
		if !s.Has(Sum(b)) {
			t.Fatal("Has is false after Put")
		}
		want = append(want, Sum(b))
		total += int64(len(b))
	}
	if got := assetNames(t, dir); !slices.Equal(got, sortedStrings(want)) {
		t.Fatalf("files %v, want the digests %v", got, want)
	}
	if s.Size() != total {
		t.Fatalf("Size %d, want %d", s.Size(), total)
	}
	// Most recently used first.
	slices.Reverse(want)
	if got := digests(s.List()); !slices.Equal(got, want) {
		t.Fatalf("List %v, want %v", got, want)
	}
	if _, err := s.ReadFile(Sum([]byte("absent"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent digest: %v", err)
	}
}

func sortedStrings(ds []Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	slices.Sort(out)
	return out
}

// TestPutRejects: a refused Put stores nothing and leaves no temp file.
func TestPutRejects(t *testing.T) {
	b := randBytes(5000, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		want    Digest
		max     int64
		wantErr error
	}{
		{"one byte too many", context.Background(), bytes.NewReader(b), Sum(b), int64(len(b)) - 1, ErrTooLarge},
		{"endless", context.Background(), iotest.OneByteReader(zeros{}), Sum(b), 10000, ErrTooLarge},
		{"wrong bytes", context.Background(), bytes.NewReader(b[1:]), Sum(b), 0, ErrMismatch},
		{"flipped byte", context.Background(), bytes.NewReader(append([]byte{b[0] ^ 1}, b[1:]...)), Sum(b), 0, ErrMismatch},
		{"bad digest", context.Background(), bytes.NewReader(b), Digest("../x"), 0, ErrBadDigest},
		{"uppercase digest", context.Background(), bytes.NewReader(b), Digest(strings.ToUpper(string(Sum(b)))), 0, ErrBadDigest},
		{"cancelled", cancelled, bytes.NewReader(b), Sum(b), 0, context.Canceled},
		{"reader fails", context.Background(), io.MultiReader(bytes.NewReader(b[:100]), iotest.ErrReader(boom)), Sum(b), 0, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			n, err := s.Put(tc.ctx, tc.r, tc.want, tc.max)
			if !errors.Is(err, tc.wantErr) || n != 0 {
				t.Fatalf("Put = %d, %v; want %v", n, err, tc.wantErr)
			}
			if s.Has(Sum(b)) || len(s.List()) != 0 || s.Size() != 0 {
				t.Fatal("a refused Put is visible")
			}
			if got := assetNames(t, dir); len(got) != 0 {
				t.Fatalf("a refused Put left %v", got)
			}
		})
	}
}

// zeros is an endless reader.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestPutPresentIsNoop(t *testing.T) {
	s, _ := openStore(t, t.TempDir(), 0)
	d := mustPut(t, s, []byte("hello"))
	n, err := s.Put(t.Context(), iotest.ErrReader(errors.New("read")), d, 1)
	if err != nil || n != 5 {
		t.Fatalf("Put of a stored digest = %d, %v; want 5 without reading", n, err)
	}
}

// TestCrashBeforeRename: a Put that dies between fsync and rename leaves
// its temp file and nothing under the digest; the next Open, or GC, removes
// the temp file.
func TestCrashBeforeRename(t *testing.T) {
	b := randBytes(3000, 2)
	d := Sum(b)
	errCrash := errors.New("crash")
	crash := func(t *testing.T, dir string) *Store {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.beforeRename = func() error { return errCrash }
		if _, err := s.Put(t.Context(), bytes.NewReader(b), d, 0); !errors.Is(err, errCrash) {
			t.Fatalf("Put = %v", err)
		}
		if s.Has(d) {
			t.Fatal("Has is true after a crashed Put")
		}
		if _, err := s.ReadFile(d); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ReadFile = %v, want ErrNotFound", err)
		}
		if _, err := os.Lstat(filepath.Join(dir, string(d))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the digest's file exists: %v", err)
		}
		tmps := tempNames(t, dir)
		if len(tmps) != 1 {
			t.Fatalf("temp files %v, want the crashed write's", tmps)
		}
		// The temp file holds all the bytes: they were written and fsynced.
		if got, _ := os.ReadFile(filepath.Join(dir, tmps[0])); !bytes.Equal(got, b) {
			t.Fatalf("temp file has %d bytes, want %d", len(got), len(b))
		}
		return s
	}
	t.Run("reopen", func(t *testing.T) {
		dir := t.TempDir()
		s := crash(t, dir)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, _ := openStore(t, dir, 0)
		if tmps := tempNames(t, dir); len(tmps) != 0 {
			t.Fatalf("Open left %v", tmps)
		}
		if rep, err := s2.GC(); err != nil || rep.Leftovers != 1 || rep.LeftoverBytes != int64(len(b)) {
			t.Fatalf("the GC after Open = %+v, %v; want the temp file Open removed counted", rep, err)
		}
		if s2.Has(d) || len(s2.List()) != 0 {
			t.Fatal("the crashed write is visible after reopening")
		}
	})
	t.Run("GC", func(t *testing.T) {
		dir := t.TempDir()
		s := crash(t, dir)
		defer s.Close()
		rep, err := s.GC()
		if err != nil || rep.Leftovers != 1 || rep.LeftoverBytes != int64(len(b)) {
			t.Fatalf("GC = %+v, %v; want 1 leftover of %d bytes", rep, err, len(b))
		}
		if tmps := tempNames(t, dir); len(tmps) != 0 {
			t.Fatalf("GC left %v", tmps)
		}
		s.beforeRename = nil
		if _, err := s.Put(t.Context(), bytes.NewReader(b), d, 0); err != nil || !s.Has(d) {
			t.Fatalf("Put after the crash: %v", err)
		}
	})
}

// TestNoHalfWrittenFile: while a Put streams, nothing is readable under the
// digest, and a GC meanwhile does not remove the write in progress.
func TestNoHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	b := randBytes(64<<10, 3)
	d := Sum(b)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(context.Background(), pr, d, 0)
		done <- err
	}()
	if _, err := pw.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	// Half the bytes are in the temp file (the pipe write returned once Put
	// read them).
	if s.Has(d) {
		t.Fatal("Has is true mid-write")
	}
	if _, err := s.ReadFile(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadFile mid-write = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, string(d))); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the digest's file exists mid-write")
	}
	if rep, err := s.GC(); err != nil || rep.Leftovers != 0 {
		t.Fatalf("GC mid-write = %+v, %v; want the write in progress left alone", rep, err)
	}
	if _, err := pw.Write(b[len(b)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadFile(d); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("after the write: %v", err)
	}
}

func TestCorruptRead(t *testing.T) {
	dir := t.TempDir()
	s, logs := openStore(t, dir, 0)
	b := randBytes(4096, 4)
	d := mustPut(t, s, b)
	keep := mustPut(t, s, []byte("other"))
	flipByte(t, filepath.Join(dir, string(d)), 100)
	_, err := s.ReadFile(d)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), string(d)) {
		t.Fatalf("ReadFile of a corrupt file = %v; want ErrCorrupt naming %s", err, d)
	}
	if _, err := os.Lstat(filepath.Join(dir, string(d))); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the corrupt file is still there")
	}
	if s.Has(d) || !slices.Equal(digests(s.List()), []Digest{keep}) || s.Size() != 5 {
		t.Fatalf("index after eviction: %v, %d bytes", s.List(), s.Size())
	}
	if !strings.Contains(logs.String(), "corrupt asset removed") {
		t.Fatalf("not logged: %s", logs)
	}
	if _, err := s.ReadFile(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second read = %v, want ErrNotFound", err)
	}
	// Refetching it works.
	if _, err := s.PutBytes(b); err != nil || !s.Has(d) {
		t.Fatalf("Put after corruption: %v", err)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	var ds []Digest
	for i := range 6 {
		ds = append(ds, mustPut(t, s, randBytes(1000, uint64(10+i))))
	}
	flipByte(t, filepath.Join(dir, string(ds[1])), 0)
	flipByte(t, filepath.Join(dir, string(ds[4])), 999)
	if err := os.Remove(filepath.Join(dir, string(ds[2]))); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantCorrupt := []Digest{ds[1], ds[4]}
	slices.Sort(wantCorrupt)
	if rep.Files != 5 || rep.Bytes != 5000 || !slices.Equal(rep.Corrupt, wantCorrupt) || !slices.Equal(rep.Missing, []Digest{ds[2]}) {
		t.Fatalf("Verify = %+v; want 5 files, 5000 bytes, corrupt %v, missing %v", rep, wantCorrupt, ds[2])
	}
	want := []string{string(ds[0]), string(ds[3]), string(ds[5])}
	slices.Sort(want)
	if got := assetNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files after Verify %v, want %v", got, want)
	}
	if rep, err := s.Verify(t.Context()); err != nil || rep.Files != 3 || len(rep.Corrupt)+len(rep.Missing) != 0 {
		t.Fatalf("second Verify = %+v, %v", rep, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Verify(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a cancelled context = %v", err)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	d := mustPut(t, s, []byte("x"))
	if err := s.Remove(d); err != nil || s.Has(d) || len(assetNames(t, dir)) != 0 {
		t.Fatalf("Remove = %v", err)
	}
	if err := s.Remove(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove = %v", err)
	}
	if err := s.Remove("x"); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("Remove(x) = %v", err)
	}
}

func TestClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := mustPut(t, s, []byte("x"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.ReadFile(d); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadFile after Close = %v", err)
	}
	if _, err := s.PutBytes([]byte("y")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
	if _, err := s.GC(); !errors.Is(err, ErrClosed) {
		t.Fatalf("GC after Close = %v", err)
	}
	if s.Has(d) {
		t.Fatal("Has after Close")
	}
}

// TestIndexWrittenLater: changes reach index.json within the save delay,
// not on every change, and on Close.
func TestIndexWrittenLater(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.saveDelay = 300 * time.Millisecond
	d := mustPut(t, s, []byte("x"))
	if _, err := os.Stat(filepath.Join(dir, indexName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("index written at once: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, indexName)); err == nil && strings.Contains(string(b), string(d)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("index not written within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A read changes the last use: written on Close, not before.
	before, _ := os.ReadFile(filepath.Join(dir, indexName))
	if _, err := s.ReadFile(d); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, indexName)); !bytes.Equal(now, before) {
		t.Fatal("index written on a read")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, indexName)); bytes.Equal(now, before) {
		t.Fatal("the last use was not written on Close")
	}
}
