package vad

import (
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/parley-app/parley/media/audio"
)

// The Silero VAD v5 network (github.com/snakers4/silero-vad, MIT), as its
// ONNX export declares it and as its reference wrapper, OnnxWrapper in
// src/silero_vad/utils_vad.py, feeds it at 16 kHz:
//
//	input  float32 [1, 576]      64 samples of context (the end of the
//	                             previous window) + 512 new ones, in [-1, 1)
//	state  float32 [2, 1, 128]   recurrent state, zero at the start
//	sr     int64   scalar        16000
//	output float32 [1, 1]        speech probability of the window
//	stateN float32 [2, 1, 128]   state for the next window
const (
	sileroRate     = 16000
	sileroWindow   = 512 // new samples per run: 32 ms
	sileroContext  = 64
	sileroDecimate = audio.SampleRate / sileroRate // 48 kHz samples per 16 kHz sample
)

var (
	sileroInputs  = []string{"input", "state", "sr"}
	sileroOutputs = []string{"output", "stateN"}
	sileroState   = ort.NewShape(2, 1, 128)
)

// Silero hysteresis, as silero-vad's VADIterator (src/silero_vad/utils_vad.py):
// speech starts at a window whose probability is at least threshold and
// lasts until one falls below threshold - 0.15. VADIterator's other knob,
// min_silence_duration_ms, is left to the turn detector (agent/turn), which
// already waits for a pause before it ends a turn.
const (
	DefaultSileroThreshold    = 0.5
	DefaultSileroNegThreshold = DefaultSileroThreshold - 0.15
)

// SileroModel is the Silero VAD network loaded into ONNX Runtime: one
// session, shared by every detector made from it and safe for concurrent use
// (ONNX Runtime's Run is thread-safe, and onnxruntime_go's
// DynamicAdvancedSession takes its tensors per call, which its author names
// as the type to share between goroutines in yalue/onnxruntime_go#79;
// AdvancedSession binds its tensors at creation and is not). Load it once per
// process with LoadSilero and make a detector per stream with NewDetector.
type SileroModel struct {
	// mu is held for reading while a detector runs the session and for
	// writing while ORT values are destroyed, so nothing is freed under a run.
	mu      sync.RWMutex
	closed  bool
	session *ort.DynamicAdvancedSession
	live    map[*Silero]struct{} // detectors not yet closed
}

