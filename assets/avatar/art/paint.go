package art

import "math"

// rgba is a color with straight (not premultiplied) alpha, each part 0..1,
// in sRGB.
type rgba struct{ r, g, b, a float64 }

// hex returns the opaque color 0xRRGGBB.
func hex(v uint32) rgba {
	return rgba{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, 1}
}

// alpha returns c with its alpha multiplied by k.
func (c rgba) alpha(k float64) rgba { c.a *= k; return c }

// mix returns the color t of the way from c to d, mixed premultiplied so a
// fade to a transparent stop does not darken.
func (c rgba) mix(d rgba, t float64) rgba {
	a := c.a + (d.a-c.a)*t
	if a <= 0 {
		return rgba{}
	}
	f := func(x, y float64) float64 { return (x*c.a + (y*d.a-x*c.a)*t) / a }
	return rgba{f(c.r, d.r), f(c.g, d.g), f(c.b, d.b), a}
}

// paint gives the color of a point of the canvas (pixel centers are at
// half-integer coordinates).
type paint interface {
	at(x, y float64) rgba
}

// solid paints one color.
type solid rgba

func (s solid) at(x, y float64) rgba { return rgba(s) }

// stop is a gradient's color at position t (0..1).
type stop struct {
	t float64
	c rgba
}

// ramp is a gradient's list of stops, by increasing t.
type ramp []stop

// at returns the ramp's color at t, clamped to the first and last stops.
func (g ramp) at(t float64) rgba {
	if t <= g[0].t {
		return g[0].c
	}
	for i := 1; i < len(g); i++ {
		if t <= g[i].t {
			return g[i-1].c.mix(g[i].c, (t-g[i-1].t)/(g[i].t-g[i-1].t))
		}
	}
	return g[len(g)-1].c
}

// linear is a gradient along the line from (x0, y0) to (x1, y1).
type linear struct {
	x0, y0, x1, y1 float64
	g              ramp
}

func (l linear) at(x, y float64) rgba {
	dx, dy := l.x1-l.x0, l.y1-l.y0
	return l.g.at(((x-l.x0)*dx + (y-l.y0)*dy) / (dx*dx + dy*dy))
}

// radial is an elliptical gradient: t is 0 at (cx, cy) and 1 on the ellipse
// of radii rx, ry.
type radial struct {
	cx, cy, rx, ry float64
	g              ramp
}

func (r radial) at(x, y float64) rgba {
	return r.g.at(math.Hypot((x-r.cx)/r.rx, (y-r.cy)/r.ry))
}
