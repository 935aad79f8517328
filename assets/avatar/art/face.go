package art

import "image"

// The head's fixed geometry, in pixels of a Size×Size layer.
var (
	center = pt{256, 256} // of the background disk
	eyeL   = pt{204, 252} // viewer's left eye
	eyeR   = pt{308, 252} // viewer's right eye
)

const diskR = 250 // radius of the background disk

// Face draws the face of expression (one of the avatar package's
// expressions; unknown ones draw neutral) with the eyes open or blinking:
// background disk, bust, head, hair, eyes, brows and cheeks, and no mouth.
func Face(expression string, blink bool) *image.RGBA {
	lk := lookOf(expression)
	c := newCanvas(Size)
	drawBackground(c)
	drawBody(c)
	drawHairBack(c)
	drawEars(c)
	drawHead(c)
	drawCheeks(c, lk.blush)
	drawNose(c)
	drawEye(c, eyeL, -1, lk, blink)
	drawEye(c, eyeR, +1, lk, blink)
	drawHairFront(c)
	drawBrow(c, eyeL, -1, lk.brows[0])
	drawBrow(c, eyeR, +1, lk.brows[1])
	if lk.cue != nil {
		lk.cue(c)
	}
	c.clip(c.cover(circle(center, diskR)))
	return c.img
}

func drawBackground(c *canvas) {
	c.draw(circle(center, diskR), radial{200, 170, 390, 390, ramp{{0, bgInner}, {1, bgOuter}}})
}

// headPath is the outline of the face: round cheeks, a soft chin.
func headPath() *path {
	p := (&path{}).moveTo(256, 110)
	p.cubeTo(326, 110, 378, 158, 378, 240)
	p.cubeTo(378, 300, 352, 344, 310, 368)
	p.cubeTo(290, 379, 272, 383, 256, 383)
	p.cubeTo(240, 383, 222, 379, 202, 368)
	p.cubeTo(160, 344, 134, 300, 134, 240)
	p.cubeTo(134, 158, 186, 110, 256, 110)
	return p
}

func drawBody(c *canvas) {
	// Neck, in shade, with the chin's shadow at its top.
	neck := (&path{}).moveTo(222, 330).lineTo(290, 330).lineTo(294, 424).lineTo(218, 424)
	nm := c.cover(neck)
	c.fill(nm, linear{0, 340, 0, 430, ramp{{0, skinShade}, {1, skin}}})
	c.fill(c.cover(headPath().moved(0, 14)).and(nm), solid(skinDeep.alpha(0.45)))

	// Top: shoulders and a crew neckline.
	top := (&path{}).moveTo(18, 530)
	top.cubeTo(26, 446, 100, 414, 198, 404)
	top.cubeTo(222, 434, 290, 434, 314, 404)
	top.cubeTo(412, 414, 486, 446, 494, 530)
	tm := c.cover(top)
	c.fill(tm, radial{256, 380, 260, 150, ramp{{0, shirt}, {0.55, shirt}, {1, shirtDark}}})
	// A soft fold shadow under the neckline and a collar band.
	band := stroke(curve(pt{198, 404}, pt{222, 434}, pt{290, 434}, pt{314, 404}), even(9))
	c.fill(c.cover(band).and(tm), solid(collar))
}

// hairOuter is the hair's silhouette over the top of the head.
func hairOuter() *path {
	p := (&path{}).moveTo(126, 244)
	p.cubeTo(106, 196, 108, 130, 150, 100)
	p.cubeTo(180, 76, 220, 68, 256, 68)
	p.cubeTo(292, 68, 332, 76, 362, 100)
	p.cubeTo(404, 130, 406, 196, 386, 244)
	p.cubeTo(382, 250, 376, 250, 372, 242)
	p.lineTo(256, 200)
	p.lineTo(140, 242)
	p.cubeTo(136, 250, 130, 250, 126, 244)
	return p
}

