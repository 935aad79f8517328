package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// parley_vp8 is one libvpx VP8 encoder and the buffer a frame's compressed
// packets are gathered in (C memory, reused from frame to frame).
typedef struct {
	vpx_codec_ctx_t ctx;
	int inited;
	unsigned int w, h;
	unsigned char *out;
	size_t len, cap;
} parley_vp8;

typedef struct {
	unsigned int w, h, kbps, kf_max_dist, max_intra_pct, ticks_per_sec;
	int cpu_used;
} parley_vp8_config;

static void parley_vp8_free(parley_vp8 *e) {
	if (!e) return;
	if (e->inited) vpx_codec_destroy(&e->ctx);
	free(e->out);
	free(e);
}

// parley_vp8_new sets up the encoder for real-time calls, as libwebrtc's
// LibvpxVp8Encoder does for one camera stream (InitEncode and
// InitAndSetControlSettings in modules/video_coding/codecs/vp8/
// libvpx_vp8_encoder.cc), except where noted. On failure *out is still
// set (unless calloc failed): the caller reads libvpx's error from it, then
// frees it.
static vpx_codec_err_t parley_vp8_new(const parley_vp8_config *c, parley_vp8 **out) {
	vpx_codec_enc_cfg_t cfg;
	vpx_codec_err_t res;
	parley_vp8 *e = calloc(1, sizeof *e);
	*out = e;
	if (!e) return VPX_CODEC_MEM_ERROR;
	e->w = c->w;
	e->h = c->h;
	res = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0);
	if (res) return res;
	cfg.g_w = c->w;
	cfg.g_h = c->h;
	cfg.g_threads = 1;      // VGA and below: libwebrtc uses one thread too
	cfg.g_timebase.num = 1; // pts and durations in ticks of the RTP clock
	cfg.g_timebase.den = c->ticks_per_sec;
	cfg.g_lag_in_frames = 0; // every frame out of the call that takes it in
	cfg.g_pass = VPX_RC_ONE_PASS;
	// No entropy context carried from frame to frame, so a lost frame does
	// not spoil the decoding of the next ones' coefficients (RTP can lose
	// frames; libwebrtc sets this only with temporal layers).
	cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;

	cfg.rc_end_usage = VPX_CBR;
	cfg.rc_target_bitrate = c->kbps;
	cfg.rc_resize_allowed = 0;
	// Never drop a frame: Encode always returns one. libwebrtc lets libvpx
	// drop frames when its buffer runs 30 % low; without that, a bit rate
	// below what the picture needs at the coarsest quantizer is overshot
	// (a noisy 640x480 scene: ~90 kbit/s however little is asked).
	cfg.rc_dropframe_thresh = 0;
	// libwebrtc's quantizer range for camera video (qp_max_ 56 of 63): the
	// coarsest steps did not hold the rate better on that scene either.
	cfg.rc_min_quantizer = 2;
	cfg.rc_max_quantizer = 56;
	// libwebrtc's rate adaptation and buffer model: after an overshoot a
	// frame's budget may drop by up to 100 % of the target, after an
	// undershoot it may grow by only 15 %; the receiver's buffer is 1 s of
	// the bit rate, 0.5 s full at the start, kept near 0.6 s (all in ms).
	cfg.rc_undershoot_pct = 100;
	cfg.rc_overshoot_pct = 15;
	cfg.rc_buf_initial_sz = 500;
	cfg.rc_buf_optimal_sz = 600;
	cfg.rc_buf_sz = 1000;

	cfg.kf_mode = VPX_KF_AUTO;
	if (c->kf_max_dist > 0) cfg.kf_max_dist = c->kf_max_dist;

	res = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &cfg, 0);
	if (res) return res;
	e->inited = 1;
	if ((res = vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, c->cpu_used))) return res;
	// libwebrtc turns the denoiser on for cameras (adaptive on desktops);
	// it costs CPU on every frame, so it stays off here.
	if ((res = vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0u))) return res;
	// Skip macroblocks whose change is below 1 (sum of squared differences):
	// libwebrtc's value for camera video (100 for screen sharing).
	if ((res = vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1u))) return res;
	if ((res = vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, (int)VP8_ONE_TOKENPARTITION))) return res;
	if ((res = vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, c->max_intra_pct))) return res;
	return VPX_CODEC_OK;
}

