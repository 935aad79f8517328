package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// digestLen is the length of a Digest: 32 bytes in hex.
const digestLen = 2 * sha256.Size

// Digest names an asset: the SHA-256 of its bytes as 64 lowercase hex
// digits. Values made by ParseDigest and Sum are valid; the store checks any
// other value before it builds a file name from it.
type Digest string

// ParseDigest returns s as a Digest. It accepts exactly 64 hex digits;
// uppercase digits are accepted and normalised to lowercase, so the result is
// always 64 lowercase hex digits. Anything else is ErrBadDigest, wrapped with
// the (shortened) input and the reason.
func ParseDigest(s string) (Digest, error) {
	if len(s) != digestLen {
		return "", fmt.Errorf("%w: %q: %d bytes, want %d hex digits", ErrBadDigest, clip(s), len(s), digestLen)
	}
	b := make([]byte, digestLen)
	for i := range digestLen {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			b[i] = c
		case 'A' <= c && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", fmt.Errorf("%w: %q: byte %d (%q) is not a hex digit", ErrBadDigest, clip(s), i, c)
		}
	}
	return Digest(b), nil
}

// Sum returns the Digest of b.
func Sum(b []byte) Digest {
	h := sha256.Sum256(b)
	return Digest(hex.EncodeToString(h[:]))
}

// Short is the first 12 digits, for logs and messages.
func (d Digest) Short() string {
	if len(d) > 12 {
		return string(d[:12])
	}
	return string(d)
}

// valid reports whether d is exactly 64 lowercase hex digits.
func (d Digest) valid() bool {
	if len(d) != digestLen {
		return false
	}
	for i := range digestLen {
		if c := d[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fileName is the name of d's file in the store's root. It is the only way
// the store turns outside input into a path: a valid digest has no separator,
// no dot and no special name, so it can only name a file directly in the root.
func (d Digest) fileName() (string, error) {
	if !d.valid() {
		return "", fmt.Errorf("%w: %q", ErrBadDigest, clip(string(d)))
	}
	return string(d), nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