func hairPaint() paint {
	return linear{0, 74, 0, 250, ramp{{0, hairTop}, {1, hairDark}}}
}

func drawHairBack(c *canvas) {
	c.draw(hairOuter(), hairPaint())
}

func drawEars(c *canvas) {
	for _, side := range []float64{-1, 1} {
		e := pt{256 + side*118, 266}
		outer := ellipse(e, 18, 27).rotatedAbout(e, side*-12)
		c.draw(outer, radial{e.x, e.y, 22, 30, ramp{{0, skin}, {1, skinShade}}})
		in := pt{e.x + side*3, e.y + 1}
		c.draw(ellipse(in, 8, 15).rotatedAbout(in, side*-12), solid(skinDeep.alpha(0.55)))
	}
}

func drawHead(c *canvas) {
	hm := c.cover(headPath())
	c.fill(hm, radial{248, 222, 170, 190, ramp{{0, skinLight}, {0.65, skin}, {1, skinShade}}})
	// The fringe casts a soft shadow on the forehead.
	c.fill(c.cover(fringe().moved(0, 9)).and(hm), solid(skinDeep.alpha(0.28)))
}

// fringe is the front hair: a cap over the head whose lower edge sweeps
// from a parting on the viewer's left across the forehead.
func fringe() *path {
	p := (&path{}).moveTo(382, 240)
	p.cubeTo(400, 190, 398, 136, 356, 106)
	p.cubeTo(328, 86, 292, 78, 256, 78)
	p.cubeTo(220, 78, 184, 86, 156, 106)
	p.cubeTo(114, 136, 112, 190, 130, 240)
	// Up the left temple to the parting.
	p.cubeTo(136, 206, 152, 180, 176, 166)
	p.cubeTo(186, 160, 196, 150, 204, 138)
	// The big lock sweeping down to the right, ending in a soft tip.
	p.cubeTo(224, 168, 268, 186, 322, 188)
	p.cubeTo(334, 188, 344, 184, 350, 176)
	// A smaller lock by the right temple.
	p.cubeTo(354, 190, 362, 200, 372, 206)
	p.cubeTo(378, 218, 381, 229, 382, 240)
	return p
}

func drawHairFront(c *canvas) {
	f := fringe()
	// A cowlick at the crown.
	f.append(stroke(curve(pt{232, 86}, pt{246, 66}, pt{270, 56}, pt{296, 60}), func(t float64) float64 {
		return 14 * (1 - smooth(0, 1, t)) * smooth(-0.3, 0.25, t)
	}))
	fm := c.cover(f)
	c.fill(fm, hairPaint())
	// A shine band across the crown.
	shine := stroke(curve(pt{170, 128}, pt{196, 100}, pt{236, 92}, pt{270, 94}), taper(1, 11, 1))
	c.fill(c.cover(shine).and(fm), solid(hairShine.alpha(0.7)))
	// Strand lines inside the fringe.
	for _, s := range [][4]pt{
		{{206, 104}, {222, 132}, {250, 156}, {286, 172}},
		{{262, 96}, {292, 118}, {318, 138}, {338, 164}},
	} {
		c.fill(c.cover(stroke(curve(s[0], s[1], s[2], s[3]), taper(0.5, 3, 0.5))).and(fm), solid(hairDark.alpha(0.55)))
	}
}

func drawCheeks(c *canvas, k float64) {
	for _, x := range []float64{176, 336} {
		y := 304.0
		c.draw(ellipse(pt{x, y}, 30, 18), radial{x, y, 30, 18, ramp{{0, blush.alpha(k)}, {1, blush.alpha(0)}}})
	}
}

func drawNose(c *canvas) {
	n := pt{256, 292}
	c.draw(ellipse(n, 8, 5.5), radial{n.x, n.y + 1, 8, 5.5, ramp{{0, skinDeep.alpha(0.55)}, {1, skinDeep.alpha(0)}}})
	c.draw(circle(pt{252.5, 289}, 2.2), solid(white.alpha(0.55)))
}
