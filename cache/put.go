package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
)

// Put stores the bytes of r under want. It streams them into a temp file
// inside the store while hashing them, and refuses more than maxSize bytes
// (ErrTooLarge; maxSize ≤ 0 means no limit) and bytes that do not hash to
// want (ErrMismatch); a refused Put leaves nothing behind. An accepted one is
// fsynced, renamed to its digest and the directory fsynced, so a crash never
// leaves a half-written file under a digest's name. If want is already
// stored, r is not read. It returns the asset's size in bytes. After a Put
// the store evicts down to its budget.
func (s *Store) Put(ctx context.Context, r io.Reader, want Digest, maxSize int64) (int64, error) {
	name, err := want.fileName()
	if err != nil {
		return 0, fmt.Errorf("cache: put: %w", err)
	}
	if s.isClosed() {
		return 0, ErrClosed
	}
	if n, ok := s.present(want); ok {
		return n, nil
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return 0, fmt.Errorf("cache: put %s: %w", want.Short(), err)
	}
	n, err := writeVerified(ctx, f, r, want, maxSize)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		s.discardTemp(tmp)
		return 0, fmt.Errorf("cache: put %s: %w", want.Short(), err)
	}
	if s.beforeRename != nil {
		if err := s.beforeRename(); err != nil {
			s.forgetTemp(tmp) // the "process" died: the file stays
			return 0, err
		}
	}
	if err := s.root.Rename(tmp, name); err != nil {
		s.discardTemp(tmp)
		return 0, fmt.Errorf("cache: put %s: %w", want.Short(), err)
	}
	if err := s.syncDir(); err != nil {
		// Some file systems refuse to fsync a directory; the file is
		// complete and verified either way.
		s.log.Warn("could not fsync the store directory", "err", err)
	}
	fi, err := s.root.Lstat(name)
	s.forgetTemp(tmp)
	if err != nil {
		return 0, fmt.Errorf("cache: put %s: %w", want.Short(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	s.setEntryLocked(want, &entry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), used: s.tickLocked()})
	s.evictLocked(want)
	s.scheduleSaveLocked()
	return n, nil
}

// PutBytes stores b and returns its digest.
func (s *Store) PutBytes(b []byte) (Digest, error) {
	d := Sum(b)
	_, err := s.Put(context.Background(), bytes.NewReader(b), d, 0)
	return d, err
}

// writeVerified copies r to f (at most maxSize bytes), checks that the bytes
// hash to want and fsyncs f.
func writeVerified(ctx context.Context, f *os.File, r io.Reader, want Digest, maxSize int64) (int64, error) {
	limit := maxSize
	if limit <= 0 {
		limit = math.MaxInt64 - 1
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, io.LimitReader(r, limit+1)})
	if err != nil {
		return 0, err
	}
	if n > limit {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if got := Digest(hex.EncodeToString(h.Sum(nil))); got != want {
		return 0, fmt.Errorf("%w: %d bytes hash to %s", ErrMismatch, n, got.Short())
	}
	return n, f.Sync()
}

// createTemp creates a new temp file in the root and marks it in flight so
// that GC leaves it alone.
func (s *Store) createTemp() (string, *os.File, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	name := tempPrefix + hex.EncodeToString(rnd[:])
	s.mu.Lock()
	s.inflight[name] = true
	s.mu.Unlock()
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		s.forgetTemp(name)
		return "", nil, err
	}
	return name, f, nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Store) forgetTemp(name string) {
	s.mu.Lock()
	delete(s.inflight, name)
	s.mu.Unlock()
}

// discardTemp removes a temp file that will not be renamed.
func (s *Store) discardTemp(name string) {
	if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("could not remove a temp file", "file", name, "err", err)
	}
	s.forgetTemp(name)
}

// syncDir fsyncs the root directory, making a rename durable.
func (s *Store) syncDir() error {
	d, err := s.root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