// parley_vp8_encode encodes one I420 frame whose planes are wrapped, not
// copied (libvpx copies the frame into its own buffer during the call and
// keeps no pointer to ours: g_lag_in_frames is 0), and gathers the
// compressed frame's packets into e->out.
static vpx_codec_err_t parley_vp8_encode(parley_vp8 *e, unsigned char *y, unsigned char *u, unsigned char *v,
		int y_stride, int c_stride, vpx_codec_pts_t pts, unsigned long duration, vpx_enc_frame_flags_t flags) {
	vpx_image_t img;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	vpx_codec_err_t res;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, e->w, e->h, 1, y)) return VPX_CODEC_INVALID_PARAM;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = y_stride;
	img.stride[VPX_PLANE_U] = img.stride[VPX_PLANE_V] = c_stride;
	res = vpx_codec_encode(&e->ctx, &img, pts, duration, flags, VPX_DL_REALTIME);
	e->len = 0;
	if (res) return res;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t n = pkt->data.frame.sz;
		if (e->len + n > e->cap) {
			size_t cap = 2 * (e->len + n);
			unsigned char *p = realloc(e->out, cap);
			if (!p) return VPX_CODEC_MEM_ERROR;
			e->out = p;
			e->cap = cap;
		}
		memcpy(e->out + e->len, pkt->data.frame.buf, n);
		e->len += n;
	}
	return VPX_CODEC_OK;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"unsafe"
)

// cpuUsed is libvpx's VP8E_SET_CPUUSED (vp8cx.h: -16..16). In real-time
// mode a value ≥ 0 lets libvpx pick its speed itself, as slow as fits in
// (16 - cpu_used)/16 of the frame interval (vp8_auto_select_speed in
// libvpx's vp8/encoder/rdopt.c): mediadevices left it at 0, the whole
// interval, so libvpx spent 7 ms on a test-pattern frame and 24 ms on a
// camera-like one. A negative value fixes the speed at -cpuUsed
// (vp8_set_speed_features in vp8/encoder/onyx_if.c): above 4 a hexagon
// motion search, above 6 motion modes skipped by an adaptive error
// threshold, above 8 no quarter-pixel motion, from 14 the simple loop
// filter, from 15 no half-pixel motion. libwebrtc uses -6 on desktops
// (cpu_speed_default_ in LibvpxVp8Encoder; -4 below CIF, -8 to -12 on
// ARM).
//
// Measured with BenchmarkEncodeScene640 (a 640×480 camera-like scene, 15
// fps, 500 kbit/s, one core of a 2-core AMD EPYC; docs/benchmarks.md, "The
// camera"), time in Encode and luma PSNR: -4 6.2 ms, 38.57 dB; -6 4.0 ms,
// 38.51 dB; -8 3.7 ms, 38.47 dB; -12 2.8 ms, 38.19 dB; -16 2.5 ms, 33.5
// dB (mediadevices' 0: 24 ms, 37.4 dB at half the rate). -6 it is: going
// faster saves under 2 % of a core at 15 fps for 0.3 dB at -12, and on
// the camera's test pattern -12 was no faster, spending 2.7 times the bits
// (464 kbit/s against 171), likely for want of quarter-pixel motion.
const cpuUsed = -6

// rtpClock is the encoder's time base, ticks per second: the 90 kHz clock
// of VP8 over RTP (RFC 7741 §4.1), as libwebrtc uses. Frames are stamped
// at Config.FrameRate (Encode takes no time): libvpx derives its per-frame
// bit budget from the stamps.
const rtpClock = 90000

// vpxEncoder is the C side of an Encoder.
type vpxEncoder struct {
	c        *C.parley_vp8
	pts      int64 // the next frame's, rtpClock ticks
	duration int64 // of a frame, rtpClock ticks
	cleanup  runtime.Cleanup
}

