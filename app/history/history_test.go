package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// corpus is the real speech of the Debian recordings the tests use
// (pocketsphinx-testdata's transcriptions and alsa-utils' voice), as a
// person and the agent would have said it.
var corpus = [][2]string{
	{RoleUser, "go forward ten meters"},
	{RoleAgent, "going forward ten meters now"},
	{RoleUser, "front center"},
	{RoleUser, "she had a good deal of sense and a very fine understanding"},
	{RoleAgent, "the family of Dashwood had long been settled in Sussex"},
	{RoleUser, "turn left and go back five meters"},
}

func fill(t *testing.T, s *Store, start time.Time) []string {
	t.Helper()
	var ids []string
	for c := 0; c < 3; c++ {
		id := NewConversation(start.Add(time.Duration(c) * time.Hour))
		ids = append(ids, id)
		for i, line := range corpus {
			tm := start.Add(time.Duration(c)*time.Hour + time.Duration(i)*time.Second)
			turn := Turn{Conversation: id, Role: line[0], Text: line[1], Start: tm, End: tm.Add(time.Second)}
			if err := s.Append(&turn); err != nil {
				t.Fatal(err)
			}
			if turn.Seq != i+1 {
				t.Fatalf("seq %d, want %d", turn.Seq, i+1)
			}
		}
	}
	return ids
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSearch(t *testing.T) {
	s := open(t, t.TempDir())
	start := time.Date(2026, 11, 14, 10, 0, 0, 0, time.UTC)
	ids := fill(t, s, start)
	tests := []struct {
		name  string
		q     Query
		want  int    // hits
		first string // text of the best hit
	}{
		{"two words of a sentence", Query{Words: "ten forward"}, 6, ""},
		{"stemming", Query{Words: "understandings"}, 3, "she had a good deal of sense and a very fine understanding"},
		{"as you type", Query{Words: "dash"}, 3, "the family of Dashwood had long been settled in Sussex"},
		{"phrase, stemmed, exact first", Query{Words: `"go forward"`}, 6, "go forward ten meters"},
		{"phrase excludes scattered words", Query{Words: `"ten forward"`}, 0, ""},
		{"speaker filter", Query{Words: "forward", Role: RoleAgent}, 3, "going forward ten meters now"},
		{"date filter", Query{Words: "meters", From: start.Add(90 * time.Minute)}, 3, ""},
		{"no match", Query{Words: "elephant"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := s.Search(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "date filter" {
				for _, h := range hits {
					if h.Conversation != ids[2] {
						t.Fatalf("a hit from before From: %+v", h)
					}
				}
			}
			if len(hits) != tt.want {
				t.Fatalf("%d hits, want %d: %+v", len(hits), tt.want, hits)
			}
			if tt.first != "" && hits[0].Text != tt.first {
				t.Fatalf("best hit %q, want %q", hits[0].Text, tt.first)
			}
			if tt.want > 0 && (len(hits[0].Fragments) == 0 || !strings.Contains(hits[0].Fragments[0], "<mark>")) {
				t.Fatalf("no highlighted fragment: %+v", hits[0])
			}
		})
	}
	if _, err := s.Search(Query{Words: "  "}); !errors.Is(err, ErrEmptyQuery) {
		t.Fatalf("empty query: %v", err)
	}
}

// TestTornLine: a crash between write and fsync leaves half a line; reading
// skips it, and the next append does not glue onto it.
func TestTornLine(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	id := NewConversation(time.Now())
	a := Turn{Conversation: id, Role: RoleUser, Text: "first turn", Start: time.Now()}
	if err := s.Append(&a); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "conversations", id+".jsonl")
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"conversation":"` + id + `","seq":2,"role":"agent","te`)
	f.Close()
	turns, err := s.Conversation(id)
	if err != nil || len(turns) != 1 {
		t.Fatalf("after a torn line: %d turns, %v", len(turns), err)
	}
	s2 := open(t, t.TempDir()) // a fresh process would not know the seq either
	_ = s2
	b := Turn{Conversation: id, Role: RoleAgent, Text: "second turn", Start: time.Now()}
	if err := s.Append(&b); err != nil {
		t.Fatal(err)
	}
	turns, _ = s.Conversation(id)
	if len(turns) != 2 || turns[1].Text != "second turn" {
		t.Fatalf("turns after the next append: %+v", turns)
	}
	raw, _ := os.ReadFile(p)
	if bytes.Count(raw, []byte("\n")) != 2 || bytes.Contains(raw, []byte(`"te{`)) {
		t.Fatalf("log:\n%s", raw)
	}
}

// TestRebuild: a deleted, damaged or old-version index is rebuilt from the
// logs on open, and finds what it found before.
func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, time.Now())
	s.Close()
	damage := map[string]func(){
		"deleted": func() { os.RemoveAll(filepath.Join(dir, "index")) },
		"damaged": func() {
			filepath.Walk(filepath.Join(dir, "index"), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					os.WriteFile(p, []byte("garbage"), 0o600)
				}
				return nil
			})
		},
		"old schema": func() {
			s, _ := Open(dir, nil)
			s.idx.SetInternal(schemaKey, []byte("0"))
			s.Close()
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			f()
			s, err := Open(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			hits, err := s.Search(Query{Words: "dashwood"})
			if err != nil || len(hits) != 3 {
				t.Fatalf("%d hits after rebuild, %v", len(hits), err)
			}
		})
	}
}

