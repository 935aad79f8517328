// Package vp8 encodes and decodes VP8 video (RFC 6386) one frame at a time
// with libvpx, through pion/mediadevices' codec/vpx: the encoder takes any
// image.Image and returns the compressed frame, the decoder the reverse.
// Both are push-style wrappers around mediadevices' pull readers, for
// callers that have a frame in hand (an avatar renderer, an RTP track).
package vp8

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// ErrNoKeyframe is returned by Decoder.Decode for an inter frame before the
// first keyframe (or after a broken frame): it cannot be decoded alone.
var ErrNoKeyframe = errors.New("vp8: waiting for a keyframe")

// Config is what an Encoder makes.
type Config struct {
	Width, Height int // pixels; frames of another size are scaled to fit (letterboxed)
	FrameRate     float64
	BitRate       int // target, bit/s (libvpx CBR rate control)
	// KeyFrameInterval is the most frames between two keyframes; 0 leaves
	// libvpx's default.
	KeyFrameInterval int
}

// Encoder compresses frames to VP8. It is not safe for concurrent use.
type Encoder struct {
	cfg  Config
	enc  codec.ReadCloser
	next *image.YCbCr
	rgba *image.RGBA
}

// NewEncoder starts a libvpx VP8 encoder. It returns an error if libvpx
// cannot be set up (libvpx-dev missing at build time fails the build
// instead).
func NewEncoder(cfg Config) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("vp8: frame size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	params, err := vpx.NewVP8Params()
	if err != nil {
		return nil, fmt.Errorf("vp8: %w", err)
	}
	params.BitRate = cfg.BitRate
	if cfg.KeyFrameInterval > 0 {
		params.KeyFrameInterval = cfg.KeyFrameInterval
	}
	e := &Encoder{
		cfg:  cfg,
		next: image.NewYCbCr(image.Rect(0, 0, cfg.Width, cfg.Height), image.YCbCrSubsampleRatio420),
		rgba: image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height)),
	}
	src := video.ReaderFunc(func() (image.Image, func(), error) { return e.next, func() {}, nil })
	e.enc, err = params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{
		Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FrameRate), FrameFormat: frame.FormatI420,
	}})
	if err != nil {
		return nil, fmt.Errorf("vp8: encoder: %w", err)
	}
	return e, nil
}

// Encode compresses one frame and returns the VP8 bitstream (owned by the
// caller; the first frame is a keyframe). img is drawn at the encoder's
// size: scaled to fit with black bars if its aspect differs.
func (e *Encoder) Encode(img image.Image) ([]byte, error) {
	e.toYCbCr(img)
	b, release, err := e.enc.Read()
	if err != nil {
		return nil, fmt.Errorf("vp8: encode: %w", err)
	}
	out := append([]byte(nil), b...)
	release()
	return out, nil
}

// ForceKeyFrame makes the next frame a keyframe (a new viewer, a loss the
// receiver cannot repair).
func (e *Encoder) ForceKeyFrame() {
	if k, ok := e.enc.Controller().(codec.KeyFrameController); ok {
		_ = k.ForceKeyFrame()
	}
}

// Close releases libvpx's encoder.
func (e *Encoder) Close() error { return e.enc.Close() }

// toYCbCr converts img into e.next (BT.601, as libvpx expects).
func (e *Encoder) toYCbCr(img image.Image) {
	b := img.Bounds()
	if y, ok := img.(*image.YCbCr); ok && b.Dx() == e.cfg.Width && b.Dy() == e.cfg.Height && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		e.next = y
		return
	}
	dst := e.rgba
	if b.Dx() == e.cfg.Width && b.Dy() == e.cfg.Height {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	} else {
		fit(dst, img)
	}
	if e.next.Rect.Dx() != e.cfg.Width { // the caller's own YCbCr was used last time
		e.next = image.NewYCbCr(image.Rect(0, 0, e.cfg.Width, e.cfg.Height), image.YCbCrSubsampleRatio420)
	}
	w, h := e.cfg.Width, e.cfg.Height
	for y := 0; y < h; y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			r, g, bl := row[4*x], row[4*x+1], row[4*x+2]
			yy, cb, cr := color.RGBToYCbCr(r, g, bl)
			e.next.Y[y*e.next.YStride+x] = yy
			if x%2 == 0 && y%2 == 0 {
				i := (y/2)*e.next.CStride + x/2
				e.next.Cb[i], e.next.Cr[i] = cb, cr
			}
		}
	}
}

