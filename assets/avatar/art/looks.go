package art

import "github.com/parley-app/parley/assets/avatar"

// look is what an expression changes on the face.
type look struct {
	rest        string  // shape of the mouth shown while the avatar is silent
	rx, ry      float64 // radii of the eye whites, pixels
	iris, pupil float64 // radii, pixels
	gaze        pt      // iris offset from the eye's middle (+x: viewer's right)
	smiling     bool    // lower lids pushed up by the cheeks
	brows       [2]brow // viewer's left, viewer's right
	blush       float64 // opacity of the cheeks, 0..1
	cue         func(*canvas)
}

// brow is the pose of an eyebrow, in pixels (up is positive).
type brow struct {
	lift  float64 // the whole brow
	inner float64 // the end near the nose, on top of lift
	arch  float64 // extra curvature
}

// looks are the expressions of the default pack.
var looks = map[string]look{
	avatar.Neutral: {
		rest: "closed", rx: 21, ry: 24, iris: 15.5, pupil: 7.5,
		brows: [2]brow{{}, {}}, blush: 0.40,
	},
	avatar.Listening: {
		rest: "closed", rx: 21.5, ry: 25, iris: 16.5, pupil: 8.5, gaze: pt{-1, 0},
		brows: [2]brow{{lift: 7, inner: 1, arch: 3}, {lift: 7, inner: 1, arch: 3}}, blush: 0.40,
		cue: soundWaves,
	},
	avatar.Thinking: {
		rest: "pursed", rx: 21, ry: 23, iris: 14.5, pupil: 7, gaze: pt{7, -9},
		brows: [2]brow{{lift: -2, inner: -3}, {lift: 10, arch: 5}}, blush: 0.35,
		cue: thoughtDots,
	},
	avatar.Happy: {
		rest: "smile", rx: 21, ry: 24, iris: 15.5, pupil: 7.5, smiling: true,
		brows: [2]brow{{lift: 4, arch: 4}, {lift: 4, arch: 4}}, blush: 0.65,
	},
	avatar.Surprised: {
		rest: "round-small", rx: 23.5, ry: 27.5, iris: 13, pupil: 6,
		brows: [2]brow{{lift: 15, arch: 6, inner: 1}, {lift: 15, arch: 6, inner: 1}}, blush: 0.35,
	},
}

// lookOf returns the look of expression, neutral for an unknown one.
func lookOf(expression string) look {
	if lk, ok := looks[expression]; ok {
		return lk
	}
	return looks[avatar.Neutral]
}

// soundWaves are two arcs beside the viewer's right ear: the avatar hears.
func soundWaves(c *canvas) {
	e := pt{384, 266}
	for i, r := range []float64{22, 36} {
		c.draw(stroke(arc(e, r, -38, 38), even(5.5-float64(i))), solid(accent.alpha(0.9-0.25*float64(i))))
	}
}

// thoughtDots rise toward the top right: the avatar thinks.
func thoughtDots(c *canvas) {
	for _, d := range []struct{ x, y, r float64 }{{398, 158, 5}, {414, 132, 7}, {434, 104, 9.5}} {
		c.draw(circle(pt{d.x, d.y}, d.r+1.6), solid(accent.alpha(0.7)))
		c.draw(circle(pt{d.x, d.y}, d.r), solid(white))
	}
}

// Rest returns the shape of the rest mouth of expression.
func Rest(expression string) string { return lookOf(expression).rest }
