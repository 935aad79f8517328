package wer

import (
	"fmt"
	"math"
	"testing"
)

func TestWER(t *testing.T) {
	tests := []struct {
		name      string
		ref, hyp  string
		want      float64
		wantEdits int
	}{
		{"identical", "go forward ten meters", "go forward ten meters", 0, 0},
		{"case and punctuation ignored", "Go forward, ten meters!", "go forward ten meters", 0, 0},
		{"one substitution of four", "go forward ten meters", "go forward two meters", 1.0 / 4, 1},
		{"one deletion of four", "go forward ten meters", "go forward meters", 1.0 / 4, 1},
		{"one insertion of four", "go forward ten meters", "go forward ten meters now", 1.0 / 4, 1},
		// the quick brown fox jumps over the lazy dog
		// the slow  grey  snail jumps over the lazy cat  → S S S . . . . S = 4 of 9
		{"four substitutions of nine", "The quick brown fox jumps over the lazy dog", "the slow grey snail jumps over the lazy cat", 4.0 / 9, 4},
		// he was not an ill  disposed young man
		// he was not an illness those young man  → S S = 2 of 8
		{"pocketsphinx's own librivox 0880 result", "he was not an ill disposed young man", "he was not an illness those young man", 2.0 / 8, 2},
		// a b c d → c d a b: delete "a b" at the front and insert it at the
		// back, or substitute all four: no alignment needs fewer than 4 edits
		{"reordered", "a b c d", "c d a b", 4.0 / 4, 4},
		{"hypothesis empty", "go forward", "", 1, 2},
		{"insertions only exceed one", "yes", "yes yes yes", 2, 2},
		{"both empty", "", "", 0, 0},
		{"reference empty", "", "hello", 1, 1},
		{"hyphen splits words", "cold-hearted", "cold hearted", 0, 0},
		{"apostrophe kept", "don't", "dont", 1, 1},
		{"white space of any kind", " go\tforward\n", "go forward", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WER(tt.ref, tt.hyp); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("WER(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
			}
			if got := Distance(Words(tt.ref), Words(tt.hyp)); got != tt.wantEdits {
				t.Errorf("Distance = %d, want %d", got, tt.wantEdits)
			}
		})
	}
}

// TestDistanceSymmetric checks a property of the Levenshtein distance with
// unit costs: it is the same in both directions.
func TestDistanceSymmetric(t *testing.T) {
	pairs := [][2]string{
		{"a b c", "a c"},
		{"kitten sitting on the mat", "sitting kitten the mat on"},
		{"", "x y"},
	}
	for _, p := range pairs {
		a, b := Words(p[0]), Words(p[1])
		if d1, d2 := Distance(a, b), Distance(b, a); d1 != d2 {
			t.Errorf("Distance(%q, %q) = %d but reversed = %d", p[0], p[1], d1, d2)
		}
	}
}

func FuzzWER(f *testing.F) {
	f.Add("go forward ten meters", "go forward two meters")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, ref, hyp string) {
		r, h := Words(ref), Words(hyp)
		d := Distance(r, h)
		if d < abs(len(r)-len(h)) || d > max(len(r), len(h)) {
			t.Fatalf("Distance %d outside [%d, %d]", d, abs(len(r)-len(h)), max(len(r), len(h)))
		}
		if w := WER(ref, hyp); w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			t.Fatalf("WER = %v", w)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func ExampleWER() {
	// One word of four is wrong: 25 %.
	fmt.Println(WER("Go forward ten meters.", "go forward two meters"))
	// Output: 0.25
}
