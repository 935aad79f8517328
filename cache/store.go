package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/adrg/xdg"
)

const (
	// tempPrefix starts the name of every file the store writes before
	// renaming it into place.
	tempPrefix = "tmp-"
	// indexSaveDelay is how long after a change the index is written: reads
	// and puts in a burst cost one write.
	indexSaveDelay = 2 * time.Second
	dirPerm        = 0o755
	filePerm       = 0o644
)

// DefaultDir is where the app keeps its assets:
// $XDG_CACHE_HOME/parley/assets (~/.cache/parley/assets on Linux).
func DefaultDir() string { return filepath.Join(xdg.CacheHome, "parley", "assets") }

// Options configures a Store.
type Options struct {
	// Budget is the most bytes of assets the store keeps; 0 (or less) means
	// no limit. Over budget, the least recently used unpinned assets are
	// evicted. Pinned assets, and the asset just written, are kept even when
	// they alone exceed it.
	Budget int64
	// Log receives the store's warnings (corrupt files evicted, index
	// rebuilt); nil discards them.
	Log *slog.Logger
}

// Entry describes one stored asset.
type Entry struct {
	Digest   Digest    `json:"digest"`
	Size     int64     `json:"size"` // bytes
	LastUsed time.Time `json:"last_used"`
	Pinned   bool      `json:"pinned"`
}

// Store is a content-addressed store of assets in one directory. It is safe
// for concurrent use by multiple goroutines. A directory is meant for one
// process at a time: another process's GC may remove this one's writes in
// progress (the Put then fails; nothing half-written is ever visible).
type Store struct {
	root   *os.Root
	dir    string
	log    *slog.Logger
	budget int64

	mu       sync.Mutex
	entries  map[Digest]*entry
	pinned   map[Digest]bool
	total    int64           // bytes of all entries
	inflight map[string]bool // temp files this store is writing
	lastUse  time.Time       // latest last-use handed out: keeps LRU order strict
	dirty    bool            // the index file is behind
	timer    *time.Timer     // pending index write
	timers   sync.WaitGroup  // a running index-write timer
	closed   bool
	// openCorrupt are the files Open removed because they did not hash to
	// their name: the next Verify reports them.
	openCorrupt []Digest
	// openLeftovers are the temp files Open removed: the next GC reports
	// them.
	openLeftovers scanReport

	saveMu sync.Mutex // one index write at a time

	// hashed counts files hashed to build the index (Open, GC): 0 on a warm
	// open of an unchanged store.
	hashed atomic.Int64
	// beforeRename, when set, runs after a Put's fsync and before its
	// rename; an error makes Put return at once, leaving the temp file as a
	// crash would.
	beforeRename func() error
	saveDelay    time.Duration
}

// entry is the index's view of one file.
type entry struct {
	size  int64
	mtime int64 // file modification time, Unix ns
	used  time.Time
}

// Open opens (creating it if needed) the store in dir. It removes the temp
// files of writes that a crash interrupted and loads the index; files whose
// size and mtime match the index are trusted without rehashing, other
// asset files are hashed once (and removed if the content does not match the
// name). A missing or unreadable index is rebuilt, never an error.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("cache: open: empty directory name")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("cache: open: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: open: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		root: root, dir: dir, budget: opts.Budget,
		log:     log.With("component", "cache"),
		entries: map[Digest]*entry{}, pinned: map[Digest]bool{}, inflight: map[string]bool{},
		saveDelay: indexSaveDelay,
	}
	if err := s.load(); err != nil {
		root.Close()
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close writes the index if it changed and releases the directory. It is
// safe to call more than once; later calls return nil. Operations after
// Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.timer != nil && s.timer.Stop() {
		s.timers.Done() // the timer will not run
	}
	s.timer = nil
	s.mu.Unlock()
	s.timers.Wait()

	err := s.saveIndex(false)
	if cerr := s.root.Close(); err == nil {
		err = cerr
	}
	return err
}

// Has reports whether d is stored. It is cheap: the index and one stat, no
// hashing (reads verify).
func (s *Store) Has(d Digest) bool {
	_, ok := s.present(d)
	return ok
}

// present returns d's size if the index has it and its file is there with
// that size. An entry whose file has gone is dropped.
func (s *Store) present(d Digest) (int64, bool) {
	name, err := d.fileName()
	if err != nil {
		return 0, false
	}
	s.mu.Lock()
	e, ok := s.entries[d]
	closed := s.closed
	s.mu.Unlock()
	if !ok || closed {
		return 0, false
	}
	fi, err := s.root.Lstat(name)
	if err == nil && fi.Mode().IsRegular() && fi.Size() == e.size {
		return e.size, true
	}
	if errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		if s.entries[d] == e {
			s.removeEntryLocked(d)
			s.scheduleSaveLocked()
		}
		s.mu.Unlock()
	}
	return 0, false
}

