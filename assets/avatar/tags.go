package avatar

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on tags, against hostile packs and manifests.
const (
	maxTags     = 16 // per file
	maxTokenLen = 32 // of an expression or shape name
)

// role is what a layer's tags say it is.
type role struct {
	face, mouth bool
	expression  string  // face
	blink       bool    // face: eyes closed
	rest        string  // face: shape of its rest mouth
	shape       string  // mouth
	open        float64 // mouth: openness 0..1
	rounded     bool    // mouth
}

// parseTags reads a layer's tags (see the package doc for the vocabulary);
// the error says which tag is wrong and why.
func parseTags(tags []string) (role, error) {
	var r role
	if len(tags) > maxTags {
		return r, fmt.Errorf("%d tags, at most %d", len(tags), maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		key, val, hasVal := strings.Cut(t, ":")
		if seen[key] {
			return r, fmt.Errorf("tag %q given twice", key)
		}
		seen[key] = true
		var err error
		switch {
		case t == TagFace:
			r.face = true
		case t == TagMouth:
			r.mouth = true
		case t == TagRounded:
			r.rounded = true
		case !hasVal:
			err = fmt.Errorf("unknown tag %q", t)
		case key+":" == TagExpression:
			r.expression, err = token(val)
		case key+":" == TagRest:
			r.rest, err = token(val)
		case key+":" == TagShape:
			r.shape, err = token(val)
		case key+":" == TagEyes:
			switch val {
			case EyesOpen:
			case EyesClosed:
				r.blink = true
			default:
				err = fmt.Errorf("eyes must be %s or %s", EyesOpen, EyesClosed)
			}
		case key+":" == TagOpen:
			r.open, err = openness(val)
		default:
			err = fmt.Errorf("unknown tag %q", t)
		}
		if err != nil {
			return r, fmt.Errorf("tag %q: %w", t, err)
		}
	}
	return r, r.complete(seen)
}

// complete checks that r is a face or a mouth with every tag that needs.
func (r role) complete(seen map[string]bool) error {
	need := func(keys ...string) error {
		for _, k := range keys {
			if !seen[strings.TrimSuffix(k, ":")] {
				return fmt.Errorf("no %s… tag", k)
			}
		}
		return nil
	}
	forbid := func(kind string, keys ...string) error {
		for _, k := range keys {
			if seen[strings.TrimSuffix(k, ":")] {
				return fmt.Errorf("a %s may not have tag %s", kind, strings.TrimSuffix(k, ":"))
			}
		}
		return nil
	}
	switch {
	case r.face && r.mouth:
		return fmt.Errorf("tagged both %s and %s", TagFace, TagMouth)
	case r.face:
		if err := need(TagExpression, TagEyes, TagRest); err != nil {
			return err
		}
		return forbid(TagFace, TagShape, TagOpen, TagRounded)
	case r.mouth:
		if err := need(TagShape, TagOpen); err != nil {
			return err
		}
		return forbid(TagMouth, TagExpression, TagEyes, TagRest)
	}
	return fmt.Errorf("tagged neither %s nor %s", TagFace, TagMouth)
}

// token checks an expression or shape name: 1 to 32 of a-z, 0-9 and '-'.
func token(s string) (string, error) {
	if s == "" || len(s) > maxTokenLen {
		return "", fmt.Errorf("name must be 1 to %d characters", maxTokenLen)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", fmt.Errorf("name may hold only a-z, 0-9 and '-'")
		}
	}
	return s, nil
}

// openness parses a decimal number from 0 to 1.
func openness(s string) (float64, error) {
	if s == "" || len(s) > 8 || strings.Trim(s, "0123456789.") != "" {
		return 0, fmt.Errorf("openness must be a decimal number from 0 to 1")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return 0, fmt.Errorf("openness must be a decimal number from 0 to 1")
	}
	return v, nil
}
