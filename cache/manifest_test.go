package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// manifestJSON builds a manifest body; each asset is a JSON object text.
func manifestJSON(version int, pack string, assets ...string) string {
	return fmt.Sprintf(`{"version":%d,"pack":%q,"assets":[%s]}`, version, pack, strings.Join(assets, ","))
}

func assetJSON(hash string, size int, mediaType, name string) string {
	return fmt.Sprintf(`{"hash":%q,"size":%d,"media_type":%q,"name":%q}`, hash, size, mediaType, name)
}

func TestParseManifest(t *testing.T) {
	h1, h2 := string(Sum([]byte("1"))), string(Sum([]byte("2")))
	ok1 := assetJSON(h1, 10, "image/png", "mouth-open.png")
	ok2 := `{"hash":"` + h2 + `","size":20,"media_type":"application/json","name":"face rig","tags":["rig","v2"]}`
	many := make([]string, MaxAssets+1)
	for i := range many {
		many[i] = assetJSON(string(Sum(fmt.Appendf(nil, "%d", i))), 1, "image/png", fmt.Sprint(i))
	}
	for _, tc := range []struct {
		name, body string
		max        int64
		errHas     string // "" means accepted
	}{
		{"valid", manifestJSON(1, "default", ok1, ok2), 0, ""},
		{"no assets", manifestJSON(1, "empty"), 0, ""},
		{"uppercase hash", manifestJSON(1, "p", assetJSON(strings.ToUpper(h1), 10, "image/png", "a")), 0, ""},
		{"unknown fields are ignored", `{"version":1,"pack":"p","assets":[],"future":true}`, 0, ""},
		{"version 0", manifestJSON(0, "p", ok1), 0, "version 0, want 1"},
		{"version 2", manifestJSON(2, "p", ok1), 0, "version 2, want 1"},
		{"no version", `{"pack":"p","assets":[]}`, 0, "version 0"},
		{"empty pack name", manifestJSON(1, "", ok1), 0, "pack name: empty"},
		{"bad hash", manifestJSON(1, "p", assetJSON("abc", 10, "image/png", "a")), 0, "hash: \"abc\": 3 bytes"},
		{"hash with a path", manifestJSON(1, "p", assetJSON("../"+h1[3:], 10, "image/png", "a")), 0, "not a hex digit"},
		{"size 0", manifestJSON(1, "p", assetJSON(h1, 0, "image/png", "a")), 0, "size 0 out of range"},
		{"negative size", manifestJSON(1, "p", assetJSON(h1, -5, "image/png", "a")), 0, "size -5"},
		{"too big", manifestJSON(1, "p", assetJSON(h1, MaxAssetSize+1, "image/png", "a")), 0, "size 8388609"},
		{"media type", manifestJSON(1, "p", assetJSON(h1, 1, "text/html", "a")), 0, `media type "text/html" not allowed`},
		{"media type with parameters", manifestJSON(1, "p", assetJSON(h1, 1, "image/png; q=1", "a")), 0, "not allowed"},
		{"uppercase media type", manifestJSON(1, "p", assetJSON(h1, 1, "IMAGE/PNG", "a")), 0, "not allowed"},
		{"duplicate hash", manifestJSON(1, "p", ok1, assetJSON(h1, 10, "image/png", "b")), 0, "same hash as asset 0"},
		{"duplicate name", manifestJSON(1, "p", ok1, assetJSON(h2, 10, "image/png", "mouth-open.png")), 0, "same name as asset 0"},
		{"empty name", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", "")), 0, "name: empty"},
		{"slash", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", "a/b")), 0, "looks like a path"},
		{"backslash", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", `a\b`)), 0, "looks like a path"},
		{"dot dot", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", "..")), 0, "looks like a path"},
		{"dot", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", ".")), 0, "looks like a path"},
		{"control character", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", "a\nb")), 0, "control character"},
		{"pack name path", manifestJSON(1, "../p", ok1), 0, "pack name"},
		{"long name", manifestJSON(1, "p", assetJSON(h1, 1, "image/png", strings.Repeat("n", 256))), 0, "256 bytes"},
		{"bad tag", manifestJSON(1, "p", `{"hash":"`+h1+`","size":1,"media_type":"image/png","name":"a","tags":[""]}`), 0, "tag"},
		{"too many assets", manifestJSON(1, "p", many...), 1 << 30, "4097 assets"},
		{"too large a body", manifestJSON(1, "p", ok1, ok2), 100, "larger than 100 bytes"},
		{"not JSON", "<html>", 0, "invalid character"},
		{"trailing data", manifestJSON(1, "p", ok1) + "{}", 0, "after top-level value"},
		{"null", "null", 0, "version 0"},
		{"wrong shape", `{"version":1,"pack":"p","assets":{}}`, 0, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(strings.NewReader(tc.body), tc.max)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				for _, a := range m.Assets {
					if !a.Hash.valid() {
						t.Fatalf("hash %q not normalised", a.Hash)
					}
				}
				return
			}
			if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v; want ErrBadManifest saying %q", err, tc.errHas)
			}
		})
	}
}

func TestManifestFind(t *testing.T) {
	h1, h2 := Sum([]byte("1")), Sum([]byte("2"))
	m, err := ParseManifest(strings.NewReader(manifestJSON(1, "p",
		assetJSON(string(h1), 1, "image/png", "a"), assetJSON(string(h2), 1, "image/webp", "b"))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Digests(); !reflect.DeepEqual(got, []Digest{h1, h2}) {
		t.Fatalf("Digests = %v", got)
	}
	if a, ok := m.Find("b"); !ok || a.Hash != h2 || a.MediaType != "image/webp" {
		t.Fatalf("Find(b) = %+v, %v", a, ok)
	}
	if _, ok := m.Find("c"); ok {
		t.Fatal("Find(c) found something")
	}
}

// FuzzParseManifest: whatever is accepted satisfies every rule, and
// survives a round trip through JSON unchanged.
func FuzzParseManifest(f *testing.F) {
	h1 := string(Sum([]byte("1")))
	f.Add([]byte(manifestJSON(1, "default", assetJSON(h1, 10, "image/png", "a.png"))))
	f.Add([]byte(manifestJSON(1, "p", assetJSON(h1, 10, "image/png", "a"), assetJSON(h1, 10, "image/png", "b"))))
	f.Add([]byte(`{"version":1,"pack":"x","assets":[{"hash":"` + strings.ToUpper(h1) + `","size":1,"media_type":"image/svg+xml","name":"n","tags":["t"]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseManifest(strings.NewReader(string(body)), 1<<16)
		if err != nil {
			if !errors.Is(err, ErrBadManifest) {
				t.Fatalf("error %v is not ErrBadManifest", err)
			}
			return
		}
		if m.Version != ManifestVersion || checkName(m.Pack) != nil || len(m.Assets) > MaxAssets {
			t.Fatalf("accepted %+v", m)
		}
		seen := map[Digest]bool{}
		for _, a := range m.Assets {
			if !a.Hash.valid() || a.Size <= 0 || a.Size > MaxAssetSize || !mediaTypes[a.MediaType] ||
				checkName(a.Name) != nil || strings.ContainsAny(a.Name, `/\`) || seen[a.Hash] {
				t.Fatalf("accepted asset %+v", a)
			}
			seen[a.Hash] = true
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(strings.NewReader(string(b)), 0)
		if err != nil || !reflect.DeepEqual(normTags(m), normTags(m2)) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

// normTags treats empty and missing tags alike (omitempty).
func normTags(m Manifest) Manifest {
	m.Assets = append([]Asset(nil), m.Assets...)
	for i := range m.Assets {
		if len(m.Assets[i].Tags) == 0 {
			m.Assets[i].Tags = nil
		}
	}
	if len(m.Assets) == 0 {
		m.Assets = nil
	}
	return m
}
