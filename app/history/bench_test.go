package history

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// prose is real English text found on every Debian system: the GPL-3 text
// (base-files) and the librivox transcriptions of pocketsphinx-testdata. Turns
// are consecutive stretches of it, so words and phrases have the
// frequencies of real prose (a vocabulary of ~1,400 words).
func prose(tb testing.TB) []string {
	var words []string
	for _, p := range []string{"/usr/share/common-licenses/GPL-3", "/usr/share/pocketsphinx/test/data/librivox/transcription"} {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatalf("%v (run make deps)", err)
		}
		for _, w := range strings.Fields(string(b)) {
			w = strings.ToLower(strings.Trim(w, `.,;:()"'<>/`))
			if w != "" && !strings.HasPrefix(w, "sense_and") && w != "s" {
				words = append(words, w)
			}
		}
	}
	return words
}

// writeCorpus writes n turns in conversations of 100, straight into the
// logs (what months of calls would leave), and returns some of their texts.
// Each turn is a random stretch of 5–20 consecutive words of prose.
func writeCorpus(tb testing.TB, dir string, n int) []string {
	words := prose(tb)
	r := rand.New(rand.NewPCG(1, 2))
	os.MkdirAll(filepath.Join(dir, "conversations"), 0o700)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var samples []string
	for c := 0; c*100 < n; c++ {
		id := fmt.Sprintf("%s-%06x", start.Add(time.Duration(c)*time.Hour).Format("20060102T150405Z"), c)
		f, err := os.Create(filepath.Join(dir, "conversations", id+".jsonl"))
		if err != nil {
			tb.Fatal(err)
		}
		enc := json.NewEncoder(f)
		for i := 0; i < 100 && c*100+i < n; i++ {
			k := 5 + r.IntN(15)
			at := r.IntN(len(words) - k)
			text := words[at : at+k]
			role := RoleUser
			if i%2 == 1 {
				role = RoleAgent
			}
			tm := start.Add(time.Duration(c)*time.Hour + time.Duration(i)*10*time.Second)
			enc.Encode(Turn{Conversation: id, Seq: i + 1, Role: role, Text: strings.Join(text, " "), Start: tm, End: tm.Add(5 * time.Second)})
			if r.IntN(200) == 0 {
				samples = append(samples, strings.Join(text, " "))
			}
		}
		f.Close()
	}
	return samples
}

// BenchmarkHistory100k rebuilds the index of 100,000 turns of real prose
// from their logs, reopens it, and times match, phrase and prefix queries
// (p50/p99 over 300 queries each). Goal (issue 7): rebuild >= 10,000 turns/s, p50 <= 2 ms.
func BenchmarkHistory100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	samples := writeCorpus(b, dir, n)
	for b.Loop() {
		start := time.Now()
		s, err := Open(dir, nil) // no index yet: rebuilt from the logs
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "rebuild_turns/s")
		// Query the index as the next launch finds it: scorch goes on merging
		// the rebuilt segments in the background for a while, and queries on
		// two cores would time that instead.
		s.Close()
		if s, err = Open(dir, nil); err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		for _, kind := range []string{"match", "phrase", "prefix"} {
			var lat []time.Duration
			for i := 0; i < 300; i++ {
				ws := strings.Fields(samples[r.IntN(len(samples))])
				k := r.IntN(len(ws) - 1)
				var q string
				switch kind {
				case "match":
					q = ws[k] + " " + ws[k+1]
				case "phrase":
					q = `"` + ws[k] + " " + ws[k+1] + `"`
				case "prefix":
					q = ws[k][:max(1, min(3, len(ws[k])))]
				}
				t0 := time.Now()
				if _, err := s.Search(Query{Words: q, Size: 10}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, kind+"_p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, kind+"_p99_ms")
		}
		s.Close()
		os.RemoveAll(filepath.Join(dir, "index"))
	}
}
