package app

import (
	"fmt"
	"image"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/parley-app/parley/assets/avatar"
)

// A pack's layers as the avatar view draws them. The small ones (a mouth:
// ~60×40 visible pixels, 10 KB as RGBA) are kept decoded and cropped, for
// the mouth changes up to 25 times a second. The large ones (a face: 500×500
// visible, 1 MB as RGBA) are kept as their PNG files (~60 KB) and decoded
// when shown, with the last decodedLarge of them kept: a face and its
// blink, and those of the expression before. A face shown again after that
// costs a PNG decode and crop, ~6 ms, at a change of expression.
const (
	smallLayer   = 256 << 10 // bytes of cropped RGBA up to which a layer stays decoded
	decodedLarge = 4
)

// layerSet holds one pack's layers by digest. Its callers hold
// avatarState.mu.
type layerSet struct {
	small   map[string]*image.RGBA
	large   map[string]avatar.File
	decoded *lru.Cache[string, *image.RGBA]
}

func newLayerSet() *layerSet {
	c, err := lru.New[string, *image.RGBA](decodedLarge)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &layerSet{small: map[string]*image.RGBA{}, large: map[string]avatar.File{}, decoded: c}
}

// add keeps the layer f, of digest hash, whose decoded image is img.
func (l *layerSet) add(hash string, f avatar.File, img image.Image) {
	if c := cropRGBA(img); len(c.Pix) <= smallLayer {
		l.small[hash] = c
	} else {
		l.large[hash] = f
	}
}

// has reports whether the set holds a layer of that digest.
func (l *layerSet) has(hash string) bool {
	_, small := l.small[hash]
	_, large := l.large[hash]
	return small || large
}

// get returns the layer of that digest cropped by cropRGBA, decoding it if
// it is a large one not decoded lately; nil if the set has no such layer.
// The error is a decode failure (which a pack that loaded does not have);
// the layer is then dropped, so that it is reported once.
func (l *layerSet) get(hash string) (image.Image, error) {
	if img, ok := l.small[hash]; ok {
		return img, nil
	}
	f, ok := l.large[hash]
	if !ok {
		return nil, nil
	}
	if img, ok := l.decoded.Get(hash); ok {
		return img, nil
	}
	img, err := avatar.Decode(f)
	if err != nil {
		delete(l.large, hash)
		return nil, fmt.Errorf("avatar layer %s: %w", f.Name, err)
	}
	c := cropRGBA(img)
	l.decoded.Add(hash, c)
	return c, nil
}
