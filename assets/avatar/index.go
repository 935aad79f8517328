package avatar

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// IndexName is the name of a pack's index file, in the pack's root.
const IndexName = "pack.json"

// IndexVersion is the version of the pack.json schema this package reads.
const IndexVersion = 1

// MediaTypePNG is the only media type a pack's files may have.
const MediaTypePNG = "image/png"

// Index is the pack.json document (see the package doc).
type Index struct {
	Version int         `json:"version"`
	Name    string      `json:"name"`
	Size    int         `json:"size"` // width and height of every image, pixels
	Files   []IndexFile `json:"files"`
}

// IndexFile names one file of a pack and its role.
type IndexFile struct {
	Name      string   `json:"name"`
	MediaType string   `json:"media_type"`
	Tags      []string `json:"tags"`
}

// Tag keys and bare tags of the vocabulary (see the package doc).
const (
	TagFace       = "face"
	TagMouth      = "mouth"
	TagRounded    = "rounded"
	TagExpression = "expression:"
	TagEyes       = "eyes:"
	TagRest       = "rest:"
	TagShape      = "shape:"
	TagOpen       = "open:"
	EyesOpen      = "open"
	EyesClosed    = "closed"
)

// FaceTags returns the tags of a face showing expression, blinking or not,
// whose rest mouth is the mouth of shape rest.
func FaceTags(expression string, blink bool, rest string) []string {
	eyes := EyesOpen
	if blink {
		eyes = EyesClosed
	}
	return []string{TagFace, TagExpression + expression, TagEyes + eyes, TagRest + rest}
}

// MouthTags returns the tags of a mouth named shape, of openness open (0..1),
// with lips rounded or not.
func MouthTags(shape string, open float64, rounded bool) []string {
	t := []string{TagMouth, TagShape + shape, TagOpen + strconv.FormatFloat(open, 'f', -1, 64)}
	if rounded {
		t = append(t, TagRounded)
	}
	return t
}

// MarshalIndex encodes ix as pack.json: indented, one trailing newline, the
// same bytes for the same Index.
func MarshalIndex(ix Index) ([]byte, error) {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("avatar: encode %s: %w", IndexName, err)
	}
	return append(b, '\n'), nil
}
