package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

const (
	// indexName is the index file in the root.
	indexName = "index.json"
	// indexVersion is the layout of index.json; another version is rebuilt.
	indexVersion = 1
	// maxIndexSize bounds the index file read at open; a larger one is
	// treated as unreadable (and rebuilt).
	maxIndexSize = 64 << 20
)

// indexFile is index.json: what Open needs to trust files without hashing
// them, and what LRU and pinning need to survive a restart.
type indexFile struct {
	Version int                   `json:"version"`
	Entries map[Digest]indexEntry `json:"entries"`
	Pinned  []Digest              `json:"pinned,omitempty"`
}

type indexEntry struct {
	Size     int64     `json:"size"`     // bytes
	MTime    int64     `json:"mtime_ns"` // file modification time, Unix ns
	LastUsed time.Time `json:"last_used"`
}

// scanReport is what a scan of the directory found besides good assets.
type scanReport struct {
	leftovers     int   // temp files and foreign files removed
	leftoverBytes int64 // their size
	mislabelled   []Digest
}

// load reads the index and reconciles it with the directory.
func (s *Store) load() error {
	known, pinned := s.readIndex()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range pinned {
		if d.valid() {
			s.pinned[d] = true
		}
	}
	rep, changed, err := s.scanLocked(known, false)
	if err != nil {
		return fmt.Errorf("cache: open %s: %w", s.dir, err)
	}
	if rep.leftovers > 0 {
		s.log.Info("removed temp files left by an interrupted write", "files", rep.leftovers)
	}
	s.openCorrupt = rep.mislabelled
	s.openLeftovers = rep
	s.openLeftovers.mislabelled = nil
	if changed || len(rep.mislabelled) > 0 {
		s.scheduleSaveLocked()
	}
	return nil
}

// readIndex returns the entries and pinned set of index.json, or nothing if
// it is missing or unreadable (the scan then hashes every file).
func (s *Store) readIndex() (map[Digest]indexEntry, []Digest) {
	b, err := s.readIndexBytes()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var idx indexFile
	if err == nil {
		err = json.Unmarshal(b, &idx)
	}
	if err == nil && idx.Version != indexVersion {
		err = fmt.Errorf("version %d, want %d", idx.Version, indexVersion)
	}
	if err != nil {
		s.log.Warn("asset index unreadable; rebuilding it", "err", err)
		if fi, lerr := s.root.Lstat(indexName); lerr == nil && !fi.Mode().IsRegular() {
			// A directory or symlink in the index's place would block
			// writing it: it goes (a symlink is removed, not followed).
			if err := s.root.RemoveAll(indexName); err != nil {
				s.log.Warn("could not remove what is in the index's place", "err", err)
			}
		}
		return nil, nil
	}
	return idx.Entries, idx.Pinned
}

func (s *Store) readIndexBytes() ([]byte, error) {
	f, err := s.root.Open(indexName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err == nil && len(b) > maxIndexSize {
		err = fmt.Errorf("larger than %d bytes", maxIndexSize)
	}
	return b, err
}

// scanLocked rebuilds s.entries from the directory. known holds what the
// index says of each file: a file whose size and mtime match is trusted,
// any other asset file is hashed, and removed if it does not hash to its
// name. Temp files not in flight are removed; with removeForeign, so is
// every other file or symlink whose name is not a digest (directories are
// left alone). It reports whether the entries differ from known.
func (s *Store) scanLocked(known map[Digest]indexEntry, removeForeign bool) (scanReport, bool, error) {
	var rep scanReport
	dir, err := s.root.Open(".")
	if err != nil {
		return rep, false, err
	}
	list, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return rep, false, err
	}
	entries := make(map[Digest]*entry, len(list))
	var total int64
	changed := false
	for _, de := range list {
		name := de.Name()
		d := Digest(name)
		switch {
		case name == indexName, s.inflight[name]:
		case strings.HasPrefix(name, tempPrefix),
			removeForeign && !d.valid() && !de.IsDir(),
			removeForeign && d.valid() && !de.Type().IsRegular() && !de.IsDir():
			s.removeLeftover(name, &rep)
		case d.valid() && de.Type().IsRegular():
			e, err := s.checkFileLocked(d, known)
			if err != nil {
				rep.mislabelled = append(rep.mislabelled, d)
				changed = true
				continue
			}
			if k, ok := known[d]; !ok || k.Size != e.size || k.MTime != e.mtime {
				changed = true
			}
			entries[d] = e
			total += e.size
		}
	}
	if len(entries) != len(known) {
		changed = true
	}
	s.entries, s.total = entries, total
	for _, e := range entries {
		if e.used.After(s.lastUse) {
			s.lastUse = e.used
		}
	}
	return rep, changed, nil
}

