package conversation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunker cuts a language model's streamed reply into sentences, so each can
// be spoken while the model is still writing the next. A sentence ends at
// '.', '!', '?' or '…' followed by white space, or at a line break; a
// sentence longer than MaxChars is cut after its last comma, semicolon or
// colon before that, else at its last space, so speech never waits long for
// a run-on sentence. Decimal numbers and versions ("3.5", "1.26") are not
// sentence ends because no space follows the point inside them; initials
// followed by a space ("J. R. R.") are, which costs only a short pause.
type Chunker struct {
	MaxChars int // in bytes of UTF-8; default 200
	buf      strings.Builder
}

// Push adds a piece of the reply and returns the sentences it completed
// (trimmed, never empty).
func (c *Chunker) Push(delta string) []string {
	c.buf.WriteString(delta)
	limit := c.MaxChars
	if limit <= 0 {
		limit = 200
	}
	var out []string
	s := c.buf.String()
	start := 0
	for i, r := range s {
		next := i + utf8.RuneLen(r)
		end := -1
		switch {
		case r == '\n':
			end = next
		case r == '.' || r == '!' || r == '?' || r == '…':
			// the end of sentence needs the white space after it: wait for it
			if next < len(s) && unicode.IsSpace(rune(s[next])) {
				end = next
			}
		}
		if end < 0 && next-start > limit {
			seg := s[start:next]
			cut := strings.LastIndexAny(seg, ",;:")
			if cut <= 0 {
				cut = strings.LastIndexByte(seg, ' ')
			}
			end = next
			if cut > 0 {
				end = start + cut + 1
			}
		}
		if end >= 0 {
			if t := strings.TrimSpace(s[start:end]); t != "" {
				out = append(out, t)
			}
			start = end
		}
	}
	rest := s[start:]
	c.buf.Reset()
	c.buf.WriteString(rest)
	return out
}

// Flush returns what is left at the end of the reply ("" if nothing) and
// empties the chunker.
func (c *Chunker) Flush() string {
	t := strings.TrimSpace(c.buf.String())
	c.buf.Reset()
	return t
}
