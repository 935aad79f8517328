package api

import (
	"errors"
	"math"
	"testing"
)

func TestMouthRoundTrip(t *testing.T) {
	in := []MouthSample{{0, false}, {1, false}, {0.5, true}, {0.2, false}, {-3, false}, {7, true}}
	enc := EncodeMouth(in)
	if len(enc) != len(in) {
		t.Fatalf("%q: %d bytes for %d samples", enc, len(enc), len(in))
	}
	out, err := DecodeMouth(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range out {
		want := math.Round(min(max(in[i].Open, 0), 1)*15) / 15
		if math.Abs(s.Open-want) > 1e-9 || s.Rounded != in[i].Rounded {
			t.Errorf("sample %d: %+v, want open %.3f rounded %v", i, s, want, in[i].Rounded)
		}
	}
	if enc[:2] != "ap" {
		t.Errorf("closed then wide open encode as %q, want \"ap\"", enc[:2])
	}
}

func TestMouthRejects(t *testing.T) {
	for _, s := range []string{"q", "abc!", "Z", "a\x00"} {
		if _, err := DecodeMouth(s); !errors.Is(err, ErrBadMouth) {
			t.Errorf("DecodeMouth(%q) = %v, want ErrBadMouth", s, err)
		}
	}
}

func FuzzDecodeMouth(f *testing.F) {
	f.Add("abcpPA")
	f.Fuzz(func(t *testing.T, s string) {
		samples, err := DecodeMouth(s)
		if err != nil {
			return
		}
		if EncodeMouth(samples) != s {
			t.Fatalf("%q does not survive a round trip", s)
		}
	})
}
