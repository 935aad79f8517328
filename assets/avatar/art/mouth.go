package art

import "image"

// MouthShape is one mouth of the default pack.
type MouthShape struct {
	Name    string  // the shape tag: closed, smile, …
	Open    float64 // openness, 0 closed to 1 widest
	Rounded bool    // lips rounded ("o", "oo")
}

// Mouths lists the mouths of the default pack, by increasing openness.
var Mouths = []MouthShape{
	{"closed", 0, false},
	{"smile", 0, false},
	{"pursed", 0, false},
	{"slight", 0.25, false},
	{"round-small", 0.35, true},
	{"half", 0.5, false},
	{"round", 0.7, true},
	{"open", 0.75, false},
	{"wide", 1, false},
}

// opening is an open mouth's outline around the anchor: corners at ±hw,
// cornerY below the anchor; the upper lip's middle up pixels above it, the
// lower lip's middle down pixels below it.
type opening struct {
	hw, cornerY, up, down float64
	teeth, tongue         float64 // height of the upper teeth, of the tongue
}

// Mouth draws the mouth named shape (see Mouths) as a transparent Size×Size
// overlay; an unknown shape draws nothing.
func Mouth(shape string) *image.RGBA {
	c := newCanvas(Size)
	a := pt{float64(MouthAnchor.X), float64(MouthAnchor.Y)}
	line := func(l []pt, w func(float64) float64) { c.draw(stroke(l, w), solid(lipLine)) }
	switch shape {
	case "closed":
		line(curve(a.add(pt{-24, -3}), a.add(pt{-9, 3}), a.add(pt{9, 3}), a.add(pt{24, -3})), taper(2, 5, 2))
	case "smile":
		line(curve(a.add(pt{-30, -9}), a.add(pt{-16, 11}), a.add(pt{16, 11}), a.add(pt{30, -9})), taper(2.5, 6.5, 2.5))
	case "pursed":
		line(curve(a.add(pt{-14, 1}), a.add(pt{-2, 5}), a.add(pt{10, 3}), a.add(pt{20, -4})), taper(2, 5, 2.5))
	case "slight":
		drawOpening(c, a, opening{hw: 22, cornerY: -1, up: 3, down: 6})
	case "half":
		drawOpening(c, a, opening{hw: 26, cornerY: -3, up: 9, down: 13, teeth: 5, tongue: 7})
	case "open":
		drawOpening(c, a, opening{hw: 29, cornerY: -5, up: 15, down: 21, teeth: 7, tongue: 11})
	case "wide":
		drawOpening(c, a, opening{hw: 35, cornerY: -7, up: 21, down: 28, teeth: 8, tongue: 14})
	case "round-small":
		drawRound(c, a.add(pt{0, 2}), 9.5, 11, 0)
	case "round":
		drawRound(c, a.add(pt{0, 4}), 15, 20, 4)
	}
	return c.img
}

// drawOpening draws an open mouth: a dark inside with a lip line around it,
// upper teeth and a tongue when o asks for them, and a soft lower lip.
func drawOpening(c *canvas, a pt, o opening) {
	l, r := a.add(pt{-o.hw, o.cornerY}), a.add(pt{o.hw, o.cornerY})
	// Control points so that the curves pass o.up above and o.down below
	// the anchor at their middle (a cubic's middle is ¼ ends + ¾ controls).
	top := (-o.up - o.cornerY/4) / 0.75
	bot := (o.down - o.cornerY/4) / 0.75
	outline := func(grow float64) *path {
		p := (&path{}).moveTo(l.x-grow, l.y)
		p.cubeTo(a.x-o.hw*0.45, a.y+top-grow, a.x+o.hw*0.45, a.y+top-grow, r.x+grow, r.y)
		p.cubeTo(r.x-o.hw*0.05+grow, a.y+bot+grow, l.x+o.hw*0.05-grow, a.y+bot+grow, l.x-grow, l.y)
		return p
	}
	// Lower lip: a soft darker crescent under the opening.
	lip := curve(a.add(pt{-o.hw * 0.55, o.down + 5}), a.add(pt{-o.hw * 0.2, o.down + 8}), a.add(pt{o.hw * 0.2, o.down + 8}), a.add(pt{o.hw * 0.55, o.down + 5}))
	c.draw(stroke(lip, taper(0.5, 3.5, 0.5)), solid(skinDeep.alpha(0.35)))

	c.draw(outline(1.6), solid(lipLine))
	in := c.cover(outline(0))
	c.fill(in, linear{0, a.y - o.up, 0, a.y + o.down, ramp{{0, mouthDark}, {1, mouthMid}}})
	if o.tongue > 0 {
		t := ellipse(pt{a.x + 3, a.y + o.down - o.tongue*0.35}, o.hw*0.62, o.tongue)
		tm := c.cover(t).and(in)
		c.fill(tm, linear{0, a.y + o.down - o.tongue, 0, a.y + o.down, ramp{{0, tongue}, {1, tongueDk}}})
	}
	if o.teeth > 0 {
		band := outline(0).moved(0, o.teeth)
		above := (&path{}).moveTo(l.x-4, l.y+o.teeth).lineTo(l.x-4, a.y-60).lineTo(r.x+4, a.y-60).lineTo(r.x+4, r.y+o.teeth)
		tm := in.minus(c.cover(band)).and(c.cover(above))
		c.fill(tm, linear{0, a.y - o.up, 0, a.y - o.up + o.teeth + 2, ramp{{0, teeth}, {0.7, teeth}, {1, teethDk}}})
	}
}

// drawRound draws rounded lips: an elliptic opening of radii rx, ry around
// m, with a tongue at the bottom and upper teeth of height teethH.
func drawRound(c *canvas, m pt, rx, ry, teethH float64) {
	c.draw(ellipse(m.add(pt{0, 2}), rx+3, ry+3.5), solid(skinDeep.alpha(0.25)))
	c.draw(ellipse(m, rx+2.2, ry+2.2), solid(lipLine))
	in := c.cover(ellipse(m, rx, ry))
	c.fill(in, linear{0, m.y - ry, 0, m.y + ry, ramp{{0, mouthDark}, {1, mouthMid}}})
	tm := c.cover(ellipse(pt{m.x + 1, m.y + ry}, rx*0.8, ry*0.45)).and(in)
	c.fill(tm, solid(tongue))
	if teethH > 0 {
		band := c.cover(ellipse(m.add(pt{0, -ry}), rx*0.75, teethH)).and(in)
		c.fill(band, solid(teeth))
	}
}
