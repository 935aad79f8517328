package main

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/assets/avatar/art"
)

// sheetCell is the size of one picture on the contact sheet, pixels.
const sheetCell = 256

// sheetColumns are the columns of the contact sheet: the face at rest, the
// blink, then a few mouths on the open-eyed face.
var sheetColumns = []struct {
	label string
	blink bool
	mouth string // "" for the expression's rest mouth
}{
	{"rest", false, ""},
	{"blink", true, ""},
	{"slight", false, "slight"},
	{"half", false, "half"},
	{"open", false, "open"},
	{"wide", false, "wide"},
	{"round-small", false, "round-small"},
	{"round", false, "round"},
}

// contactSheet renders every expression (rows) with its blink and a few
// mouths (columns), labelled, on a light gray page.
func contactSheet() *image.RGBA {
	const label = 20
	exprs := avatar.RequiredExpressions()
	w, h := len(sheetColumns)*sheetCell, len(exprs)*(sheetCell+label)+label
	sheet := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{0xf4, 0xf4, 0xf6, 0xff}), image.Point{}, draw.Src)
	mouths := map[string]*image.RGBA{}
	for _, m := range art.Mouths {
		mouths[m.Name] = art.Mouth(m.Name)
	}
	for j, col := range sheetColumns {
		text(sheet, j*sheetCell+8, 14, col.label)
	}
	for i, e := range exprs {
		y := label + i*(sheetCell+label)
		text(sheet, 8, y+14, e)
		for j, col := range sheetColumns {
			mouth := col.mouth
			if mouth == "" {
				mouth = art.Rest(e)
			}
			cell := image.NewRGBA(image.Rect(0, 0, sheetCell, sheetCell))
			avatar.Compose(cell, art.Face(e, col.blink), mouths[mouth])
			draw.Draw(sheet, cell.Bounds().Add(image.Pt(j*sheetCell, y+label)), cell, image.Point{}, draw.Over)
		}
	}
	return sheet
}

// text writes s in the basic 7×13 font with its baseline at y.
func text(dst draw.Image, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.RGBA{0x33, 0x33, 0x40, 0xff}), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
