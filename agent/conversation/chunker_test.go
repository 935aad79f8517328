package conversation

import (
	"reflect"
	"strings"
	"testing"
)

func TestChunker(t *testing.T) {
	cases := []struct {
		name   string
		deltas []string
		want   []string
	}{
		{"sentences", []string{"Hello", " there.", " How are", " you? I", "'m fine!"}, []string{"Hello there.", "How are you?", "I'm fine!"}},
		{"decimal and version", []string{"Pi is 3.14 and Go 1.26 is out. Yes"}, []string{"Pi is 3.14 and Go 1.26 is out.", "Yes"}},
		{"waits for the space", []string{"Done.", "", " Next."}, []string{"Done.", "Next."}},
		{"line breaks", []string{"- one\n- two\n\nthree"}, []string{"- one", "- two", "three"}},
		{"ellipsis and unicode", []string{"Well… café is nice. ¿Qué? Sí."}, []string{"Well…", "café is nice.", "¿Qué?", "Sí."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ch Chunker
			var got []string
			for _, d := range c.deltas {
				got = append(got, ch.Push(d)...)
			}
			if rest := ch.Flush(); rest != "" {
				got = append(got, rest)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestChunkerCutsRunOnSentences(t *testing.T) {
	ch := Chunker{MaxChars: 40}
	long := "this sentence never ends, it just goes on and on without a stop and keeps going"
	var got []string
	for _, w := range strings.SplitAfter(long, " ") {
		got = append(got, ch.Push(w)...)
	}
	got = append(got, ch.Flush())
	if strings.Join(got, " ") != long {
		t.Fatalf("words lost or changed: %q", got)
	}
	for _, s := range got {
		if len(s) > 41 {
			t.Fatalf("chunk of %d chars: %q", len(s), s)
		}
	}
	if len(got) < 2 || got[0] != "this sentence never ends," {
		t.Fatalf("want a cut at the comma first, got %q", got)
	}
}
