package avatar

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Entry is a layer as a rig sees it: the hash that names its bytes (in a
// pack or in the client's asset cache), its file name and its tags.
type Entry struct {
	Hash string // lowercase hex SHA-256 of the layer's bytes
	Name string
	Tags []string
}

// Rig resolves the avatar's roles from the layers' tags: which face to show
// for an expression and a blink, which mouth for an openness. It is built
// from entries alone, so a client can build one from the manifest it
// downloaded, without the pack. A Rig is immutable and safe for concurrent
// use.
type Rig struct {
	faces  map[string]faceSet // by expression
	order  []string           // expressions: the required ones, then the others sorted
	mouths []mouthRole        // by openness, then shape
	closed string             // hash of the closed mouth
	hashes []string           // sorted, unique
}

type faceSet struct{ open, blink, rest string } // hashes

type mouthRole struct {
	hash, shape string
	open        float64
	rounded     bool
}

// restOnly is the openness at or below which Mouth answers the closed mouth.
const restOnly = 0.05

// NewRig builds a rig from entries. It fails, with an error wrapping
// ErrBadPack that names the entry, when an entry's hash or tags are
// malformed, a face or mouth is given twice, or a layer the avatar needs is
// missing: a face with eyes open and one blinking for each expression (and
// at least the five of RequiredExpressions), both with the same rest mouth,
// which must exist; an unrounded mouth of openness 0 and a mouth of
// openness 1; a rounded mouth. The closed mouth is the one of shape
// "closed", or else the first unrounded mouth of openness 0.
func NewRig(entries []Entry) (*Rig, error) {
	r := &Rig{faces: map[string]faceSet{}}
	type faceKey struct {
		expr  string
		blink bool
	}
	seenFace := map[faceKey]string{}
	rests := map[string]string{} // expression → rest shape
	shapes := map[string]mouthRole{}
	hashes := map[string]bool{}
	for _, e := range entries {
		if !validHash(e.Hash) {
			return nil, fmt.Errorf("%w: %s: hash %q is not lowercase hex SHA-256", ErrBadPack, e.Name, e.Hash)
		}
		ro, err := parseTags(e.Tags)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadPack, e.Name, err)
		}
		hashes[e.Hash] = true
		if ro.mouth {
			if _, dup := shapes[ro.shape]; dup {
				return nil, fmt.Errorf("%w: %s: a second mouth of shape %q", ErrBadPack, e.Name, ro.shape)
			}
			if ro.shape == "closed" && (ro.open != 0 || ro.rounded) {
				return nil, fmt.Errorf("%w: %s: the closed mouth must be unrounded with openness 0", ErrBadPack, e.Name)
			}
			m := mouthRole{hash: e.Hash, shape: ro.shape, open: ro.open, rounded: ro.rounded}
			shapes[ro.shape] = m
			r.mouths = append(r.mouths, m)
			continue
		}
		k := faceKey{ro.expression, ro.blink}
		if prev, dup := seenFace[k]; dup {
			return nil, fmt.Errorf("%w: %s: the same face as %s", ErrBadPack, e.Name, prev)
		}
		seenFace[k] = e.Name
		if rest, ok := rests[ro.expression]; ok && rest != ro.rest {
			return nil, fmt.Errorf("%w: %s: rest mouth %q, but its other face has %q", ErrBadPack, e.Name, ro.rest, rest)
		}
		rests[ro.expression] = ro.rest
		fs := r.faces[ro.expression]
		if ro.blink {
			fs.blink = e.Hash
		} else {
			fs.open = e.Hash
		}
		r.faces[ro.expression] = fs
	}
	if err := r.finish(rests, shapes); err != nil {
		return nil, err
	}
	for h := range hashes {
		r.hashes = append(r.hashes, h)
	}
	sort.Strings(r.hashes)
	return r, nil
}

// finish checks that every needed layer is there and links rest mouths.
func (r *Rig) finish(rests map[string]string, shapes map[string]mouthRole) error {
	for _, e := range RequiredExpressions() {
		if _, ok := r.faces[e]; !ok {
			return fmt.Errorf("%w: no face for expression %q", ErrBadPack, e)
		}
	}
	for e, fs := range r.faces {
		if fs.open == "" || fs.blink == "" {
			return fmt.Errorf("%w: expression %q lacks its face with eyes open or its blink", ErrBadPack, e)
		}
		m, ok := shapes[rests[e]]
		if !ok {
			return fmt.Errorf("%w: expression %q rests on mouth %q, which the pack lacks", ErrBadPack, e, rests[e])
		}
		fs.rest = m.hash
		r.faces[e] = fs
		if !slices.Contains(RequiredExpressions(), e) {
			r.order = append(r.order, e)
		}
	}
	sort.Strings(r.order)
	r.order = append(RequiredExpressions(), r.order...)

	sort.SliceStable(r.mouths, func(i, j int) bool {
		a, b := r.mouths[i], r.mouths[j]
		return a.open < b.open || a.open == b.open && a.shape < b.shape
	})
	var rounded, widest bool
	for _, m := range r.mouths {
		rounded = rounded || m.rounded
		widest = widest || m.open == 1
	}
	if c, ok := shapes["closed"]; ok {
		r.closed = c.hash
	} else {
		for _, m := range r.mouths { // sorted: the first is the least open
			if m.open == 0 && !m.rounded {
				r.closed = m.hash
				break
			}
		}
	}
	switch {
	case r.closed == "":
		return fmt.Errorf("%w: no unrounded mouth of openness 0", ErrBadPack)
	case !widest:
		return fmt.Errorf("%w: no mouth of openness 1", ErrBadPack)
	case !rounded:
		return fmt.Errorf("%w: no rounded mouth", ErrBadPack)
	}
	return nil
}

// Face returns the hash of the face of expression (neutral if the rig has
// no such expression), blinking or with eyes open.
func (r *Rig) Face(expression string, blink bool) string {
	fs, ok := r.faces[expression]
	if !ok {
		fs = r.faces[Neutral]
	}
	if blink {
		return fs.blink
	}
	return fs.open
}

// Rest returns the hash of the mouth shown on the face of expression while
// the avatar is silent (neutral's for an unknown expression).
func (r *Rig) Rest(expression string) string {
	fs, ok := r.faces[expression]
	if !ok {
		fs = r.faces[Neutral]
	}
	return fs.rest
}

// Mouth returns the hash of the mouth to show for openness (0 closed to 1
// widest; from a mouth envelope): at or below 0.05, or NaN, the closed
// mouth; otherwise the mouth whose openness is nearest among the closed one
// and the open ones with lips rounded or not as asked (a tie goes to the
// less open one). Mouths of openness 0 other than the closed one (a smile,
// pursed lips) are only ever rest mouths.
func (r *Rig) Mouth(openness float64, rounded bool) string {
	if !(openness > restOnly) {
		return r.closed
	}
	best, bestD := r.closed, openness
	for _, m := range r.mouths {
		if m.open == 0 || m.rounded != rounded {
			continue
		}
		if d := math.Abs(m.open - openness); d < bestD {
			best, bestD = m.hash, d
		}
	}
	return best
}

// Expressions returns the rig's expressions: the required ones in their
// canonical order, then any others sorted.
func (r *Rig) Expressions() []string { return slices.Clone(r.order) }

// Hashes returns the hashes of all the rig's layers, sorted, each once:
// what a client must have cached to show this avatar.
func (r *Rig) Hashes() []string { return slices.Clone(r.hashes) }

// validHash reports whether s is a lowercase hex SHA-256.
func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
