// Package avatar is Parley's avatar pack: layered 512×512 PNG images of a
// character (faces without a mouth, and mouth overlays), the rules that pick
// a layer for an expression or a mouth openness (Rig), and the code that
// stacks layers into a picture or a video frame (Compose).
//
// The default pack is drawn by code (package art) and embedded from the
// directory pack/; `go generate ./assets/avatar` redraws it, and a test fails
// when the committed files differ from what the code draws. An operator can
// serve another pack from a folder (LoadDir) that follows the same schema.
// This package does not import Fyne: the headless agent embeds it.
//
// # Layers
//
// A face is a complete, opaque-where-drawn head and bust on a round
// background with no mouth; there is one with eyes open and one blinking
// (eyes closed) for every expression. A mouth is a transparent overlay of the
// same size, drawn once for all expressions: every face of a pack keeps the
// mouth at the same place, so any mouth can be stacked on any face.
//
// # pack.json
//
// A pack is a folder holding pack.json and the files it names, all in the
// folder's root:
//
//	{
//	  "version": 1,                  // IndexVersion; other versions are refused
//	  "name": "parley-default",      // the pack's name
//	  "size": 512,                   // width and height of every image, pixels
//	  "files": [
//	    {"name": "face-neutral.png", "media_type": "image/png",
//	     "tags": ["face", "expression:neutral", "eyes:open", "rest:closed"]},
//	    {"name": "mouth-half.png", "media_type": "image/png",
//	     "tags": ["mouth", "shape:half", "open:0.5"]}
//	  ]
//	}
//
// Hashes and sizes are not stored: Load computes them (lowercase hex SHA-256
// of the bytes). File names are plain (no path separators, no ".."), media
// types are "image/png", and tags come from this vocabulary:
//
//	face | mouth           the layer's kind (exactly one)
//	expression:<e>         face: the expression it shows (neutral, listening, thinking, happy, surprised, …)
//	eyes:open|closed       face: eyes open, or the blink image
//	rest:<shape>           face: the mouth shown on it while the avatar is silent
//	shape:<s>              mouth: its name (closed, smile, slight, half, open, wide, round-small, round, …)
//	open:<0..1>            mouth: how open it is, 0 closed to 1 widest (decimal)
//	rounded                mouth: lips rounded ("o", "oo")
//
// Values (<e>, <s>) are 1 to 32 characters of a-z, 0-9 and '-'.
// A pack must hold a face with eyes open and one with eyes closed for each of
// the five expressions named by the constants below, an unrounded mouth of
// openness 0 and one of openness 1, at least one rounded mouth, and a rest
// mouth that exists for every face.
package avatar

//go:generate go run ./gen -o pack

// The expressions every pack has.
const (
	Neutral   = "neutral"
	Listening = "listening"
	Thinking  = "thinking"
	Happy     = "happy"
	Surprised = "surprised"
)

// RequiredExpressions lists the expressions every pack has, in their
// canonical order.
func RequiredExpressions() []string {
	return []string{Neutral, Listening, Thinking, Happy, Surprised}
}
