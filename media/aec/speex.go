package aec

/*
#cgo pkg-config: speexdsp
#include <stdlib.h>
#include <string.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <speex/speex_resampler.h>

// parley_aec runs speexdsp's echo canceller and preprocessor at 16 kHz on
// 48 kHz frames: both signals are resampled down (speexdsp's resampler,
// the same filter for both, so their alignment is kept), cancelled in
// 10 ms blocks, and the result resampled up.
typedef struct {
	SpeexEchoState *echo;
	SpeexPreprocessState *pp;
	SpeexResamplerState *down_near, *down_far, *up;
	int frame48, frame16, block;
	spx_int16_t *near16, *far16, *out16;
} parley_aec;

static void parley_aec_free(parley_aec *a) {
	if (!a) return;
	if (a->pp) speex_preprocess_state_destroy(a->pp);
	if (a->echo) speex_echo_state_destroy(a->echo);
	if (a->down_near) speex_resampler_destroy(a->down_near);
	if (a->down_far) speex_resampler_destroy(a->down_far);
	if (a->up) speex_resampler_destroy(a->up);
	free(a->near16); free(a->far16); free(a->out16);
	free(a);
}

static parley_aec *parley_aec_new(int frame48, int taps16, int denoise, int agc) {
	int err = 0, rate = 16000, on = 1, off = 0, noise = -1;
	parley_aec *a = calloc(1, sizeof *a);
	if (!a) return NULL;
	a->frame48 = frame48;
	a->frame16 = frame48 / 3;
	a->block = 160; // 10 ms at 16 kHz
	a->echo = speex_echo_state_init(a->block, taps16);
	a->pp = speex_preprocess_state_init(a->block, rate);
	a->down_near = speex_resampler_init(1, 48000, 16000, SPEEX_RESAMPLER_QUALITY_VOIP, &err);
	a->down_far = speex_resampler_init(1, 48000, 16000, SPEEX_RESAMPLER_QUALITY_VOIP, &err);
	a->up = speex_resampler_init(1, 16000, 48000, SPEEX_RESAMPLER_QUALITY_VOIP, &err);
	a->near16 = calloc(a->frame16, sizeof(spx_int16_t));
	a->far16 = calloc(a->frame16, sizeof(spx_int16_t));
	a->out16 = calloc(a->frame16, sizeof(spx_int16_t));
	if (!a->echo || !a->pp || !a->down_near || !a->down_far || !a->up || !a->near16 || !a->far16 || !a->out16 || a->frame16 % a->block) {
		parley_aec_free(a);
		return NULL;
	}
	speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
	// The preprocessor suppresses the echo the filter leaves. speexdsp
	// applies that suppression only inside its denoiser (one gain for noise
	// and echo), so the denoiser always runs; without noise suppression its
	// noise attenuation is held to 1 dB.
	speex_preprocess_ctl(a->pp, SPEEX_PREPROCESS_SET_ECHO_STATE, a->echo);
	speex_preprocess_ctl(a->pp, SPEEX_PREPROCESS_SET_DENOISE, &on);
	if (!denoise) speex_preprocess_ctl(a->pp, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise);
	speex_preprocess_ctl(a->pp, SPEEX_PREPROCESS_SET_AGC, agc ? &on : &off);
	speex_preprocess_ctl(a->pp, SPEEX_PREPROCESS_SET_DEREVERB, &off);
	return a;
}

static void parley_aec_process(parley_aec *a, const spx_int16_t *near, const spx_int16_t *far, spx_int16_t *out) {
	spx_uint32_t in = a->frame48, n = a->frame16;
	speex_resampler_process_int(a->down_near, 0, near, &in, a->near16, &n);
	in = a->frame48; n = a->frame16;
	speex_resampler_process_int(a->down_far, 0, far, &in, a->far16, &n);
	for (int i = 0; i < a->frame16; i += a->block) {
		speex_echo_cancellation(a->echo, a->near16 + i, a->far16 + i, a->out16 + i);
		speex_preprocess_run(a->pp, a->out16 + i);
	}
	in = a->frame16; n = a->frame48;
	speex_resampler_process_int(a->up, 0, a->out16, &in, out, &n);
	if ((int)n < a->frame48) memset(out + n, 0, (a->frame48 - n) * sizeof *out);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// ProcessingRate is the rate the canceller runs at: 16 kHz, which keeps
// speech (the agent's STT listens at 16 kHz) at a ninth of the cost of
// 48 kHz, and converged faster on our recordings (docs/architecture.md).
const ProcessingRate = 16000

// state is one C canceller with C-owned frame buffers (C never keeps a
// pointer into Go memory).
type state struct {
	a   *C.parley_aec
	buf *C.spx_int16_t // near, far, out: 3 frames at 48 kHz
	n   int
}

func newState(frame48, taps16 int, denoise, agc bool) (*state, error) {
	a := C.parley_aec_new(C.int(frame48), C.int(taps16), boolInt(denoise), boolInt(agc))
	if a == nil {
		return nil, errors.New("aec: speexdsp could not be set up")
	}
	buf := (*C.spx_int16_t)(C.calloc(C.size_t(3*frame48), 2))
	return &state{a: a, buf: buf, n: frame48}, nil
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (s *state) process(near, far, out []int16) {
	all := unsafe.Slice((*int16)(unsafe.Pointer(s.buf)), 3*s.n)
	copy(all[:s.n], near)
	copy(all[s.n:2*s.n], far)
	base := unsafe.Pointer(s.buf)
	C.parley_aec_process(s.a, (*C.spx_int16_t)(base),
		(*C.spx_int16_t)(unsafe.Add(base, 2*s.n)), (*C.spx_int16_t)(unsafe.Add(base, 4*s.n)))
	copy(out, all[2*s.n:])
}

func (s *state) reset() { C.speex_echo_state_reset(s.a.echo) }

func (s *state) free() {
	C.parley_aec_free(s.a)
	C.free(unsafe.Pointer(s.buf))
}
