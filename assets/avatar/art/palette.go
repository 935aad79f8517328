package art

import "image"

// Size is the width and height of every layer, in pixels.
const Size = 512

// Where the layers meet, in pixels of a Size×Size layer. Every face leaves
// room for the mouth at MouthAnchor; every mouth is drawn inside MouthBox.
var (
	// MouthAnchor is the middle of the mouth on every face.
	MouthAnchor = image.Point{256, 330}
	// MouthBox bounds every mouth overlay: it is transparent outside.
	MouthBox = image.Rect(200, 298, 312, 376)
	// EyeBox bounds both eyes of every face, open or closed (not the brows).
	EyeBox = image.Rect(168, 214, 344, 284)
)

// The palette: warm skin, dark chestnut hair, a coral top on a soft blue
// disk. Colors are sRGB.
var (
	bgInner   = hex(0xEEF4FF)
	bgOuter   = hex(0xBFD3F2)
	skinLight = hex(0xFFE3CF)
	skin      = hex(0xFCD2B6)
	skinShade = hex(0xEDB08E)
	skinDeep  = hex(0xD98F6E)
	blush     = hex(0xFF7E8F)
	hairTop   = hex(0x5C3426)
	hairDark  = hex(0x3A1F19)
	hairShine = hex(0x9A6248)
	browColor = hex(0x3F231C)
	lash      = hex(0x2A1512)
	white     = hex(0xFFFFFF)
	scleraTop = hex(0xE6E9F2)
	irisDark  = hex(0x2E1C16)
	irisLight = hex(0x8A5B3C)
	pupil     = hex(0x160C09)
	shirt     = hex(0xFF8A70)
	shirtDark = hex(0xE96A55)
	collar    = hex(0xF4F1EC)
	accent    = hex(0x5B84E6)
	lipLine   = hex(0x9B4350)
	mouthDark = hex(0x3E121C)
	mouthMid  = hex(0x6A2432)
	tongue    = hex(0xF07F8C)
	tongueDk  = hex(0xD85E6E)
	teeth     = hex(0xFFFDFA)
	teethDk   = hex(0xE9E2E0)
)
