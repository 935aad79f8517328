package history

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bolterrors "go.etcd.io/bbolt/errors"
)

var schemaKey = []byte("parley_schema_version")

// indexed is the document stored per turn.
type indexed struct {
	Text         string    `json:"text"`
	Role         string    `json:"role"`
	Conversation string    `json:"conversation"`
	Start        time.Time `json:"start"`
}

func doc(t *Turn) indexed {
	return indexed{Text: t.Text, Role: t.Role, Conversation: t.Conversation, Start: t.Start}
}

func docID(t *Turn) string { return t.Conversation + "/" + strconv.Itoa(t.Seq) }

// neutralAnalyzer is the language-neutral fallback: Unicode word
// segmentation and lower case, no stemming and no stop words, so "the",
// "to be" and words of any language can be found.
const neutralAnalyzer = "parley_neutral"

// newMapping: "text" with bleve's English analyzer (stemming, stop words)
// and again as "text_any" with the neutral analyzer (stop words, prefixes,
// other languages); role and conversation as keywords; start as a date.
func newMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	_ = m.AddCustomAnalyzer(neutralAnalyzer, map[string]interface{}{ // a static definition cannot fail
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name},
	})
	d := bleve.NewDocumentMapping()
	english := bleve.NewTextFieldMapping()
	english.Analyzer = en.AnalyzerName
	english.Name = "text"
	neutral := bleve.NewTextFieldMapping()
	neutral.Analyzer = neutralAnalyzer
	neutral.Name = "text_any"
	neutral.Store = false // the text is stored once, in "text"
	// Nothing sorts or facets on the text, and every query names its
	// fields: no doc values, no composite _all field (both cost indexing
	// time for nothing).
	for _, f := range []*mapping.FieldMapping{english, neutral} {
		f.DocValues = false
		f.IncludeInAll = false
	}
	d.AddFieldMappingsAt("text", english, neutral)
	kw := bleve.NewKeywordFieldMapping()
	kw.Analyzer = keyword.Name
	kw.IncludeInAll = false
	kw.DocValues = false
	d.AddFieldMappingsAt("role", kw)
	d.AddFieldMappingsAt("conversation", kw)
	start := bleve.NewDateTimeFieldMapping()
	start.IncludeInAll = false
	d.AddFieldMappingsAt("start", start)
	m.DefaultMapping = d
	return m
}

// ErrInUse is returned by Open when another process holds the history's
// index (another Parley, or a `parley history` command).
var ErrInUse = errors.New("history: in use by another Parley process")

// lockTimeout bounds the wait for the index's file lock.
const lockTimeout = "1s"

func openIndex(dir string) (bleve.Index, error) {
	idx, err := bleve.OpenUsing(dir, map[string]interface{}{"bolt_timeout": lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s)", ErrInUse, dir)
	}
	if err != nil {
		return nil, err
	}
	v, err := idx.GetInternal(schemaKey)
	if err != nil || string(v) != SchemaVersion {
		idx.Close()
		return nil, fmt.Errorf("index schema version %q, want %q", v, SchemaVersion)
	}
	return idx, nil
}

// rebuild makes a new index from every log, in batches.
func (s *Store) rebuild() (bleve.Index, error) {
	dir := s.indexDir()
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("history: remove the old index: %w", err)
	}
	idx, err := bleve.New(dir, newMapping())
	if err != nil {
		return nil, fmt.Errorf("history: new index: %w", err)
	}
	ids, err := s.Conversations()
	if err != nil {
		idx.Close()
		return nil, err
	}
	b := idx.NewBatch()
	n := 0
	for _, id := range ids {
		turns, err := s.read(id)
		if err != nil {
			s.log.Warn("skipping a conversation while rebuilding", "conversation", id, "err", err)
			continue
		}
		for i := range turns {
			if err := b.Index(docID(&turns[i]), doc(&turns[i])); err != nil {
				idx.Close()
				return nil, fmt.Errorf("history: index: %w", err)
			}
			if n++; b.Size() >= 1000 {
				if err := idx.Batch(b); err != nil {
					idx.Close()
					return nil, fmt.Errorf("history: index: %w", err)
				}
				b.Reset()
			}
		}
	}
	if err := idx.Batch(b); err != nil {
		idx.Close()
		return nil, fmt.Errorf("history: index: %w", err)
	}
	// Only a complete index carries the schema version.
	if err := idx.SetInternal(schemaKey, []byte(SchemaVersion)); err != nil {
		idx.Close()
		return nil, fmt.Errorf("history: index: %w", err)
	}
	s.log.Info("search index rebuilt", "turns", n, "conversations", len(ids))
	return idx, nil
}

// Query is a search.
type Query struct {
	Words    string    // what the person typed; "quoted text" is a phrase (of stems: "go forward" also finds "going forward"); the last word also matches as a prefix
	Role     string    // "" for both, or RoleUser / RoleAgent
	From, To time.Time // zero for open ends
	Size     int       // hits to return; 0 means 20
}

// Hit is one matching turn.
type Hit struct {
	Conversation string
	Seq          int
	Role         string
	Start        time.Time
	Text         string
	Fragments    []string // highlighted snippets, matches in <mark>…</mark>
	Score        float64
}

// ErrEmptyQuery is returned by Search for a query with no words.
var ErrEmptyQuery = errors.New("history: nothing to search for")