// TestDeleteRemovesEveryTrace: the log is gone and search finds nothing.
func TestDeleteRemovesEveryTrace(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ids := fill(t, s, time.Now())
	if err := s.Delete(ids[1]); err != nil {
		t.Fatal(err)
	}
	hits, _ := s.Search(Query{Words: "meters", Size: 100})
	for _, h := range hits {
		if h.Conversation == ids[1] {
			t.Fatalf("deleted conversation still found: %+v", h)
		}
	}
	if len(hits) != 6 {
		t.Fatalf("%d hits, want 6 from the two others", len(hits))
	}
	if _, err := os.Stat(filepath.Join(dir, "conversations", ids[1]+".jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("log still there: %v", err)
	}
	if err := s.Reindex(); err != nil {
		t.Fatal(err)
	}
	hits, _ = s.Search(Query{Words: "meters", Size: 100})
	if len(hits) != 6 {
		t.Fatalf("after reindex %d hits", len(hits))
	}
	if err := s.Delete(ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.Delete("../../etc/passwd"); !errors.Is(err, ErrBadID) {
		t.Fatalf("path in ID: %v", err)
	}
}

// TestConcurrentWritesWhileSearching: a call appending turns while someone
// searches loses nothing and breaks nothing.
func TestConcurrentWritesWhileSearching(t *testing.T) {
	s := open(t, t.TempDir())
	id := NewConversation(time.Now())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			turn := Turn{Conversation: id, Role: RoleUser, Text: "turn about meters number " + string(rune('a'+i%26)), Start: time.Now()}
			if err := s.Append(&turn); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			if _, err := s.Search(Query{Words: "meters"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	turns, _ := s.Conversation(id)
	if len(turns) != 200 || turns[199].Seq != 200 {
		t.Fatalf("%d turns, last seq %d", len(turns), turns[len(turns)-1].Seq)
	}
	hits, _ := s.Search(Query{Words: "meters", Size: 1000})
	if len(hits) != 200 {
		t.Fatalf("%d hits, want 200", len(hits))
	}
}

func TestExport(t *testing.T) {
	s := open(t, t.TempDir())
	ids := fill(t, s, time.Date(2026, 11, 14, 10, 0, 0, 0, time.UTC))
	var md, js bytes.Buffer
	if err := s.Export(ids[0], "md", &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**You**") || !strings.Contains(md.String(), "go forward ten meters") {
		t.Fatalf("markdown:\n%s", md.String())
	}
	if err := s.Export(ids[0], "json", &js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Turns []Turn `json:"turns"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Turns) != len(corpus) {
		t.Fatalf("json: %v, %d turns", err, len(back.Turns))
	}
	if err := s.Export(ids[0], "pdf", &md); err == nil {
		t.Fatal("pdf accepted")
	}
}

func TestAppendValidates(t *testing.T) {
	s := open(t, t.TempDir())
	for _, turn := range []Turn{
		{Conversation: NewConversation(time.Now()), Role: "robot", Text: "x"},
		{Conversation: NewConversation(time.Now()), Role: RoleUser, Text: "   "},
		{Conversation: "bad/id", Role: RoleUser, Text: "x"},
	} {
		if err := s.Append(&turn); err == nil {
			t.Fatalf("accepted %+v", turn)
		}
	}
}

// TestStopWordsAndPhrases: what people type includes "the", "to be", "in".
func TestStopWordsAndPhrases(t *testing.T) {
	s := open(t, t.TempDir())
	id := NewConversation(time.Now())
	for _, line := range []string{"what is the weather in paris", "to be or not to be", "the budget for next year"} {
		turn := Turn{Conversation: id, Role: RoleUser, Text: line, Start: time.Now()}
		if err := s.Append(&turn); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{
		"the weather":        1,
		"weather in":         1,
		"about the budget":   1, // "about" is a stop word: budget decides
		"budget the":         1,
		`"to be or not"`:     1,
		`"weather in paris"`: 1,
		"weather i":          1, // typing "in"
		`"paris weather"`:    0,
	} {
		hits, err := s.Search(Query{Words: q})
		if err != nil || len(hits) != want {
			t.Errorf("%s: %d hits, %v; want %d", q, len(hits), err, want)
		}
	}
}

// TestReconcile: a turn in the log that the index never got (a crash
// between the two) is indexed when the history is opened again.
func TestReconcile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := NewConversation(time.Now())
	first := Turn{Conversation: id, Role: RoleUser, Text: "first words", Start: time.Now()}
	if err := s.Append(&first); err != nil {
		t.Fatal(err)
	}
	s.Close()
	line, _ := json.Marshal(Turn{Conversation: id, Seq: 2, Role: RoleAgent, Text: "lost zebra sentence", Start: time.Now()})
	f, _ := os.OpenFile(filepath.Join(dir, "conversations", id+".jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(append(line, '\n'))
	f.Close()
	s = open(t, dir)
	if hits, _ := s.Search(Query{Words: "zebra"}); len(hits) != 1 {
		t.Fatalf("the unindexed turn is still not found: %d hits", len(hits))
	}
}

// TestInUse: a second process opening the same history gets ErrInUse
// after a short wait instead of hanging or rebuilding under the first.
func TestInUse(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	start := time.Now()
	if _, err := Open(dir, nil); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the second open waited too long")
	}
}

// TestRecall: the model's memory finds the past turns that share words with
// what the caller just said, best first, never from the conversation in
// progress, and nothing for words it has never heard.
func TestRecall(t *testing.T) {
	s := open(t, t.TempDir())
	ids := fill(t, s, time.Date(2026, 11, 14, 10, 0, 0, 0, time.UTC))
	hits, err := s.Recall("what did I say about the Dashwood family?", ids[0], 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].Text != "the family of Dashwood had long been settled in Sussex" {
		t.Fatalf("hits %+v", hits)
	}
	for _, h := range hits {
		if h.Conversation == ids[0] {
			t.Fatal("recalled a turn of the conversation in progress")
		}
	}
	if hits, err := s.Recall("forward", "", 2); err != nil || len(hits) != 2 {
		t.Fatalf("limit: %d hits, %v", len(hits), err)
	}
	if hits, err := s.Recall("elephants in the", "", 3); err != nil || len(hits) != 0 {
		t.Fatalf("unknown words: %+v, %v", hits, err)
	}
	if hits, err := s.Recall("", "", 3); err != nil || len(hits) != 0 {
		t.Fatalf("empty: %+v, %v", hits, err)
	}
}