// ReadFile returns the bytes of d, verified: if the file no longer hashes to
// d it is removed and the error is ErrCorrupt (fetch it again). A digest the
// store does not hold is ErrNotFound. A read makes d the most recently used.
func (s *Store) ReadFile(d Digest) ([]byte, error) {
	if _, err := d.fileName(); err != nil {
		return nil, fmt.Errorf("cache: read: %w", err)
	}
	s.mu.Lock()
	_, ok := s.entries[d]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if !ok {
		return nil, fmt.Errorf("cache: read %s: %w", d, ErrNotFound)
	}
	f, fi, err := s.openAsset(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("cache: read %s: %w", d, ErrNotFound)
	case errors.Is(err, ErrCorrupt):
		return nil, fmt.Errorf("cache: read %s: %w (removed; fetch it again)", d, err)
	case err != nil:
		return nil, fmt.Errorf("cache: read %s: %w", d, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(min(fi.Size(), MaxAssetSize)) + bytes.MinRead)
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("cache: read %s: %w", d, err)
	}
	if Sum(buf.Bytes()) != d {
		s.evictCorrupt(d, fi)
		return nil, fmt.Errorf("cache: read %s: %w (removed; fetch it again)", d, ErrCorrupt)
	}
	s.mu.Lock()
	if e, ok := s.entries[d]; ok {
		e.used = s.tickLocked()
		s.scheduleSaveLocked()
	}
	s.mu.Unlock()
	return buf.Bytes(), nil
}

// errNotRegular: an asset's name is taken by something other than a regular
// file (a symlink, a directory).
var errNotRegular = errors.New("not a regular file")

// openAsset opens d's file for reading. A missing file drops d from the
// index (fs.ErrNotExist). Anything but a regular file under d's name (a
// symlink planted there, say) is removed, never followed, and d dropped
// (ErrCorrupt).
func (s *Store) openAsset(d Digest) (*os.File, os.FileInfo, error) {
	name := string(d)
	lfi, err := s.root.Lstat(name)
	if err == nil && !lfi.Mode().IsRegular() {
		s.evictCorrupt(d, lfi)
		return nil, nil, fmt.Errorf("%w: %s", ErrCorrupt, errNotRegular)
	}
	var f *os.File
	if err == nil {
		f, err = s.root.Open(name)
	}
	if errors.Is(err, fs.ErrNotExist) {
		s.dropEntry(d, nil)
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	// The name may have been replaced since the Lstat (a concurrent Put of
	// the same digest): what counts is that a regular file was opened; its
	// bytes are verified by the caller.
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", name, errNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// Remove deletes d from the store; ErrNotFound if it was not there.
func (s *Store) Remove(d Digest) error {
	name, err := d.fileName()
	if err != nil {
		return fmt.Errorf("cache: remove: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	_, indexed := s.entries[d]
	err = s.root.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
		if !indexed {
			return fmt.Errorf("cache: remove %s: %w", d, ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("cache: remove %s: %w", d, err)
	}
	s.removeEntryLocked(d)
	s.scheduleSaveLocked()
	return nil
}

// evictCorrupt removes d's file if it is still the one that was read (fi),
// and d's entry, and says so in the log.
func (s *Store) evictCorrupt(d Digest, fi os.FileInfo) {
	s.log.Warn("corrupt asset removed", "digest", string(d))
	s.dropEntry(d, fi)
}

// dropEntry removes d from the index, and its file if fi is nil or the file
// is still fi (a concurrent Put may have replaced it with a good one).
func (s *Store) dropEntry(d Digest, fi os.FileInfo) {
	name := string(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if fi != nil {
		cur, err := s.root.Lstat(name)
		if err == nil && !os.SameFile(fi, cur) {
			return // replaced meanwhile
		}
		if err == nil {
			if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("could not remove a corrupt asset", "digest", name, "err", err)
			}
		}
	}
	s.removeEntryLocked(d)
	s.scheduleSaveLocked()
}

// setEntryLocked adds or replaces d's entry.
func (s *Store) setEntryLocked(d Digest, e *entry) {
	if old, ok := s.entries[d]; ok {
		s.total -= old.size
	}
	s.entries[d] = e
	s.total += e.size
}

func (s *Store) removeEntryLocked(d Digest) {
	if old, ok := s.entries[d]; ok {
		s.total -= old.size
		delete(s.entries, d)
	}
}

// tickLocked returns a last-use time later than every one handed out
// before, so LRU order never depends on the clock's resolution.
func (s *Store) tickLocked() time.Time {
	now := time.Now().Round(0)
	if !now.After(s.lastUse) {
		now = s.lastUse.Add(time.Nanosecond)
	}
	s.lastUse = now
	return now
}
