// Package assets holds what Parley draws for itself. Today that is the app
// icon: a speech bubble with a sound wave, drawn by code (no image files from
// elsewhere). `go generate ./assets` writes it to assets/icon.png for
// `fyne package` (FyneApp.toml).
package assets

//go:generate go run ./genicon -o icon.png

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// IconSize is the icon's width and height in pixels.
const IconSize = 256

// Icon draws the app icon: a rounded blue speech bubble holding five white
// bars of a sound wave, on a transparent background.
func Icon() *image.NRGBA {
	const n = IconSize
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue := color.NRGBA{0x2b, 0x6c, 0xf0, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	// Bubble: a rounded rectangle plus a tail at the bottom left.
	inRoundRect := func(x, y, x0, y0, x1, y1, r float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return math.Hypot(x-cx, y-cy) <= r
	}
	inTail := func(x, y float64) bool { return inTriangle(x, y, 48, 180, 110, 180, 40, 236) }
	heights := []float64{40, 80, 110, 80, 40}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if inRoundRect(fx, fy, 16, 24, 240, 196, 40) || inTail(fx, fy) {
				img.SetNRGBA(x, y, blue)
			}
			for i, h := range heights {
				cx := 68 + float64(i)*30
				if inRoundRect(fx, fy, cx-9, 110-h/2, cx+9, 110+h/2, 9) {
					img.SetNRGBA(x, y, white)
				}
			}
		}
	}
	return img
}

// inTriangle reports whether (x, y) lies in the triangle (ax,ay) (bx,by)
// (cx,cy): the point is on the same side of all three edges.
func inTriangle(x, y, ax, ay, bx, by, cx, cy float64) bool {
	side := func(px, py, qx, qy float64) float64 { return (qx-px)*(y-py) - (qy-py)*(x-px) }
	d1, d2, d3 := side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

// IconPNG returns the icon encoded as PNG.
func IconPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, Icon()) // encoding to memory cannot fail
	return b.Bytes()
}
