package avatar

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// defaultRig returns the rig of the embedded pack and the file name of
// each of its hashes.
func defaultRig(t *testing.T) (*Rig, map[string]string) {
	t.Helper()
	p := Default()
	r, err := NewRig(p.Entries())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, f := range p.Files {
		names[f.Hash] = f.Name
	}
	return r, names
}

func TestRigMouth(t *testing.T) {
	r, names := defaultRig(t)
	tests := []struct {
		open    float64
		rounded bool
		want    string
	}{
		{0, false, "closed"},
		{0.05, false, "closed"},
		{0.05, true, "closed"},
		{-1, false, "closed"},
		{math.NaN(), true, "closed"},
		{0.1, false, "closed"}, // nearer 0 than 0.25
		{0.13, false, "slight"},
		{0.25, false, "slight"},
		{0.36, false, "slight"},
		{0.4, false, "half"},
		{0.5, false, "half"},
		{0.6, false, "half"},
		{0.7, false, "open"},
		{0.75, false, "open"},
		{0.9, false, "wide"},
		{1, false, "wide"},
		{3, false, "wide"},
		{0.1, true, "closed"},
		{0.2, true, "round-small"},
		{0.35, true, "round-small"},
		{0.6, true, "round"},
		{1, true, "round"}, // rounded lips stay rounded
	}
	for _, tt := range tests {
		got := names[r.Mouth(tt.open, tt.rounded)]
		if got != "mouth-"+tt.want+".png" {
			t.Errorf("Mouth(%v, %v) = %s, want mouth-%s.png", tt.open, tt.rounded, got, tt.want)
		}
	}
}

func TestRigFacesAndRests(t *testing.T) {
	r, names := defaultRig(t)
	rests := map[string]string{Neutral: "closed", Listening: "closed", Thinking: "pursed", Happy: "smile", Surprised: "round-small"}
	for _, e := range RequiredExpressions() {
		if got := names[r.Face(e, false)]; got != "face-"+e+".png" {
			t.Errorf("Face(%s, false) = %s", e, got)
		}
		if got := names[r.Face(e, true)]; got != "face-"+e+"-blink.png" {
			t.Errorf("Face(%s, true) = %s", e, got)
		}
		if got := names[r.Rest(e)]; got != "mouth-"+rests[e]+".png" {
			t.Errorf("Rest(%s) = %s, want mouth-%s.png", e, got, rests[e])
		}
	}
	if r.Face("bored", true) != r.Face(Neutral, true) || r.Rest("bored") != r.Rest(Neutral) {
		t.Error("an unknown expression does not fall back to neutral")
	}
	if got := r.Expressions(); !slices.Equal(got, RequiredExpressions()) {
		t.Errorf("Expressions() = %v", got)
	}
	h := r.Hashes()
	if len(h) != len(names) || !slices.IsSorted(h) {
		t.Errorf("Hashes() = %d hashes (sorted: %v), want %d", len(h), slices.IsSorted(h), len(names))
	}
}

// entry makes an entry whose hash is that of its name.
func entry(name string, tags ...string) Entry {
	s := sha256.Sum256([]byte(name))
	return Entry{Hash: hex.EncodeToString(s[:]), Name: name, Tags: tags}
}

// minimalEntries is the smallest complete avatar, plus an extra expression.
func minimalEntries() []Entry {
	var es []Entry
	for _, e := range append(RequiredExpressions(), "sleepy") {
		es = append(es, entry(e, FaceTags(e, false, "shut")...), entry(e+"-blink", FaceTags(e, true, "shut")...))
	}
	return append(es,
		entry("shut", MouthTags("shut", 0, false)...),
		entry("quarter", MouthTags("quarter", 0.25, false)...),
		entry("three", MouthTags("three", 0.75, false)...),
		entry("full", MouthTags("full", 1, false)...),
		entry("oh", MouthTags("oh", 0.5, true)...),
	)
}

func TestRigMinimal(t *testing.T) {
	r, err := NewRig(minimalEntries())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Expressions(), append(RequiredExpressions(), "sleepy"); !slices.Equal(got, want) {
		t.Errorf("Expressions() = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		open    float64
		rounded bool
		want    string
	}{
		{0.01, false, "shut"},   // no mouth named closed: the unrounded one of openness 0
		{0.5, false, "quarter"}, // a tie goes to the less open mouth
		{0.51, false, "three"},
		{0.9, true, "oh"},
	} {
		if got := r.Mouth(tt.open, tt.rounded); got != entry(tt.want).Hash {
			t.Errorf("Mouth(%v, %v) is not %s", tt.open, tt.rounded, tt.want)
		}
	}
	if r.Face("sleepy", true) != entry("sleepy-blink").Hash {
		t.Error("Face(sleepy, true) is not the extra expression's blink")
	}
}

func TestNewRigRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func([]Entry) []Entry
		want string
	}{
		{"upper-case hash", func(es []Entry) []Entry { es[0].Hash = strings.ToUpper(es[0].Hash); return es }, "not lowercase hex"},
		{"short hash", func(es []Entry) []Entry { es[0].Hash = "abc"; return es }, "not lowercase hex"},
		{"no tags", func(es []Entry) []Entry { es[0].Tags = nil; return es }, "neither face nor mouth"},
		{"face without rest", func(es []Entry) []Entry { es[0].Tags = es[0].Tags[:3]; return es }, "no rest:"},
		{"mouth with eyes", func(es []Entry) []Entry {
			es[len(es)-1].Tags = append(es[len(es)-1].Tags, "eyes:open")
			return es
		}, "a mouth may not have tag eyes"},
		{"tag twice", func(es []Entry) []Entry { es[0].Tags = append(es[0].Tags, "eyes:closed"); return es }, `"eyes" given twice`},
		{"bad expression name", func(es []Entry) []Entry { es[0].Tags[1] = "expression:Neutral!"; return es }, "only a-z"},
		{"hex openness", func(es []Entry) []Entry { es[len(es)-1].Tags[2] = "open:0x1p-1"; return es }, "openness must be"},
		{"face twice", func(es []Entry) []Entry { return append(es, entry("again", FaceTags(Happy, false, "shut")...)) }, "the same face as"},
		{"missing required expression", func(es []Entry) []Entry {
			return slices.DeleteFunc(es, func(e Entry) bool { return strings.HasPrefix(e.Name, Listening) })
		}, `no face for expression "listening"`},
		{"extra expression without blink", func(es []Entry) []Entry {
			return slices.DeleteFunc(es, func(e Entry) bool { return e.Name == "sleepy-blink" })
		}, `"sleepy" lacks`},
		{"closed mouth not closed", func(es []Entry) []Entry { return append(es, entry("c", MouthTags("closed", 0.3, false)...)) }, "closed mouth must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRig(tt.edit(minimalEntries()))
			if !errors.Is(err, ErrBadPack) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewRig = %v; want ErrBadPack saying %q", err, tt.want)
			}
		})
	}
}
