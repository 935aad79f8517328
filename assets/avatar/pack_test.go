package avatar

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDefaultPackHasEveryLayer(t *testing.T) {
	p, err := LoadDefault()
	if err != nil {
		t.Fatalf("the embedded pack does not load: %v", err)
	}
	if p.Name != "parley-default" || p.Size != 512 {
		t.Fatalf("pack %q of size %d, want parley-default of 512", p.Name, p.Size)
	}
	var want []string
	for _, e := range RequiredExpressions() {
		want = append(want, "face-"+e+".png", "face-"+e+"-blink.png")
	}
	for _, m := range []string{"closed", "smile", "pursed", "slight", "half", "open", "wide", "round-small", "round"} {
		want = append(want, "mouth-"+m+".png")
	}
	var got []string
	for _, f := range p.Files {
		got = append(got, f.Name)
		img, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
			t.Errorf("%s is %v, want 512×512", f.Name, b)
		}
		if g, ok := p.File(f.Hash); !ok || g.Name != f.Name {
			t.Errorf("File(%s) = %q, %v; want %s", f.Hash, g.Name, ok, f.Name)
		}
		if f.Size != int64(len(f.Data)) {
			t.Errorf("%s: Size %d, %d bytes", f.Name, f.Size, len(f.Data))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v\nwant %v", got, want)
	}
	if again := Default(); again != p {
		t.Error("Default loaded the pack twice")
	}
	if _, ok := p.File(strings.Repeat("0", 64)); ok {
		t.Error("File found an unknown hash")
	}
}