// LoadSilero starts ONNX Runtime from the shared library at lib (once per
// process; see ErrRuntime) and loads the Silero VAD v5 model at model, with
// one intra-op thread per run: a 32 ms window is too small to gain from
// more, and sessions run side by side on the other cores. Missing files give
// ErrNotInstalled. Paths usually come from SileroPaths.
func LoadSilero(lib, model string) (*SileroModel, error) {
	if err := checkInstalled("ONNX Runtime library", lib, EnvOnnxRuntimeLib); err != nil {
		return nil, err
	}
	if err := checkInstalled("Silero VAD model", model, EnvSileroModel); err != nil {
		return nil, err
	}
	if err := startRuntime(lib); err != nil {
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("vad: session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("vad: session options: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("vad: session options: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSession(model, sileroInputs, sileroOutputs, opts)
	if err != nil {
		return nil, fmt.Errorf("vad: load Silero model %s: %w", model, err)
	}
	return &SileroModel{session: s, live: make(map[*Silero]struct{})}, nil
}

// Close destroys the session and the ORT values of every detector not yet
// closed; those detectors then hear silence and report ErrClosed. It waits
// for runs in progress and is safe to call more than once.
func (m *SileroModel) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for d := range m.live {
		d.destroy()
	}
	m.live = nil
	return m.session.Destroy()
}

// NewDetector returns a detector with its own recurrent state, for one
// stream. Close it when the stream ends.
func (m *SileroModel) NewDetector() (*Silero, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	d := &Silero{
		Threshold:    DefaultSileroThreshold,
		NegThreshold: DefaultSileroNegThreshold,
		m:            m,
		window:       make([]float32, sileroContext+sileroWindow),
		prob:         make([]float32, 1),
		state:        make([]float32, sileroState.FlattenedSize()),
		next:         make([]float32, sileroState.FlattenedSize()),
	}
	if err := d.newValues(); err != nil {
		d.destroy()
		return nil, fmt.Errorf("vad: new Silero detector: %w", err)
	}
	m.live[d] = struct{}{}
	return d, nil
}

// Silero is a Silero VAD detector for one stream of 20 ms frames of 48 kHz
// mono int16. It averages each 3 samples into one at 16 kHz (a box filter:
// Silero's own wrapper merely keeps every 3rd), runs the network on every
// 512 new samples (32 ms) and holds its decision between runs, so a frame's
// answer is at most 32 ms old. A Silero is used by one goroutine at a time;
// many Silero detectors may run on one SileroModel at once.
type Silero struct {
	// Threshold and NegThreshold are the hysteresis: speech begins at a
	// probability ≥ Threshold and ends at one < NegThreshold.
	Threshold, NegThreshold float32

	m *SileroModel

	// Go memory that the ORT values below are views of. window holds the
	// context and then the new samples; state and next swap after each run.
	window, prob, state, next []float32
	inT, stateT, nextT, probT *ort.Tensor[float32]
	srT                       *ort.Scalar[int64]
	closed                    bool // guarded by m.mu

	n      int   // new 16 kHz samples in window
	sum    int32 // 48 kHz samples of the 16 kHz sample being averaged
	nsum   int
	speech bool
	last   float32
	err    error
}

var _ Detector = (*Silero)(nil)

// newValues makes d's ORT values over its Go buffers.
func (d *Silero) newValues() (err error) {
	if d.inT, err = ort.NewTensor(ort.NewShape(1, sileroContext+sileroWindow), d.window); err != nil {
		return err
	}
	if d.stateT, err = ort.NewTensor(sileroState, d.state); err != nil {
		return err
	}
	if d.nextT, err = ort.NewTensor(sileroState, d.next); err != nil {
		return err
	}
	if d.probT, err = ort.NewTensor(ort.NewShape(1, 1), d.prob); err != nil {
		return err
	}
	d.srT, err = ort.NewScalar(int64(sileroRate))
	return err
}

// destroy releases d's ORT values. The caller holds d.m.mu for writing (or
// owns d alone).
func (d *Silero) destroy() {
	for _, t := range []*ort.Tensor[float32]{d.inT, d.stateT, d.nextT, d.probT} {
		if t != nil {
			t.Destroy()
		}
	}
	if d.srT != nil {
		d.srT.Destroy()
	}
	d.inT, d.stateT, d.nextT, d.probT, d.srT = nil, nil, nil, nil, nil
	d.closed = true
}

// IsSpeech implements Detector. frame is 48 kHz mono int16, normally 960
// samples; any length works, samples carry over between calls. After an
// error (see Err) it reports no speech.
func (d *Silero) IsSpeech(frame []int16) bool {
	win := d.window[sileroContext:]
	for _, s := range frame {
		d.sum += int32(s)
		if d.nsum++; d.nsum < sileroDecimate {
			continue
		}
		win[d.n] = float32(d.sum) / (sileroDecimate * 32768)
		d.sum, d.nsum = 0, 0
		if d.n++; d.n == sileroWindow {
			d.infer()
			d.n = 0
		}
	}
	return d.speech
}

// infer runs the network on the full window and updates the decision.
func (d *Silero) infer() {
	if err := d.run(); err != nil {
		if d.err == nil {
			d.err = err
		}
		d.speech, d.last = false, 0
		return
	}
	d.update(d.prob[0])
	// The next window's context is the end of this one.
	copy(d.window[:sileroContext], d.window[sileroWindow:])
}

// update applies the hysteresis to a window's probability p.
func (d *Silero) update(p float32) {
	switch {
	case p >= d.Threshold:
		d.speech = true
	case p < d.NegThreshold:
		d.speech = false
	}
	d.last = p
}

// run runs the session once, under the model's read lock.
func (d *Silero) run() error {
	d.m.mu.RLock()
	defer d.m.mu.RUnlock()
	if d.closed || d.m.closed {
		return ErrClosed
	}
	err := d.m.session.Run(
		[]ort.Value{d.inT, d.stateT, d.srT},
		[]ort.Value{d.probT, d.nextT})
	if err != nil {
		return fmt.Errorf("vad: run Silero: %w", err)
	}
	d.state, d.next = d.next, d.state
	d.stateT, d.nextT = d.nextT, d.stateT
	return nil
}

// Probability returns the speech probability of the last 32 ms window the
// network ran on, 0..1 (0 before the first).
func (d *Silero) Probability() float32 { return d.last }

// Err returns the first error the detector met, or nil. ErrClosed means the
// detector or its model was closed.
func (d *Silero) Err() error { return d.err }

// Reset forgets the stream: recurrent state, context, pending samples and
// the decision, as if the detector were new.
func (d *Silero) Reset() {
	clear(d.window)
	clear(d.state)
	clear(d.next)
	d.n, d.sum, d.nsum = 0, 0, 0
	d.speech, d.last, d.err = false, 0, nil
}

// Close releases the detector's ORT values. It is safe to call more than
// once, and after the model's Close.
func (d *Silero) Close() error {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	if !d.closed {
		d.destroy()
		delete(d.m.live, d)
	}
	return nil
}
