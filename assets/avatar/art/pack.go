package art

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/parley-app/parley/assets/avatar"
)

// PackName is the name of the default pack in its pack.json.
const PackName = "parley-default"

// Layer is one file of the default pack.
type Layer struct {
	Name string   // file name, e.g. "face-happy-blink.png"
	Tags []string // its tags (see the avatar package doc)
	PNG  []byte   // the encoded Size×Size image
}

// Layers draws every layer of the default pack and encodes it as PNG: for
// each expression its face and blink, then every mouth of Mouths. The same
// code gives the same bytes.
func Layers() ([]Layer, error) {
	var out []Layer
	add := func(name string, tags []string, img image.Image) error {
		var b bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&b, img); err != nil {
			return fmt.Errorf("art: encode %s: %w", name, err)
		}
		out = append(out, Layer{Name: name, Tags: tags, PNG: b.Bytes()})
		return nil
	}
	for _, e := range avatar.RequiredExpressions() {
		for _, blink := range []bool{false, true} {
			if err := add(FaceName(e, blink), avatar.FaceTags(e, blink, Rest(e)), Face(e, blink)); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range Mouths {
		if err := add(MouthName(m.Name), avatar.MouthTags(m.Name, m.Open, m.Rounded), Mouth(m.Name)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FaceName is the file name of the face of expression, blinking or not.
func FaceName(expression string, blink bool) string {
	if blink {
		return "face-" + expression + "-blink.png"
	}
	return "face-" + expression + ".png"
}

// MouthName is the file name of the mouth of shape.
func MouthName(shape string) string { return "mouth-" + shape + ".png" }

// Index returns the pack.json of layers.
func Index(layers []Layer) avatar.Index {
	ix := avatar.Index{Version: avatar.IndexVersion, Name: PackName, Size: Size}
	for _, l := range layers {
		ix.Files = append(ix.Files, avatar.IndexFile{Name: l.Name, MediaType: avatar.MediaTypePNG, Tags: l.Tags})
	}
	return ix
}

// WriteDir draws the default pack and writes it into dir (made if missing):
// every layer, then pack.json, each atomically; PNG files in dir that the
// pack does not have any more are removed.
func WriteDir(dir string) error {
	layers, err := Layers()
	if err != nil {
		return err
	}
	index, err := avatar.MarshalIndex(Index(layers))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("art: %w", err)
	}
	keep := map[string]bool{}
	for _, l := range layers {
		keep[l.Name] = true
		if err := renameio.WriteFile(filepath.Join(dir, l.Name), l.PNG, 0o644); err != nil {
			return fmt.Errorf("art: %w", err)
		}
	}
	if err := renameio.WriteFile(filepath.Join(dir, avatar.IndexName), index, 0o644); err != nil {
		return fmt.Errorf("art: %w", err)
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("art: %w", err)
	}
	for _, f := range old {
		if strings.HasSuffix(f.Name(), ".png") && !keep[f.Name()] {
			if err := os.Remove(filepath.Join(dir, f.Name())); err != nil {
				return fmt.Errorf("art: %w", err)
			}
		}
	}
	return nil
}