// defaultFS returns the embedded pack as a map the test may break.
func defaultFS(t *testing.T) fstest.MapFS {
	t.Helper()
	sub, err := fs.Sub(embedded, "pack")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		m[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// editIndex rewrites pack.json of m with edit.
func editIndex(t *testing.T, m fstest.MapFS, edit func(*Index)) {
	t.Helper()
	var ix Index
	if err := json.Unmarshal(m[IndexName].Data, &ix); err != nil {
		t.Fatal(err)
	}
	edit(&ix)
	b, err := MarshalIndex(ix)
	if err != nil {
		t.Fatal(err)
	}
	m[IndexName] = &fstest.MapFile{Data: b}
}

// fileIndex returns the position of file name in ix.
func fileIndex(ix *Index, name string) int {
	return slices.IndexFunc(ix.Files, func(f IndexFile) bool { return f.Name == name })
}

// dropFiles removes the named files from the index.
func dropFiles(names ...string) func(*Index) {
	return func(ix *Index) {
		ix.Files = slices.DeleteFunc(ix.Files, func(f IndexFile) bool { return slices.Contains(names, f.Name) })
	}
}

func pngOf(t *testing.T, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, size, size))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadRejectsBrokenPacks(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, m fstest.MapFS)
		want  string // in the error
	}{
		{"missing file", func(t *testing.T, m fstest.MapFS) { delete(m, "mouth-wide.png") }, "mouth-wide.png: missing"},
		{"missing index", func(t *testing.T, m fstest.MapFS) { delete(m, IndexName) }, "pack.json: missing"},
		{"wrong size", func(t *testing.T, m fstest.MapFS) { m["face-happy.png"].Data = pngOf(t, 256) }, "face-happy.png: 256×256 pixels"},
		{"not a PNG", func(t *testing.T, m fstest.MapFS) { m["mouth-half.png"].Data = []byte("GIF89a") }, "mouth-half.png: not a PNG"},
		{"truncated PNG", func(t *testing.T, m fstest.MapFS) {
			d := m["mouth-half.png"].Data
			m["mouth-half.png"].Data = d[:len(d)/2]
		}, "mouth-half.png: PNG does not decode"},
		{"file too big", func(t *testing.T, m fstest.MapFS) { m["mouth-half.png"].Data = make([]byte, MaxFileSize+1) }, "mouth-half.png: larger than"},
		{"unknown tag", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].Tags = append(ix.Files[0].Tags, "sparkly") })
		}, `unknown tag "sparkly"`},
		{"unknown tag key", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].Tags = append(ix.Files[0].Tags, "mood:good") })
		}, `unknown tag "mood:good"`},
		{"openness out of range", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) {
				f := &ix.Files[fileIndex(ix, "mouth-half.png")]
				f.Tags = MouthTags("half", 1.5, false)
			})
		}, "openness must be"},
		{"face and mouth", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].Tags = append(ix.Files[0].Tags, TagMouth) })
		}, "tagged both face and mouth"},
		{"path-like name", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].Name = "../face-neutral.png" })
		}, "no path separators"},
		{"name in a folder", func(t *testing.T, m fstest.MapFS) {
			m["sub/face-neutral.png"] = m["face-neutral.png"]
			editIndex(t, m, func(ix *Index) { ix.Files[0].Name = "sub/face-neutral.png" })
		}, "no path separators"},
		{"dot-dot name", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].Name = ".." })
		}, "not be hidden"},
		{"listed twice", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files = append(ix.Files, ix.Files[0]) })
		}, "listed twice"},
		{"not PNG media type", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[0].MediaType = "image/jpeg" })
		}, `media type "image/jpeg"`},
		{"missing expression", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, dropFiles("face-surprised.png", "face-surprised-blink.png"))
		}, `no face for expression "surprised"`},
		{"missing blink", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, dropFiles("face-thinking-blink.png"))
		}, `expression "thinking" lacks`},
		{"no rest mouth", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, dropFiles("mouth-smile.png"))
		}, `rests on mouth "smile", which the pack lacks`},
		{"rest differs on blink", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) {
				ix.Files[fileIndex(ix, "face-happy-blink.png")].Tags = FaceTags(Happy, true, "closed")
			})
		}, "but its other face has"},
		{"no mouth of openness 1", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, dropFiles("mouth-wide.png"))
		}, "no mouth of openness 1"},
		{"no closed mouth", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) {
				for i, f := range ix.Files {
					if slices.Contains(f.Tags, "open:0") {
						ix.Files[i].Tags = slices.Replace(slices.Clone(f.Tags), slices.Index(f.Tags, "open:0"), slices.Index(f.Tags, "open:0")+1, "open:0.1")
					}
				}
			})
		}, "closed mouth must be"},
		{"no rounded mouth", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) {
				for i := range ix.Files {
					ix.Files[i].Tags = slices.DeleteFunc(slices.Clone(ix.Files[i].Tags), func(s string) bool { return s == TagRounded })
				}
			})
		}, "no rounded mouth"},
		{"two mouths of one shape", func(t *testing.T, m fstest.MapFS) {
			editIndex(t, m, func(ix *Index) { ix.Files[fileIndex(ix, "mouth-open.png")].Tags = MouthTags("half", 0.75, false) })
		}, `a second mouth of shape "half"`},
		{"other version", func(t *testing.T, m fstest.MapFS) { editIndex(t, m, func(ix *Index) { ix.Version = 2 }) }, "version 2"},
		{"size mismatch", func(t *testing.T, m fstest.MapFS) { editIndex(t, m, func(ix *Index) { ix.Size = 256 }) }, "512×512 pixels, want 256×256"},
		{"no name", func(t *testing.T, m fstest.MapFS) { editIndex(t, m, func(ix *Index) { ix.Name = "" }) }, "name must be"},
		{"unknown field", func(t *testing.T, m fstest.MapFS) {
			m[IndexName].Data = bytes.Replace(m[IndexName].Data, []byte(`"version"`), []byte(`"author": "x", "version"`), 1)
		}, `unknown field "author"`},
		{"trailing data", func(t *testing.T, m fstest.MapFS) { m[IndexName].Data = append(m[IndexName].Data, "{}"...) }, "data after the document"},
	}
	if _, err := Load(defaultFS(t)); err != nil {
		t.Fatalf("the unbroken pack does not load: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := defaultFS(t)
			tt.spoil(t, m)
			p, err := Load(m)
			if !errors.Is(err, ErrBadPack) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, %v; want ErrBadPack saying %q", p, err, tt.want)
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for name, f := range defaultFS(t) {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if len(p.Files) != len(want.Files) || p.Files[0].Hash != want.Files[0].Hash {
		t.Fatalf("LoadDir gave %d files, want %d the same as the embedded pack", len(p.Files), len(want.Files))
	}

	// A link that leaves the folder is not followed.
	outside := filepath.Join(t.TempDir(), "face.png")
	if err := os.Rename(filepath.Join(dir, "face-neutral.png"), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "face-neutral.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil {
		t.Fatal("LoadDir followed a link out of the pack folder")
	}
	if _, err := LoadDir(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("LoadDir of a missing folder succeeded")
	}
}

func TestDecodeRefusesOtherMediaTypes(t *testing.T) {
	if _, err := Decode(File{Name: "x.jpg", MediaType: "image/jpeg", Data: pngOf(t, 16)}); !errors.Is(err, ErrBadPack) {
		t.Fatalf("Decode of a JPEG-typed file = %v, want ErrBadPack", err)
	}
	if _, err := Decode(File{Name: "x.png", MediaType: MediaTypePNG, Data: []byte("nope")}); err == nil {
		t.Fatal("Decode of garbage succeeded")
	}
}

func FuzzParseIndex(f *testing.F) {
	b, err := embedded.ReadFile("pack/" + IndexName)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"version":1,"name":"x","size":16,"files":[{"name":"a.png","media_type":"image/png","tags":["mouth","shape:a","open:1"]}]}`))
	f.Add([]byte(`{"version":1,"name":"x","size":16,"files":[{"name":"..","media_type":"image/png","tags":["face:x"]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := parseIndex(b)
		if err != nil {
			if !errors.Is(err, ErrBadPack) {
				t.Fatalf("error %v does not wrap ErrBadPack", err)
			}
			return
		}
		if ix.Version != IndexVersion || len(ix.Files) == 0 || len(ix.Files) > MaxFiles {
			t.Fatalf("accepted %+v", ix)
		}
		for _, f := range ix.Files {
			if !fs.ValidPath(f.Name) || strings.ContainsAny(f.Name, `/\`) || f.Name == ".." {
				t.Fatalf("accepted file name %q", f.Name)
			}
		}
	})
}
