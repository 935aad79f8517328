// Package history keeps every conversation and makes it searchable. Each
// conversation is an append-only JSONL log (one Turn per line, fsynced after
// each final turn): the source of truth. A bleve index (scorch, on disk) over
// the logs serves full-text search; it carries a schema version and is
// rebuilt from the logs when it is missing, unreadable or of another version.
package history

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/adrg/xdg"
	"github.com/blevesearch/bleve/v2"
)

// SchemaVersion names the index layout; an index of another version is
// rebuilt from the logs.
const SchemaVersion = "3" // 2: neutral field without stop words, with term vectors; 3: no doc values, no _all

// Roles of a turn.
const (
	RoleUser  = "user"
	RoleAgent = "agent"
)

// Errors.
var (
	// ErrNotFound: no conversation with that ID.
	ErrNotFound = errors.New("history: no such conversation")
	// ErrBadID: the ID is not one this package made.
	ErrBadID = errors.New("history: malformed conversation ID")
	// ErrBadTurn: a turn without role or text, or with an unknown role.
	ErrBadTurn = errors.New("history: invalid turn")
)

// Turn is one final utterance of a conversation.
type Turn struct {
	Conversation string             `json:"conversation"`
	Seq          int                `json:"seq"`  // position in the conversation, from 1 (set by Append)
	Role         string             `json:"role"` // RoleUser or RoleAgent
	Text         string             `json:"text"`
	Start        time.Time          `json:"start"`
	End          time.Time          `json:"end"`
	Metrics      map[string]float64 `json:"metrics,omitempty"` // per-turn latencies in ms, by name
}

// idPattern is what NewConversation makes: a UTC timestamp and 6 random hex
// digits, so IDs sort by time and are safe as file names.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// DefaultDir is where history lives: $XDG_DATA_HOME/parley/history
// (~/.local/share/parley/history on Linux).
func DefaultDir() string { return filepath.Join(xdg.DataHome, "parley", "history") }

// Store is one user's history: the logs under dir/conversations and the
// index under dir/index. It is safe for concurrent use.
type Store struct {
	dir string
	log *slog.Logger

	mu   sync.Mutex // serialises appends and deletes
	seqs map[string]int
	idx  bleve.Index
}

// Open opens the history in dir (created if missing). The index is opened,
// or rebuilt from the logs when it is missing, damaged or of another schema
// version. It returns an error only when dir cannot be used.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, log: log.With("component", "history"), seqs: map[string]int{}}
	if err := os.MkdirAll(s.logDir(), 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	idx, err := openIndex(s.indexDir())
	switch {
	case errors.Is(err, ErrInUse):
		return nil, err // never rebuild under another process's feet
	case err != nil:
		s.log.Warn("rebuilding the search index", "reason", err)
		if idx, err = s.rebuild(); err != nil {
			return nil, err
		}
	default:
		s.idx = idx
		s.reconcile()
	}
	s.idx = idx
	return s, nil
}

// reconcile indexes again any conversation whose last turn the index lacks:
// a crash between writing a turn to the log and indexing it, or an indexing
// error, would otherwise hide that turn from search for good. It reads only
// the end of each log.
func (s *Store) reconcile() {
	ids, err := s.Conversations()
	if err != nil {
		return
	}
	for _, id := range ids {
		last, err := s.lastTurn(id)
		if err != nil || last == nil {
			continue
		}
		if d, err := s.idx.Document(docID(last)); err == nil && d != nil {
			continue
		}
		turns, err := s.read(id)
		if err != nil {
			continue
		}
		b := s.idx.NewBatch()
		for i := range turns {
			_ = b.Index(docID(&turns[i]), doc(&turns[i]))
		}
		if err := s.idx.Batch(b); err != nil {
			s.log.Warn("re-indexing a conversation", "conversation", id, "err", err)
			continue
		}
		s.log.Info("re-indexed a conversation the index had missed", "conversation", id, "turns", len(turns))
	}
}

// lastTurn reads the last complete turn of a log from its last 64 KiB.
func (s *Store) lastTurn(id string) (*Turn, error) {
	p, err := s.logPath(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-64<<10, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		var t Turn
		if json.Unmarshal(lines[i], &t) == nil && t.Conversation == id {
			return &t, nil
		}
	}
	return nil, nil
}

func (s *Store) logDir() string   { return filepath.Join(s.dir, "conversations") }
func (s *Store) indexDir() string { return filepath.Join(s.dir, "index") }

