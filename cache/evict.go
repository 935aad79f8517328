package cache

import (
	"cmp"
	"errors"
	"io/fs"
	"slices"
)

// GCReport says what GC removed.
type GCReport struct {
	Leftovers     int      // temp files of interrupted writes, foreign files and mislabelled assets removed
	LeftoverBytes int64    // their bytes
	Evicted       []Digest // assets evicted to get under the budget, least recently used first
	EvictedBytes  int64
}

// SetPinned replaces the pinned set (the assets of the active avatar pack):
// pinned assets are never evicted. Invalid digests are ignored. The set is
// kept in the index, so it holds across restarts.
func (s *Store) SetPinned(ds []Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pinned = make(map[Digest]bool, len(ds))
	for _, d := range ds {
		if d.valid() {
			s.pinned[d] = true
		}
	}
	s.scheduleSaveLocked()
}

// List returns the stored assets, most recently used first.
func (s *Store) List() []Entry {
	s.mu.Lock()
	out := make([]Entry, 0, len(s.entries))
	for d, e := range s.entries {
		out = append(out, Entry{Digest: d, Size: e.size, LastUsed: e.used, Pinned: s.pinned[d]})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int {
		if c := b.LastUsed.Compare(a.LastUsed); c != 0 {
			return c
		}
		return cmp.Compare(a.Digest, b.Digest)
	})
	return out
}

// Size is the total size of the stored assets, in bytes.
func (s *Store) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// GC removes what a crash or a stranger left in the directory (temp files
// of interrupted writes, files and symlinks whose names are not digests,
// asset files that do not hash to their name), adopts asset files the index
// lacks, evicts least recently used unpinned assets until the store is
// within its budget and writes the index. The first GC after Open also
// counts the temp files that Open removed.
func (s *Store) GC() (GCReport, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return GCReport{}, ErrClosed
	}
	known := make(map[Digest]indexEntry, len(s.entries))
	for d, e := range s.entries {
		known[d] = indexEntry{Size: e.size, MTime: e.mtime, LastUsed: e.used}
	}
	scan, _, err := s.scanLocked(known, true)
	if err != nil {
		s.mu.Unlock()
		return GCReport{}, err
	}
	rep := GCReport{
		Leftovers:     scan.leftovers + len(scan.mislabelled) + s.openLeftovers.leftovers,
		LeftoverBytes: scan.leftoverBytes + s.openLeftovers.leftoverBytes,
	}
	s.openLeftovers = scanReport{}
	for _, d := range scan.mislabelled {
		rep.LeftoverBytes += known[d].Size
	}
	rep.Evicted, rep.EvictedBytes = s.evictLocked("")
	s.dirty = true
	s.mu.Unlock()
	return rep, s.saveIndex(false)
}

// evictLocked removes least recently used unpinned assets, other than keep,
// until the store is within its budget. It returns them and their bytes.
func (s *Store) evictLocked(keep Digest) ([]Digest, int64) {
	if s.budget <= 0 || s.total <= s.budget {
		return nil, 0
	}
	type cand struct {
		d Digest
		e *entry
	}
	var cands []cand
	for d, e := range s.entries {
		if d != keep && !s.pinned[d] {
			cands = append(cands, cand{d, e})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return a.e.used.Compare(b.e.used) })
	var evicted []Digest
	var freed int64
	for _, c := range cands {
		if s.total <= s.budget {
			break
		}
		if err := s.root.Remove(string(c.d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("could not evict an asset", "digest", string(c.d), "err", err)
			continue
		}
		s.removeEntryLocked(c.d)
		evicted = append(evicted, c.d)
		freed += c.e.size
	}
	if len(evicted) > 0 {
		s.log.Debug("evicted assets over budget", "assets", len(evicted), "bytes", freed, "budget", s.budget)
		s.scheduleSaveLocked()
	}
	if s.total > s.budget {
		s.log.Debug("over budget with only pinned or new assets left", "bytes", s.total, "budget", s.budget)
	}
	return evicted, freed
}
