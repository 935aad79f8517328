// Package vp8 encodes and decodes VP8 video (RFC 6386) one frame at a time
// with libvpx: the encoder takes any image.Image and returns the compressed
// frame, the decoder the reverse, for callers that have a frame in hand (a
// camera, an avatar renderer, an RTP track).
//
// The encoder is a small cgo binding to libvpx (vpxenc.go), set up for
// real-time calls as libwebrtc sets up its VP8 encoder: CBR rate control,
// the real-time deadline and a fixed speed (cpu_used -6). The decoder is a
// push-style wrapper around pion/mediadevices' codec/vpx pull reader.
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
	"github.com/pion/mediadevices/pkg/prop"
)

// ErrNoKeyframe is returned by Decoder.Decode for an inter frame before the
// first keyframe (or after a broken frame): it cannot be decoded alone.
var ErrNoKeyframe = errors.New("vp8: waiting for a keyframe")

// Defaults for a Config's zero FrameRate and BitRate.
const (
	defaultFrameRate = 30      // frames/s
	defaultBitRate   = 100_000 // bit/s (mediadevices' default before)
)

// Config is what an Encoder makes.
type Config struct {
	// Width and Height are the encoded frame's size in pixels, even (4:2:0);
	// frames of another size are scaled to fit (letterboxed).
	Width, Height int
	// FrameRate is the rate frames are given to Encode, frames/s (0: 30).
	// Encode takes no timestamp: libvpx is told the frames come at this
	// rate, and its rate control gives each frame BitRate/FrameRate bits.
	FrameRate float64
	// BitRate is the target, bit/s (0: 100 kbit/s), held by libvpx's CBR
	// rate control (rc_target_bitrate, kbit/s) with libwebrtc's 1 s buffer
	// model. A picture that needs fewer bits spends less (nothing pads),
	// one that needs more than the coarsest quantizer gives overshoots (no
	// frame is dropped).
	BitRate int
	// KeyFrameInterval is the most frames between two keyframes
	// (kf_max_dist); 0 leaves libvpx's default (128).
	KeyFrameInterval int
}

// Encoder compresses frames to VP8 with libvpx. It is not safe for
// concurrent use.
type Encoder struct {
	cfg      Config
	vpx      *vpxEncoder
	keyFrame bool         // force the next frame to be a keyframe
	buf      *image.YCbCr // the frame converted for libvpx (4:2:0, BT.601)
	rgba     *image.RGBA  // the frame drawn at the encoder's size
}

// NewEncoder starts a libvpx VP8 encoder. It returns an error for an odd or
// empty size or if libvpx refuses the configuration (libvpx-dev missing at
// build time fails the build instead).
func NewEncoder(cfg Config) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return nil, fmt.Errorf("vp8: frame size %dx%d must be positive and even", cfg.Width, cfg.Height)
	}
	v, err := newVPX(cfg)
	if err != nil {
		return nil, err
	}
	return &Encoder{
		cfg:  cfg,
		vpx:  v,
		buf:  image.NewYCbCr(image.Rect(0, 0, cfg.Width, cfg.Height), image.YCbCrSubsampleRatio420),
		rgba: image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height)),
	}, nil
}

// Encode compresses one frame and returns it as one VP8 frame (RFC 6386),
// owned by the caller; the first frame is a keyframe. img is
// drawn at the encoder's size: scaled to fit with black bars if its aspect
// differs. A 4:2:0 *image.YCbCr of the encoder's size goes to libvpx as it
// is, unconverted and uncopied. After Close it returns an error.
func (e *Encoder) Encode(img image.Image) ([]byte, error) {
	if e.vpx.c == nil {
		return nil, errors.New("vp8: encode: encoder closed")
	}
	b, err := e.vpx.encode(e.toYCbCr(img), e.keyFrame)
	if err != nil {
		return nil, err
	}
	e.keyFrame = false
	return b, nil
}

// ForceKeyFrame makes the next frame a keyframe (a new viewer, a loss the
// receiver cannot repair): libvpx's VPX_EFLAG_FORCE_KF.
func (e *Encoder) ForceKeyFrame() { e.keyFrame = true }

// Close releases libvpx's encoder (vpx_codec_destroy). Closing again does
// nothing.
func (e *Encoder) Close() error {
	e.vpx.close()
	return nil
}

// toYCbCr returns img as a 4:2:0 frame of the encoder's size: img itself
// if it is one, else e.buf converted from it (BT.601, as libvpx expects).
func (e *Encoder) toYCbCr(img image.Image) *image.YCbCr {
	b := img.Bounds()
	if y, ok := img.(*image.YCbCr); ok && b.Dx() == e.cfg.Width && b.Dy() == e.cfg.Height && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		return y
	}
	dst := e.rgba
	if b.Dx() == e.cfg.Width && b.Dy() == e.cfg.Height {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	} else {
		fit(dst, img)
	}
	out := e.buf
	w, h := e.cfg.Width, e.cfg.Height
	for y := 0; y < h; y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			r, g, bl := row[4*x], row[4*x+1], row[4*x+2]
			yy, cb, cr := color.RGBToYCbCr(r, g, bl)
			out.Y[y*out.YStride+x] = yy
			if x%2 == 0 && y%2 == 0 {
				i := (y/2)*out.CStride + x/2
				out.Cb[i], out.Cr[i] = cb, cr
			}
		}
	}
	return out
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
