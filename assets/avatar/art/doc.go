// Package art draws Parley's default avatar pack by code: a friendly
// round-faced character in a flat illustration style (gradient shading,
// anti-aliased shapes, catch lights in the eyes, blushing cheeks) on a soft
// blue disk. Faces (Face) and mouth overlays (Mouth) are Size×Size images
// that stack: every face leaves its mouth at MouthAnchor, and every mouth
// stays inside MouthBox, clear of the eyes (EyeBox).
//
// Drawing uses golang.org/x/image/vector for coverage and integer
// arithmetic for blending, so the output is the same bytes on every
// machine; Layers and WriteDir encode it for the avatar package, which
// embeds the result (`go generate ./assets/avatar`).
package art
