package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const abcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // SHA-256("abc")

func TestSum(t *testing.T) {
	if got := Sum([]byte("abc")); got != abcDigest {
		t.Fatalf("Sum(abc) = %s", got)
	}
	if got := Sum(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("Sum(nil) = %s", got)
	}
}

func TestParseDigest(t *testing.T) {
	long := strings.Repeat("a", 1000)
	for _, tc := range []struct {
		name, in, want string
		errHas         string // "" means accepted
	}{
		{"lowercase", abcDigest, abcDigest, ""},
		{"uppercase is normalised", strings.ToUpper(abcDigest), abcDigest, ""},
		{"mixed case", "BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015AD", abcDigest, ""},
		{"empty", "", "", "0 bytes"},
		{"63 digits", abcDigest[:63], "", "63 bytes"},
		{"65 digits", abcDigest + "0", "", "65 bytes"},
		{"not hex", "g" + abcDigest[1:], "", `byte 0 ('g')`},
		{"path", "../" + abcDigest[3:], "", "is not a hex digit"},
		{"separator", abcDigest[:32] + "/" + abcDigest[33:], "", "byte 32 ('/')"},
		{"NUL", abcDigest[:63] + "\x00", "", "byte 63"},
		{"multibyte", "é" + abcDigest[2:], "", "is not a hex digit"},
		{"long input is shortened", long, "", "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDigest(tc.in)
			if tc.errHas == "" {
				if err != nil || string(d) != tc.want {
					t.Fatalf("ParseDigest(%q) = %q, %v; want %q", tc.in, d, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrBadDigest) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("ParseDigest(%q) = %q, %v; want ErrBadDigest saying %q", tc.in, d, err, tc.errHas)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error message not shortened: %d bytes", len(err.Error()))
			}
		})
	}
}

// FuzzParseDigest: whatever is accepted is exactly 64 lowercase hex digits
// whose file name stays directly inside the store's root; whatever is not
// cannot name a file, and no store operation with it touches anything
// outside the root.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{abcDigest, strings.ToUpper(abcDigest), "", "..", "../../etc/passwd",
		abcDigest[:63] + "/", "/" + abcDigest[1:], abcDigest[:62] + "..", "." + abcDigest[1:], abcDigest + abcDigest} {
		f.Add(s)
	}
	parent := f.TempDir()
	rootDir := filepath.Join(parent, "store")
	outside := filepath.Join(parent, "outside")
	if err := os.WriteFile(outside, []byte("keep me"), 0o644); err != nil {
		f.Fatal(err)
	}
	s, _ := openStore(f, rootDir, 0)
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDigest(in)
		if err != nil {
			if !errors.Is(err, ErrBadDigest) {
				t.Fatalf("error %v is not ErrBadDigest", err)
			}
		} else {
			if len(d) != 64 || strings.ToLower(in) != string(d) {
				t.Fatalf("accepted %q as %q", in, d)
			}
			for _, c := range []byte(d) {
				if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
					t.Fatalf("accepted %q with %q", in, c)
				}
			}
			name, err := d.fileName()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(rootDir, name)
			if !filepath.IsLocal(name) || filepath.Dir(p) != rootDir || filepath.Base(p) != name {
				t.Fatalf("%q names %s, outside the root's top level", in, p)
			}
		}
		// The raw string used as a Digest is only usable if it is valid.
		raw := Digest(in)
		if _, err := raw.fileName(); (err == nil) != (raw.valid()) || (err == nil && strings.ToLower(in) != in) {
			t.Fatalf("fileName(%q) = %v", in, err)
		}
		if raw.valid() {
			return // a real digest: not in the store, nothing to check outside
		}
		if s.Has(raw) {
			t.Fatalf("Has(%q)", in)
		}
		if _, err := s.ReadFile(raw); !errors.Is(err, ErrBadDigest) {
			t.Fatalf("ReadFile(%q) = %v", in, err)
		}
		if _, err := s.Put(t.Context(), strings.NewReader("x"), raw, 10); !errors.Is(err, ErrBadDigest) {
			t.Fatalf("Put(%q) = %v", in, err)
		}
		if err := s.Remove(raw); !errors.Is(err, ErrBadDigest) {
			t.Fatalf("Remove(%q) = %v", in, err)
		}
		if b, err := os.ReadFile(outside); err != nil || string(b) != "keep me" {
			t.Fatalf("the file outside the root changed: %q, %v", b, err)
		}
	})
}