// newVPX starts libvpx's VP8 encoder for cfg (sizes checked by NewEncoder).
func newVPX(cfg Config) (*vpxEncoder, error) {
	fps := cfg.FrameRate
	if fps <= 0 {
		fps = defaultFrameRate
	}
	kbps := cfg.BitRate
	if kbps <= 0 {
		kbps = defaultBitRate
	}
	kbps = max(1, (kbps+500)/1000)
	c := C.parley_vp8_config{
		w: C.uint(cfg.Width), h: C.uint(cfg.Height), kbps: C.uint(kbps),
		kf_max_dist: C.uint(max(0, cfg.KeyFrameInterval)),
		// The largest keyframe, in % of a frame's share of the bit rate:
		// libwebrtc's MaxIntraTarget, half the optimal buffer (600 ms), at
		// least 3 frames' worth. 450 % at 15 fps.
		max_intra_pct: C.uint(max(300, math.Round(600*0.5*fps/10))),
		ticks_per_sec: rtpClock,
		cpu_used:      cpuUsed,
	}
	var p *C.parley_vp8
	if res := C.parley_vp8_new(&c, &p); res != C.VPX_CODEC_OK {
		var err error
		if p == nil {
			err = errors.New("vp8: encoder: out of memory")
		} else {
			err = vpxError("encoder", &p.ctx, res)
		}
		C.parley_vp8_free(p)
		return nil, err
	}
	v := &vpxEncoder{c: p, duration: max(1, int64(math.Round(rtpClock/fps)))}
	// A forgotten Close does not leak libvpx's buffers (several MB).
	v.cleanup = runtime.AddCleanup(v, func(p *C.parley_vp8) { C.parley_vp8_free(p) }, p)
	return v, nil
}

// encode compresses img (the encoder's size, 4:2:0) and returns a copy of
// the compressed frame.
func (v *vpxEncoder) encode(img *image.YCbCr, keyFrame bool) ([]byte, error) {
	if v.c == nil {
		return nil, errors.New("vp8: encode: encoder closed")
	}
	var flags C.vpx_enc_frame_flags_t
	if keyFrame {
		flags = C.VPX_EFLAG_FORCE_KF
	}
	b := img.Bounds()
	yo, co := img.YOffset(b.Min.X, b.Min.Y), img.COffset(b.Min.X, b.Min.Y)
	// C gets pointers into Go memory for this call only, as cgo allows:
	// libvpx copies the planes and keeps none.
	res := C.parley_vp8_encode(v.c,
		(*C.uchar)(unsafe.Pointer(&img.Y[yo])), (*C.uchar)(unsafe.Pointer(&img.Cb[co])), (*C.uchar)(unsafe.Pointer(&img.Cr[co])),
		C.int(img.YStride), C.int(img.CStride), C.vpx_codec_pts_t(v.pts), C.ulong(v.duration), flags)
	if res != C.VPX_CODEC_OK {
		return nil, vpxError("encode", &v.c.ctx, res)
	}
	v.pts += v.duration
	if v.c.len == 0 {
		return []byte{}, nil
	}
	return C.GoBytes(unsafe.Pointer(v.c.out), C.int(v.c.len)), nil
}

// close destroys the encoder (vpx_codec_destroy); again is a no-op.
func (v *vpxEncoder) close() {
	if v.c == nil {
		return
	}
	v.cleanup.Stop()
	C.parley_vp8_free(v.c)
	v.c = nil
}

// vpxError is libvpx's message for res (vpx_codec_error) and its detail
// (vpx_codec_error_detail), if any, read at once: the detail lives in the
// encoder.
func vpxError(op string, ctx *C.vpx_codec_ctx_t, res C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_err_to_string(res))
	if ctx.err == res {
		msg = C.GoString(C.vpx_codec_error(ctx))
	}
	if d := C.vpx_codec_error_detail(ctx); d != nil {
		msg += ": " + C.GoString(d)
	}
	return fmt.Errorf("vp8: %s: libvpx: %s", op, msg)
}
