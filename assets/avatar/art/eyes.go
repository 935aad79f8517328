package art

import "math"

// drawEye draws one eye of look lk, open or closed, around its middle m.
// side is -1 for the viewer's left eye, +1 for the right: the eye's outer
// corner lies toward side.
func drawEye(c *canvas, m pt, side float64, lk look, blink bool) {
	// at maps eye coordinates (u outward, v down) to the canvas.
	at := func(u, v float64) pt { return pt{m.x + side*u, m.y + v} }
	if blink {
		drawClosedEye(c, at, lk)
		return
	}
	sclera := c.cover(ellipse(m, lk.rx, lk.ry))
	// A short lower lash line at the outer corner; when smiling, the
	// cheeks push the lower lid up: the eye's bottom is cut off and the
	// cheek's edge is the lid.
	lower := stroke(ellipseArc(at, lk.rx+0.5, lk.ry+0.5, 25, 70), taper(0.4, 1.8, 0.4))
	if lk.smiling {
		sclera = sclera.minus(c.cover(ellipse(at(0, lk.ry+2), lk.rx*1.9, lk.ry*0.78)))
		top := lk.ry + 2 - lk.ry*0.78
		lower = stroke(curve(at(-lk.rx*0.85, top+6), at(-lk.rx*0.35, top-1), at(lk.rx*0.35, top-1), at(lk.rx*0.85, top+6)), taper(0.5, 2.5, 0.5))
	}
	c.fill(sclera, linear{0, m.y - lk.ry, 0, m.y - lk.ry*0.2, ramp{{0, scleraTop}, {1, white}}})

	ic := pt{m.x + lk.gaze.x, m.y + lk.gaze.y + 1.5}
	c.fill(c.cover(circle(ic, lk.iris)).and(sclera),
		linear{0, ic.y - lk.iris, 0, ic.y + lk.iris, ramp{{0, irisDark}, {0.45, irisDark}, {1, irisLight}}})
	c.fill(c.cover(circle(ic, lk.pupil)).and(sclera), solid(pupil))
	// The upper lid's shadow on the eye.
	c.fill(sclera, linear{0, m.y - lk.ry, 0, m.y - lk.ry + 11, ramp{{0, lash.alpha(0.35)}, {1, lash.alpha(0)}}})
	// Catch lights: a big one up and a small one down, on the same side
	// for both eyes (one light source).
	c.fill(c.cover(circle(pt{ic.x + lk.iris*0.36, ic.y - lk.iris*0.42}, lk.iris*0.38)).and(sclera), solid(white))
	c.fill(c.cover(circle(pt{ic.x - lk.iris*0.38, ic.y + lk.iris*0.40}, lk.iris*0.17)).and(sclera), solid(white.alpha(0.85)))

	c.draw(lower, solid(lash.alpha(0.5)))

	// Upper lash line along the top of the eye, thickest toward the outer
	// corner, and a small wing there.
	var pts []pt
	for a := -15.0; a >= -160; a -= 3 {
		r := a * math.Pi / 180
		pts = append(pts, at(-math.Cos(r)*(lk.rx+0.8), math.Sin(r)*(lk.ry+0.8)))
	}
	c.draw(stroke(pts, func(t float64) float64 { return 1.5 + 3.5*smooth(0, 0.6, t) }), solid(lash))
	wing := curve(at(lk.rx-4, -8), at(lk.rx, -8.5), at(lk.rx+4, -9.5), at(lk.rx+7.5, -12))
	c.draw(stroke(wing, taper(4.5, 3.5, 0.6)), solid(lash))
}

// drawClosedEye draws the lid line of a blink: a curve that sags down (a
// relaxed closed eye), or arches up for a happy face.
func drawClosedEye(c *canvas, at func(u, v float64) pt, lk look) {
	if lk.smiling {
		l := curve(at(-lk.rx+1, 7), at(-lk.rx*0.5, -11), at(lk.rx*0.5, -11), at(lk.rx, 7))
		c.draw(stroke(l, taper(2.5, 6.5, 3)), solid(lash))
		return
	}
	y := lk.ry * 0.18
	l := curve(at(-lk.rx+2, y), at(-lk.rx*0.4, y+lk.ry*0.55), at(lk.rx*0.45, y+lk.ry*0.55), at(lk.rx+1, y-1))
	c.draw(stroke(l, taper(1.5, 5.5, 3)), solid(lash))
	// Two lashes at the outer corner.
	for i, d := range []pt{{7, 6}, {4, 9}} {
		o := lk.rx - 2 - 6*float64(i)
		base := at(o, y+lk.ry*0.25-2*float64(i))
		tip := at(o+d.x, y+lk.ry*0.25+d.y)
		c.draw(stroke([]pt{base, tip}, taper(2.5, 2.2, 0.5)), solid(lash))
	}
}

// drawBrow draws the brow over the eye at m (side as for drawEye).
func drawBrow(c *canvas, m pt, side float64, b brow) {
	at := func(u, v float64) pt { return pt{m.x + side*u, m.y + v} }
	inner := at(-24, -40-b.lift-b.inner)
	outer := at(26, -36-b.lift)
	l := curve(inner, inner.add(pt{side * 16, -6 - b.arch}), outer.add(pt{-side * 16, -7 - b.arch}), outer)
	c.draw(stroke(l, taper(6.5, 8.5, 2.5)), solid(browColor))
}

// smooth is the smoothstep from 0 at a to 1 at b.
func smooth(a, b, t float64) float64 {
	t = math.Max(0, math.Min(1, (t-a)/(b-a)))
	return t * t * (3 - 2*t)
}

// ellipseArc returns points of the eye's outline (radii rx, ry; at maps eye
// coordinates, u outward) from angle a0 to a1, degrees, 0 at the outer
// corner and growing downward.
func ellipseArc(at func(u, v float64) pt, rx, ry, a0, a1 float64) []pt {
	var out []pt
	for i := 0; i <= 16; i++ {
		a := (a0 + (a1-a0)*float64(i)/16) * math.Pi / 180
		out = append(out, at(rx*math.Cos(a), ry*math.Sin(a)))
	}
	return out
}