// checkFileLocked returns d's entry: from known if the file's size and mtime
// match it, else by hashing the file. A file that does not hash to d is
// removed and the error says so.
func (s *Store) checkFileLocked(d Digest, known map[Digest]indexEntry) (*entry, error) {
	name := string(d)
	fi, err := s.root.Lstat(name)
	if err != nil {
		return nil, err
	}
	e := &entry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), used: fi.ModTime()}
	k, ok := known[d]
	if ok && !k.LastUsed.IsZero() {
		e.used = k.LastUsed
	}
	if ok && k.Size == e.size && k.MTime == e.mtime {
		return e, nil
	}
	got, err := s.hashFile(name)
	if err != nil {
		return nil, err
	}
	if got != d {
		s.log.Warn("asset file does not match its name; removed", "digest", name, "hash", string(got))
		if err := s.root.Remove(name); err != nil {
			s.log.Warn("could not remove a mislabelled asset", "digest", name, "err", err)
		}
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, d)
	}
	return e, nil
}

// hashFile returns the SHA-256 of a file in the root.
func (s *Store) hashFile(name string) (Digest, error) {
	s.hashed.Add(1)
	f, err := s.root.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return Digest(hex.EncodeToString(h.Sum(nil))), nil
}

// removeLeftover removes a temp or foreign file (a symlink is removed, never
// followed) and counts it.
func (s *Store) removeLeftover(name string, rep *scanReport) {
	var size int64
	if fi, err := s.root.Lstat(name); err == nil {
		size = fi.Size()
	}
	if err := s.root.Remove(name); err != nil {
		s.log.Warn("could not remove a leftover file", "file", name, "err", err)
		return
	}
	rep.leftovers++
	rep.leftoverBytes += size
}

// scheduleSaveLocked marks the index changed and writes it within
// s.saveDelay, once for a burst of changes.
func (s *Store) scheduleSaveLocked() {
	s.dirty = true
	if s.timer != nil || s.closed {
		return
	}
	s.timers.Add(1)
	s.timer = time.AfterFunc(s.saveDelay, func() {
		defer s.timers.Done()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.timer = nil
		s.mu.Unlock()
		if err := s.saveIndex(false); err != nil {
			s.log.Warn("could not write the asset index", "err", err)
		}
	})
}

// saveIndex writes index.json atomically if it is behind (or always, with
// force).
func (s *Store) saveIndex(force bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty && !force {
		s.mu.Unlock()
		return nil
	}
	idx := indexFile{Version: indexVersion, Entries: make(map[Digest]indexEntry, len(s.entries))}
	for d, e := range s.entries {
		idx.Entries[d] = indexEntry{Size: e.size, MTime: e.mtime, LastUsed: e.used}
	}
	for d := range s.pinned {
		idx.Pinned = append(idx.Pinned, d)
	}
	s.dirty = false
	s.mu.Unlock()

	b, err := json.Marshal(idx)
	if err == nil {
		err = s.writeAtomic(indexName, b)
	}
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("cache: write index: %w", err)
	}
	return nil
}

// writeAtomic replaces the file name in the root with b: temp file, fsync,
// rename, fsync of the directory.
func (s *Store) writeAtomic(name string, b []byte) error {
	tmp, f, err := s.createTemp()
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, name)
	}
	if err != nil {
		s.discardTemp(tmp)
		return err
	}
	s.forgetTemp(tmp)
	if err := s.syncDir(); err != nil {
		s.log.Warn("could not fsync the store directory", "err", err)
	}
	return nil
}
