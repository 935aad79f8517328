//go:build cgo

package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdio.h>
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

// parley_ps_new loads a decoder for 16 kHz audio from an acoustic model
// directory, a binary language model and a dictionary, or returns NULL. It
// exists because cgo cannot call the variadic cmd_ln_init.
static ps_decoder_t *parley_ps_new(const char *hmm, const char *lm, const char *dict) {
	cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE,
		"-hmm", hmm, "-lm", lm, "-dict", dict, "-samprate", "16000", NULL);
	if (config == NULL) {
		return NULL;
	}
	ps_decoder_t *ps = ps_init(config);
	cmd_ln_free_r(config); // ps_init keeps its own reference
	return ps;
}

// parley_prime_cmn sets the decoder's live cepstral mean to the mean of
// the cepstra of the whole utterance pcm (what batch CMN would subtract),
// computed with the decoder's own front end; cmn_live_set also resets the
// running sum, so nothing of earlier utterances remains. The front end is
// restarted by ps_start_utt afterwards. Returns the number of frames, or -1
// on error. This pass is cheap: 14 ms for the 37 s of test recordings,
// whose decoding takes about 6 s.
static int parley_prime_cmn(ps_decoder_t *ps, const int16 *pcm, size_t n) {
	fe_t *fe = ps_get_fe(ps);
	feat_t *feat = ps_get_feat(ps);
	if (fe == NULL || feat == NULL || feat->cmn_struct == NULL) {
		return 0; // no CMN: nothing to prime
	}
	int ncep = feat->cmn_struct->veclen;
	if (ncep > 64 || fe_get_output_size(fe) < ncep) {
		return -1;
	}
	mfcc_t **cep = NULL;
	int32 nfr = 0;
	if (fe_start_utt(fe) < 0 || fe_process_utt(fe, pcm, n, &cep, &nfr) < 0) {
		return -1;
	}
	if (nfr > 0) {
		mfcc_t mean[64];
		for (int j = 0; j < ncep; j++) {
			double sum = 0;
			for (int i = 0; i < nfr; i++) {
				sum += MFCC2FLOAT(cep[i][j]);
			}
			mean[j] = FLOAT2MFCC(sum / nfr);
		}
		cmn_live_set(feat->cmn_struct, mean);
	}
	if (cep != NULL) {
		fe_free_2d(cep);
	}
	return nfr;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/parley-app/parley/agent/provider"
)

// loadMu serialises decoder loading: libsphinxbase keeps its log stream and
// debug level in process globals that ps_init writes, and loading one model
// at a time also bounds the memory peak.
var loadMu sync.Mutex

// quiet is set once libsphinxbase's logging has been turned off. It logs
// every configuration value and per-utterance statistics to stderr by
// default; the errors that matter reach the caller as Go errors.
var quiet bool

// decoder is one PocketSphinx decoder (ps_decoder_t, C memory). Its methods
// must not be called by two goroutines at once.
type decoder struct {
	ps *C.ps_decoder_t
}

// newDecoder loads a decoder from cfg's model.
func newDecoder(cfg Config) (*decoder, error) {
	hmm, lm, dict, err := cfg.paths()
	if err != nil {
		return nil, err
	}
	chmm, clm, cdict := C.CString(hmm), C.CString(lm), C.CString(dict)
	defer C.free(unsafe.Pointer(chmm))
	defer C.free(unsafe.Pointer(clm))
	defer C.free(unsafe.Pointer(cdict))

	loadMu.Lock()
	defer loadMu.Unlock()
	if !quiet {
		C.err_set_logfp(nil)
		quiet = true
	}
	ps := C.parley_ps_new(chmm, clm, cdict)
	if ps == nil {
		return nil, fmt.Errorf("%w: sphinx: libpocketsphinx could not load the model in %s (reinstall the Debian package pocketsphinx-en-us)",
			provider.ErrNotConfigured, cfg.ModelDir)
	}
	return &decoder{ps: ps}, nil
}

// decode runs one utterance through the decoder, ChunkSamples at a time,
// calling check before each chunk and stopping with its error if it
// returns one. libpocketsphinx copies the samples into its own buffers
// during each call and keeps no pointer to Go memory.
func (d *decoder) decode(pcm []int16, check func() error) (string, error) {
	if C.parley_prime_cmn(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm))) < 0 {
		return "", fmt.Errorf("%w: computing the cepstral mean", ErrDecode)
	}
	if C.ps_start_utt(d.ps) < 0 {
		return "", fmt.Errorf("%w: ps_start_utt", ErrDecode)
	}
	for off := 0; off < len(pcm); off += ChunkSamples {
		if err := check(); err != nil {
			C.ps_end_utt(d.ps) // leave the decoder ready for the next utterance
			return "", err
		}
		chunk := pcm[off:min(off+ChunkSamples, len(pcm))]
		if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&chunk[0])), C.size_t(len(chunk)), 0, 0) < 0 {
			C.ps_end_utt(d.ps)
			return "", fmt.Errorf("%w: ps_process_raw at sample %d of %d", ErrDecode, off, len(pcm))
		}
	}
	if C.ps_end_utt(d.ps) < 0 {
		return "", fmt.Errorf("%w: ps_end_utt", ErrDecode)
	}
	hyp := C.ps_get_hyp(d.ps, nil)
	if hyp == nil {
		return "", nil
	}
	return C.GoString(hyp), nil // copies: the string belongs to the decoder
}

// free releases the decoder's C memory; the decoder must not be used again.
func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}