func (s *Store) logPath(id string) (string, error) {
	if !idPattern.MatchString(id) {
		return "", fmt.Errorf("%w: %q", ErrBadID, id)
	}
	return filepath.Join(s.logDir(), id+".jsonl"), nil
}

// NewConversation returns a fresh conversation ID for turns starting at t.
func NewConversation(t time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Append adds a final turn to its conversation: one JSON line, written in a
// single write and fsynced, then indexed. It sets t.Seq. A torn last line
// left by a crash is cut off first, so it cannot swallow this one.
func (s *Store) Append(t *Turn) error {
	if (t.Role != RoleUser && t.Role != RoleAgent) || strings.TrimSpace(t.Text) == "" {
		return fmt.Errorf("%w: role %q, %d bytes of text", ErrBadTurn, t.Role, len(t.Text))
	}
	p, err := s.logPath(t.Conversation)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, ok := s.seqs[t.Conversation]
	if !ok {
		turns, err := s.read(t.Conversation)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		for _, old := range turns {
			seq = max(seq, old.Seq)
		}
	}
	t.Seq = seq + 1
	line, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := appendLine(p, append(line, '\n')); err != nil {
		delete(s.seqs, t.Conversation) // re-read the log next time: the line may be there
		return err
	}
	s.seqs[t.Conversation] = t.Seq
	if err := s.idx.Index(docID(t), doc(t)); err != nil {
		// The log has the turn; a later rebuild will index it.
		s.log.Warn("indexing a turn failed", "conversation", t.Conversation, "err", err)
	}
	return nil
}

// appendLine writes line at the end of p with one write and fsyncs it,
// first truncating a torn last line (one without its newline).
func appendLine(p string, line []byte) error {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	end := st.Size()
	if end > 0 {
		if end, err = cleanEnd(f, end); err != nil {
			return err
		}
	}
	if _, err := f.WriteAt(line, end); err != nil {
		return fmt.Errorf("history: write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("history: fsync %s: %w", p, err)
	}
	return nil
}

// cleanEnd returns where the next line goes: size if the file ends with a
// newline, else just after the last newline (the torn tail is cut).
func cleanEnd(f *os.File, size int64) (int64, error) {
	const chunk = 4096
	buf := make([]byte, chunk)
	for pos := size; pos > 0; {
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		if _, err := f.ReadAt(buf[:n], pos-n); err != nil {
			return 0, fmt.Errorf("history: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end := pos - n + int64(i) + 1
			if end != size {
				if err := f.Truncate(end); err != nil {
					return 0, fmt.Errorf("history: cut a torn line: %w", err)
				}
			}
			return end, nil
		}
		pos -= n
	}
	return 0, f.Truncate(0)
}

// Conversation returns the turns of one conversation, in order. Lines that
// do not parse (a torn last line after a crash) are skipped with a warning.
func (s *Store) Conversation(id string) ([]Turn, error) {
	return s.read(id)
}

func (s *Store) read(id string) ([]Turn, error) {
	p, err := s.logPath(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	return readTurns(f, id, s.log)
}

func readTurns(r io.Reader, id string, log *slog.Logger) ([]Turn, error) {
	var turns []Turn
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		var t Turn
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil || t.Conversation != id {
			log.Warn("skipping an unreadable history line", "conversation", id, "line", n)
			continue
		}
		turns = append(turns, t)
	}
	if err := sc.Err(); err != nil {
		return turns, fmt.Errorf("history: read %s: %w", id, err)
	}
	return turns, nil
}

// Conversations lists the conversation IDs, newest first.
func (s *Store) Conversations() ([]string, error) {
	entries, err := os.ReadDir(s.logDir())
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".jsonl"); ok && idPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids, nil
}

// Delete removes a conversation from the log and the index.
func (s *Store) Delete(id string) error {
	p, err := s.logPath(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	turns, err := s.read(id)
	if err != nil {
		return err
	}
	b := s.idx.NewBatch()
	for i := range turns {
		b.Delete(docID(&turns[i]))
	}
	if err := s.idx.Batch(b); err != nil {
		return fmt.Errorf("history: unindex %s: %w", id, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	delete(s.seqs, id)
	return nil
}

// Reindex rebuilds the index from the logs.
func (s *Store) Reindex() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.idx.Close(); err != nil {
		s.log.Warn("closing the old index", "err", err)
	}
	idx, err := s.rebuild()
	if err != nil {
		return err
	}
	s.idx = idx
	return nil
}

// Close closes the index; the logs need nothing.
func (s *Store) Close() error { return s.idx.Close() }