// fit draws src scaled to fit dst, centred, on black.
func fit(dst *image.RGBA, src image.Image) {
	draw.Draw(dst, dst.Bounds(), image.Black, image.Point{}, draw.Src)
	sb, db := src.Bounds(), dst.Bounds()
	scale := min(float64(db.Dx())/float64(sb.Dx()), float64(db.Dy())/float64(sb.Dy()))
	w, h := int(float64(sb.Dx())*scale), int(float64(sb.Dy())*scale)
	x0, y0 := (db.Dx()-w)/2, (db.Dy()-h)/2
	xdraw.ApproxBiLinear.Scale(dst, image.Rect(x0, y0, x0+w, y0+h), src, sb, draw.Over, nil)
}

// Decoder decompresses VP8 frames. It is not safe for concurrent use.
type Decoder struct {
	dec     codec.VideoDecoder
	in      frameReader
	waitKey bool
	release func() // gives the last frame's buffer back to libvpx
}

// NewDecoder returns a decoder that waits for a keyframe.
func NewDecoder() *Decoder { return &Decoder{waitKey: true} }

// IsKeyFrame reports whether frame is a VP8 keyframe (RFC 6386 §9.1: bit 0
// of the first byte clear).
func IsKeyFrame(frame []byte) bool { return len(frame) > 2 && frame[0]&1 == 0 }

// Decode decompresses one frame (every frame must be given, in order: inter
// frames depend on the ones before). The image is libvpx's buffer, valid
// until the next Decode or Close (Copy keeps one). It returns ErrNoKeyframe
// for an inter frame before a keyframe, or the decoder's error (then it
// waits for the next keyframe).
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	d.done()
	if d.waitKey {
		if !IsKeyFrame(frame) {
			return nil, ErrNoKeyframe
		}
		if d.dec == nil {
			dec, err := vpx.NewDecoder(&d.in, prop.Media{})
			if err != nil {
				return nil, fmt.Errorf("vp8: decoder: %w", err)
			}
			d.dec = dec
		}
		d.waitKey = false
	}
	d.in.next = frame
	img, release, err := d.dec.Read()
	if err != nil {
		d.waitKey = true
		return nil, fmt.Errorf("vp8: decode: %w", err)
	}
	d.release = release
	y, ok := img.(*image.YCbCr)
	if !ok {
		return nil, fmt.Errorf("vp8: decoder gave a %T", img)
	}
	return y, nil
}

// done gives the last decoded frame's buffer back.
func (d *Decoder) done() {
	if d.release != nil {
		d.release()
		d.release = nil
	}
}

// Copy returns a copy of img that the caller owns.
func Copy(img *image.YCbCr) *image.YCbCr {
	cp := *img
	cp.Y = append([]byte(nil), img.Y...)
	cp.Cb = append([]byte(nil), img.Cb...)
	cp.Cr = append([]byte(nil), img.Cr...)
	return &cp
}

// Close releases libvpx's decoder.
func (d *Decoder) Close() error {
	d.done()
	if d.dec == nil {
		return nil
	}
	err := d.dec.Close()
	d.dec = nil
	return err
}

// frameReader hands the decoder one frame per Read.
type frameReader struct{ next []byte }

var errNoFrame = errors.New("vp8: no frame")

func (r *frameReader) Read(p []byte) (int, error) {
	if r.next == nil {
		return 0, errNoFrame
	}
	n := copy(p, r.next)
	r.next = nil
	return n, nil
}