// Search finds turns: every word must match (English stemming, or the
// language-neutral form), a quoted part must match as a phrase, and the last
// word may be the start of a word (search as you type).
func (s *Store) Search(q Query) ([]Hit, error) {
	words, phrases := splitQuery(q.Words)
	if len(words) == 0 && len(phrases) == 0 {
		return nil, ErrEmptyQuery
	}
	var must, should []query.Query
	stop := make([]bool, len(words))
	allStop := true
	for i, w := range words {
		stop[i] = s.isStopWord(w)
		allStop = allStop && stop[i]
	}
	for i, w := range words {
		last := i == len(words)-1
		// A stop word ("the", "in") only counts when the query has nothing
		// else, as a search engine would; quoted phrases keep every word.
		if stop[i] && !allStop && !last {
			continue
		}
		var alts []query.Query
		if stop[i] {
			exact := bleve.NewMatchQuery(w)
			exact.SetField("text_any")
			exact.Analyzer = neutralAnalyzer // by name: the field is not at its own path
			alts = append(alts, exact)
		} else {
			english := bleve.NewMatchQuery(w)
			english.SetField("text")
			alts = append(alts, english)
		}
		if last {
			// The word being typed may be the start of a word. Its stop
			// words are not in "text", so a stop word being typed only
			// ranks what the other words find.
			p := bleve.NewPrefixQuery(strings.ToLower(w))
			p.SetField("text")
			alts = append(alts, p)
			if len(words) > 1 && (stop[i] || len([]rune(w)) <= 2) {
				should = append(should, bleve.NewDisjunctionQuery(alts...))
				continue
			}
		}
		must = append(must, bleve.NewDisjunctionQuery(alts...))
	}
	for _, p := range phrases {
		english := bleve.NewMatchPhraseQuery(p)
		english.SetField("text")
		exact := bleve.NewMatchPhraseQuery(p)
		exact.SetField("text_any")
		exact.Analyzer = neutralAnalyzer
		must = append(must, bleve.NewDisjunctionQuery(english, exact))
	}
	if q.Role != "" {
		r := bleve.NewTermQuery(q.Role)
		r.SetField("role")
		must = append(must, r)
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		d := bleve.NewDateRangeQuery(q.From, q.To)
		d.SetField("start")
		must = append(must, d)
	}
	size := q.Size
	if size == 0 {
		size = 20
	}
	var q0 query.Query = bleve.NewConjunctionQuery(must...)
	if len(should) > 0 {
		bq := bleve.NewBooleanQuery()
		bq.AddMust(must...)
		bq.AddShould(should...)
		q0 = bq
	}
	req := bleve.NewSearchRequestOptions(q0, size, 0, false)
	req.Fields = []string{"text", "role", "conversation", "start"}
	req.Highlight = bleve.NewHighlightWithStyle("html")
	req.Highlight.AddField("text")
	res, err := s.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("history: search: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		hit := hitOf(h)
		hit.Fragments = h.Fragments["text"]
		hits = append(hits, hit)
	}
	return hits, nil
}

// isStopWord reports whether the English analyzer drops w entirely ("the",
// "to"): such words are matched as themselves instead.
func (s *Store) isStopWord(w string) bool {
	a := s.idx.Mapping().AnalyzerNamed(en.AnalyzerName)
	return a != nil && len(a.Analyze([]byte(w))) == 0
}

// splitQuery separates "quoted phrases" from single words.
func splitQuery(s string) (words, phrases []string) {
	parts := strings.Split(s, `"`)
	for i, p := range parts {
		if i%2 == 1 {
			if p = strings.TrimSpace(p); p != "" {
				phrases = append(phrases, p)
			}
			continue
		}
		words = append(words, strings.Fields(p)...)
	}
	return words, phrases
}

// Recall finds the past turns most relevant to text, for a language model's
// memory: any of its words may match (English stemming; stop words do not
// count), best first, at most n, none from the conversation exclude (the
// one in progress, whose turns the model already has). Turns shorter than
// three words are skipped as too thin to help. It returns no hits and no
// error when text has no searchable words.
func (s *Store) Recall(text, exclude string, n int) ([]Hit, error) {
	m := bleve.NewMatchQuery(text)
	m.SetField("text")
	bq := bleve.NewBooleanQuery()
	bq.AddMust(m)
	if exclude != "" {
		c := bleve.NewTermQuery(exclude)
		c.SetField("conversation")
		bq.AddMustNot(c)
	}
	req := bleve.NewSearchRequestOptions(bq, 4*n, 0, false)
	req.Fields = []string{"text", "role", "conversation", "start"}
	res, err := s.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("history: recall: %w", err)
	}
	var hits []Hit
	for _, h := range res.Hits {
		hit := hitOf(h)
		if len(strings.Fields(hit.Text)) < 3 {
			continue
		}
		if hits = append(hits, hit); len(hits) == n {
			break
		}
	}
	return hits, nil
}

// hitOf reads a turn back from a search hit: its ID is conversation/seq,
// and the stored fields carry text, role and start.
func hitOf(h *search.DocumentMatch) Hit {
	conv, seq, _ := strings.Cut(h.ID, "/")
	n, _ := strconv.Atoi(seq)
	hit := Hit{Conversation: conv, Seq: n, Score: h.Score}
	hit.Text, _ = h.Fields["text"].(string)
	hit.Role, _ = h.Fields["role"].(string)
	if st, ok := h.Fields["start"].(string); ok {
		hit.Start, _ = time.Parse(time.RFC3339, st)
	}
	return hit
}
