package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
)

// VerifyReport says what Verify checked and removed.
type VerifyReport struct {
	Files   int      // asset files rehashed
	Bytes   int64    // their bytes
	Corrupt []Digest // files that no longer hashed to their name, removed by this Verify or by the Open before it
	Missing []Digest // indexed assets whose file had gone: dropped from the index
}

// Verify rehashes every stored asset. Corrupt files are removed (and listed,
// with those the Open before found changed and corrupt) so that a later Sync
// fetches them again. It stops early, with the context's
// error, when ctx is done.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return rep, ErrClosed
	}
	ds := make([]Digest, 0, len(s.entries))
	for d := range s.entries {
		ds = append(ds, d)
	}
	rep.Corrupt, s.openCorrupt = s.openCorrupt, nil
	s.mu.Unlock()
	slices.Sort(ds)
	buf := make([]byte, 128<<10)
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("cache: verify: %w", err)
		}
		n, err := s.verifyOne(d, buf)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			rep.Missing = append(rep.Missing, d)
		case errors.Is(err, ErrCorrupt):
			rep.Files++
			rep.Bytes += n
			rep.Corrupt = append(rep.Corrupt, d)
		case err != nil:
			return rep, fmt.Errorf("cache: verify %s: %w", d, err)
		default:
			rep.Files++
			rep.Bytes += n
		}
	}
	slices.Sort(rep.Corrupt)
	return rep, s.saveIndex(false)
}

// verifyOne rehashes d's file (buf is scratch space); a mismatch removes it (ErrCorrupt), a missing
// file drops d from the index (fs.ErrNotExist).
func (s *Store) verifyOne(d Digest, buf []byte) (int64, error) {
	f, fi, err := s.openAsset(d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf); err != nil { // not f.WriteTo: it would not use buf
		return 0, err
	}
	if Digest(hex.EncodeToString(h.Sum(nil))) != d {
		s.evictCorrupt(d, fi)
		return fi.Size(), ErrCorrupt
	}
	return fi.Size(), nil
}
