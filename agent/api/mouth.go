package api

import (
	"errors"
	"fmt"
	"math"
)

// MouthFrameTicks is the RTP timestamp step between two mouth samples: one
// 20 ms Opus frame on the 48 kHz RTP clock (RFC 7587 §4.1).
const MouthFrameTicks = 960

// MouthLevels is how many openness steps a mouth sample carries: 0/15 (shut)
// to 15/15 (wide open).
const MouthLevels = 16

// MouthSample is the mouth during one 20 ms frame of the agent's voice.
type MouthSample struct {
	Open    float64 // 0 (closed) .. 1 (wide open), in steps of 1/15
	Rounded bool    // lips rounded, as for "o" and "oo"
}

// ErrBadMouth is returned by DecodeMouth for a character outside the mouth
// alphabet.
var ErrBadMouth = errors.New("api: malformed mouth samples")

// EncodeMouth packs samples one character each, so a second of mouth (50
// samples) costs 50 bytes on the wire: 'a'..'p' is openness 0/15..15/15
// with unrounded lips, 'A'..'P' the same with rounded lips. Openness is
// clamped to 0..1 and rounded to the nearest step.
func EncodeMouth(samples []MouthSample) string {
	b := make([]byte, len(samples))
	for i, s := range samples {
		level := byte(math.Round(min(max(s.Open, 0), 1) * (MouthLevels - 1)))
		if s.Rounded {
			b[i] = 'A' + level
		} else {
			b[i] = 'a' + level
		}
	}
	return string(b)
}

// DecodeMouth unpacks what EncodeMouth packed. It returns ErrBadMouth
// (wrapped, with the offending position) for any other character.
func DecodeMouth(s string) ([]MouthSample, error) {
	out := make([]MouthSample, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c < 'a'+MouthLevels:
			out[i] = MouthSample{Open: float64(c-'a') / (MouthLevels - 1)}
		case c >= 'A' && c < 'A'+MouthLevels:
			out[i] = MouthSample{Open: float64(c-'A') / (MouthLevels - 1), Rounded: true}
		default:
			return nil, fmt.Errorf("%w: %q at %d", ErrBadMouth, c, i)
		}
	}
	return out, nil
}
