// Package wer scores speech recognition: the word error rate of a
// hypothesis transcript against a reference transcript.
//
// No maintained Go module on the module proxy does word-level edit distance
// (github.com/agnivade/levenshtein compares runes, not words;
// github.com/codycollier/wer and github.com/hbollon/go-edlib are refused by
// the proxy), so the few lines of dynamic programming live here.
package wer

import (
	"strings"
	"unicode"
)

// WER returns the word error rate of hypothesis against reference:
//
//	WER = (S + D + I) / N
//
// where S, D and I are the substitutions, deletions and insertions of the
// minimum word-level edit (Levenshtein) distance from the reference to the
// hypothesis, and N is the number of words in the reference. This is the
// standard definition used by NIST's scoring tool sclite and by
// PocketSphinx's test suite (test/word_align.pl); see also Jurafsky &
// Martin, "Speech and Language Processing" (3rd ed. draft), the section
// "ASR Evaluation: Word Error Rate".
//
// Both texts are normalised first: lowercased, every character that is not a
// letter, digit, apostrophe or space dropped ("Meters," → "meters"), and
// split on white space. The result is 0 for a perfect match and can exceed 1
// when the hypothesis has many insertions. An empty reference gives 0 if the
// hypothesis is empty too and 1 otherwise, rather than dividing by zero.
func WER(reference, hypothesis string) float64 {
	ref, hyp := Words(reference), Words(hypothesis)
	if len(ref) == 0 {
		if len(hyp) == 0 {
			return 0
		}
		return 1
	}
	return float64(Distance(ref, hyp)) / float64(len(ref))
}

// Words normalises text as WER does and returns its words.
func Words(text string) []string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			return unicode.ToLower(r)
		case unicode.IsSpace(r):
			return ' '
		case r == '-':
			return ' ' // "cold-hearted" is two words, as transcripts write it
		}
		return -1
	}, text)
	return strings.Fields(clean)
}

// Distance returns the minimum number of word substitutions, deletions and
// insertions that turn ref into hyp (the Levenshtein distance over words,
// each edit costing 1). It keeps one row of the table: O(len(ref)·len(hyp))
// time, O(len(hyp)) memory.
func Distance(ref, hyp []string) int {
	row := make([]int, len(hyp)+1) // row[j]: distance from ref[:i] to hyp[:j]
	for j := range row {
		row[j] = j // j insertions
	}
	for i := 1; i <= len(ref); i++ {
		diag := row[0] // distance from ref[:i-1] to hyp[:j-1]
		row[0] = i     // i deletions
		for j := 1; j <= len(hyp); j++ {
			sub := diag
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			diag = row[j]
			row[j] = min(sub, row[j]+1, row[j-1]+1) // substitute, delete, insert
		}
	}
	return row[len(hyp)]
}
