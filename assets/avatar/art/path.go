package art

import "math"

// pt is a point of the canvas, in pixels: x to the right, y down.
type pt struct{ x, y float64 }

func (p pt) add(q pt) pt      { return pt{p.x + q.x, p.y + q.y} }
func (p pt) sub(q pt) pt      { return pt{p.x - q.x, p.y - q.y} }
func (p pt) mul(k float64) pt { return pt{p.x * k, p.y * k} }
func (p pt) len() float64     { return math.Hypot(p.x, p.y) }

// path is a shape made of closed polygons; curves are flattened as they are
// added, into segments no longer than about 1.5 px.
type path struct {
	subs [][]pt
}

// moveTo starts a new subpath at (x, y).
func (p *path) moveTo(x, y float64) *path {
	p.subs = append(p.subs, []pt{{x, y}})
	return p
}

func (p *path) pen() pt {
	s := p.subs[len(p.subs)-1]
	return s[len(s)-1]
}

func (p *path) add(q pt) {
	p.subs[len(p.subs)-1] = append(p.subs[len(p.subs)-1], q)
}

// lineTo adds a straight segment to (x, y).
func (p *path) lineTo(x, y float64) *path {
	p.add(pt{x, y})
	return p
}

// cubeTo adds a cubic Bézier segment with control points (x1, y1), (x2, y2)
// ending at (x, y).
func (p *path) cubeTo(x1, y1, x2, y2, x, y float64) *path {
	for _, q := range cubic(p.pen(), pt{x1, y1}, pt{x2, y2}, pt{x, y})[1:] {
		p.add(q)
	}
	return p
}

// append adds the subpaths of q to p.
func (p *path) append(q *path) *path {
	p.subs = append(p.subs, q.subs...)
	return p
}

// mapped returns a copy of p with every point moved by f (an affine map,
// so that flattened curves stay faithful).
func (p *path) mapped(f func(pt) pt) *path {
	out := &path{subs: make([][]pt, len(p.subs))}
	for i, s := range p.subs {
		out.subs[i] = make([]pt, len(s))
		for j, q := range s {
			out.subs[i][j] = f(q)
		}
	}
	return out
}

// moved returns p translated by (dx, dy).
func (p *path) moved(dx, dy float64) *path {
	return p.mapped(func(q pt) pt { return pt{q.x + dx, q.y + dy} })
}

// rotatedAbout returns p rotated by deg degrees (clockwise on screen) about c.
func (p *path) rotatedAbout(c pt, deg float64) *path {
	s, co := math.Sincos(deg * math.Pi / 180)
	return p.mapped(func(q pt) pt {
		d := q.sub(c)
		return pt{c.x + d.x*co - d.y*s, c.y + d.x*s + d.y*co}
	})
}

// cubic returns points along a cubic Bézier, both ends included, at most
// about 1.5 px apart.
func cubic(a, b, c, d pt) []pt {
	l := b.sub(a).len() + c.sub(b).len() + d.sub(c).len()
	n := int(math.Ceil(l / 1.5))
	n = max(4, min(n, 400))
	out := make([]pt, n+1)
	for i := 0; i <= n; i++ {
		out[i] = bezier(a, b, c, d, float64(i)/float64(n))
	}
	return out
}

// bezier returns the point at t of a cubic Bézier.
func bezier(a, b, c, d pt, t float64) pt {
	u := 1 - t
	return pt{
		u*u*u*a.x + 3*u*u*t*b.x + 3*u*t*t*c.x + t*t*t*d.x,
		u*u*u*a.y + 3*u*u*t*b.y + 3*u*t*t*c.y + t*t*t*d.y,
	}
}

// ellipse returns the ellipse of center c and radii rx, ry.
func ellipse(c pt, rx, ry float64) *path {
	const k = 0.5522847498 // control distance of a quarter circle
	p := (&path{}).moveTo(c.x+rx, c.y)
	p.cubeTo(c.x+rx, c.y+ry*k, c.x+rx*k, c.y+ry, c.x, c.y+ry)
	p.cubeTo(c.x-rx*k, c.y+ry, c.x-rx, c.y+ry*k, c.x-rx, c.y)
	p.cubeTo(c.x-rx, c.y-ry*k, c.x-rx*k, c.y-ry, c.x, c.y-ry)
	p.cubeTo(c.x+rx*k, c.y-ry, c.x+rx, c.y-ry*k, c.x+rx, c.y)
	return p
}

// circle returns the circle of center c and radius r.
func circle(c pt, r float64) *path { return ellipse(c, r, r) }

// stroke returns the outline of a line drawn along pts (at least two
// points), whose width at the fraction t of its length is width(t), with
// round ends where the width is not zero.
func stroke(pts []pt, width func(t float64) float64) *path {
	n := len(pts)
	acc := make([]float64, n)
	for i := 1; i < n; i++ {
		acc[i] = acc[i-1] + pts[i].sub(pts[i-1]).len()
	}
	total := acc[n-1]
	left := make([]pt, n)
	right := make([]pt, n)
	tangent := func(i int) pt {
		d := pts[min(i+1, n-1)].sub(pts[max(i-1, 0)])
		return d.mul(1 / d.len())
	}
	for i, q := range pts {
		t := tangent(i)
		nrm := pt{-t.y, t.x}
		h := width(acc[i]/total) / 2
		left[i] = q.add(nrm.mul(h))
		right[i] = q.sub(nrm.mul(h))
	}
	p := &path{subs: [][]pt{nil}}
	p.subs[0] = append(p.subs[0], left...)
	addCap := func(q, t pt, w float64, from float64) {
		h := w / 2
		if h < 0.05 {
			return
		}
		a0 := math.Atan2(t.y, t.x) + from
		for k := 1; k < 12; k++ {
			a := a0 - math.Pi*float64(k)/12
			p.add(q.add(pt{math.Cos(a), math.Sin(a)}.mul(h)))
		}
	}
	addCap(pts[n-1], tangent(n-1), width(1), math.Pi/2)
	for i := n - 1; i >= 0; i-- {
		p.add(right[i])
	}
	addCap(pts[0], tangent(0), width(0), -math.Pi/2)
	return p
}

// curve returns the points of a cubic Bézier, for stroke.
func curve(a, b, c, d pt) []pt { return cubic(a, b, c, d) }

// arc returns points along the circle of center c and radius r from angle
// a0 to a1 (degrees, clockwise on screen from the +x axis).
func arc(c pt, r, a0, a1 float64) []pt {
	n := max(8, int(math.Ceil(math.Abs(a1-a0)*math.Pi/180*r/1.5)))
	out := make([]pt, n+1)
	for i := range out {
		a := (a0 + (a1-a0)*float64(i)/float64(n)) * math.Pi / 180
		out[i] = pt{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
	}
	return out
}

// Width profiles for stroke.

// even is a constant width w.
func even(w float64) func(float64) float64 { return func(float64) float64 { return w } }

// taper is w in the middle, thinning smoothly to ends of width w0 and w1.
func taper(w0, w, w1 float64) func(float64) float64 {
	return func(t float64) float64 {
		s := math.Sin(math.Pi * t)
		base := w0 + (w1-w0)*t
		return base + (w-base)*math.Sqrt(s)
	}
}
