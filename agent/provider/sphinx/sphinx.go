// Package sphinx is an offline speech-to-text provider (provider.STT) built
// on CMU PocketSphinx, through a small cgo binding to libpocketsphinx
// (0.8+5prealpha as Debian ships it; BSD licence) and the US English model
// of Debian's pocketsphinx-en-us package.
//
// A PocketSphinx decoder holds the acoustic model, the language model and
// the dictionary in C memory; it takes a noticeable time to load (see
// BenchmarkNew) and may be used by one goroutine at a time. An STT therefore
// keeps a pool of decoders for a server with many sessions: one is loaded by
// New, more are loaded on demand up to Config.MaxDecoders, and they are all
// freed by Close.
//
// A decoder normally carries its cepstral mean (the running average of the
// spectrum that normalises the input, "live CMN") from one utterance to the
// next, so a transcript would depend on what the same decoder heard before
// — another user's speech, in a shared pool — and differ from decoder to
// decoder. Transcribe instead sets the mean from the utterance itself
// before decoding it (what PocketSphinx's batch CMN does for a whole
// utterance), which makes each result depend on its own audio only.
//
// libpocketsphinx ends the process (exit, or a crash) on some malformed
// model files, where it should return an error. New checks what is cheap
// to check (the files are there, the model definition has the right
// format); a model directory must otherwise come from a trusted install.
package sphinx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/parley-app/parley/agent/provider"
)

// DefaultModelDir is where Debian's pocketsphinx-en-us package installs the
// US English model.
const DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"

// The files of a model directory, named as pocketsphinx-en-us names them.
const (
	acousticModel = "en-us"              // directory: HMM (mdef, means, …)
	languageModel = "en-us.lm.bin"       // binary trigram language model
	dictionary    = "cmudict-en-us.dict" // pronunciations
)

// ChunkSamples is how much audio Transcribe hands the decoder at a time:
// 0.25 s at 16 kHz. The context is checked between chunks, so a cancelled
// Transcribe returns within the time the decoder takes for one chunk.
const ChunkSamples = provider.STTSampleRate / 4

// Errors of this package (wrapped; test them with errors.Is).
var (
	// ErrClosed is returned by Transcribe once Close has been called.
	ErrClosed = errors.New("sphinx: closed")
	// ErrDecode is returned when libpocketsphinx reports a failure while
	// decoding.
	ErrDecode = errors.New("sphinx: decoding failed")
)

// Config says which model to load and how many decoders to keep.
type Config struct {
	// ModelDir holds the acoustic model directory "en-us", the language
	// model "en-us.lm.bin" and the dictionary "cmudict-en-us.dict", laid
	// out as pocketsphinx-en-us installs them. Default DefaultModelDir.
	ModelDir string
	// MaxDecoders caps the decoders loaded at once, which is how many
	// Transcribe calls run in parallel; further calls wait for a free one.
	// With pocketsphinx-en-us each decoder takes about 0.3 s to load and
	// about 90 MB of memory (the language model is read into each).
	// Default runtime.NumCPU().
	MaxDecoders int
}

func (c Config) withDefaults() Config {
	if c.ModelDir == "" {
		c.ModelDir = DefaultModelDir
	}
	if c.MaxDecoders <= 0 {
		c.MaxDecoders = runtime.NumCPU()
	}
	return c
}

// paths returns the model's acoustic model directory, language model and
// dictionary after checking them as far as is cheap: a missing package is
// then named in the error instead of surfacing as a bare load failure, and
// the files for which libpocketsphinx would end the whole process (a
// missing mixture file, a model definition of the wrong format: E_FATAL,
// which calls exit) are refused here.
func (c Config) paths() (hmm, lm, dict string, err error) {
	hmm = filepath.Join(c.ModelDir, acousticModel)
	lm = filepath.Join(c.ModelDir, languageModel)
	dict = filepath.Join(c.ModelDir, dictionary)
	notConfigured := func(format string, a ...any) error {
		return fmt.Errorf("%w: sphinx: "+format+" (install the Debian package pocketsphinx-en-us, or set the model directory)",
			append([]any{provider.ErrNotConfigured}, a...)...)
	}
	for _, p := range []string{"mdef", "means", "variances", "transition_matrices"} {
		if _, err := os.Stat(filepath.Join(hmm, p)); err != nil {
			return "", "", "", notConfigured("acoustic model file: %w", err)
		}
	}
	_, errSendump := os.Stat(filepath.Join(hmm, "sendump"))
	_, errMixw := os.Stat(filepath.Join(hmm, "mixture_weights"))
	if errSendump != nil && errMixw != nil {
		return "", "", "", notConfigured("acoustic model %s has neither sendump nor mixture_weights: %w", hmm, errSendump)
	}
	if err := checkMdef(filepath.Join(hmm, "mdef")); err != nil {
		return "", "", "", notConfigured("%w", err)
	}
	for _, p := range []string{lm, dict} {
		if _, err := os.Stat(p); err != nil {
			return "", "", "", notConfigured("model file: %w", err)
		}
	}
	return hmm, lm, dict, nil
}

// checkMdef checks that path starts like a model definition: "BMDF" (the
// binary format, in either byte order) or "0.3" (the text format's
// version line).
func checkMdef(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return fmt.Errorf("model definition %s: %w", path, err)
	}
	switch h := string(head[:]); {
	case h == "BMDF", h == "FDMB", strings.HasPrefix(h, "0.3"):
		return nil
	}
	return fmt.Errorf("%s is not a model definition (it starts with %q)", path, head[:])
}

// STT transcribes 16 kHz mono speech with a pool of PocketSphinx decoders.
// It is safe for concurrent use.
type STT struct {
	cfg  Config
	idle chan *decoder // decoders not in use; capacity MaxDecoders
	done chan struct{} // closed by Close

	mu      sync.Mutex
	all     []*decoder // every decoder loaded, to free on Close
	loading int        // decoders being loaded
	closed  bool
	calls   sync.WaitGroup // Transcribe calls in progress
}

// New loads one decoder from cfg's model right away and returns the
// provider. A missing or unreadable model gives an error wrapping
// provider.ErrNotConfigured that names the Debian package to install.
func New(cfg Config) (*STT, error) {
	cfg = cfg.withDefaults()
	d, err := newDecoder(cfg)
	if err != nil {
		return nil, err
	}
	s := &STT{
		cfg:  cfg,
		idle: make(chan *decoder, cfg.MaxDecoders),
		done: make(chan struct{}),
		all:  []*decoder{d},
	}
	s.idle <- d
	return s, nil
}

// Name implements provider.STT: "pocketsphinx " and the model directory's
// name, e.g. "pocketsphinx en-us".
func (s *STT) Name() string { return "pocketsphinx " + filepath.Base(s.cfg.ModelDir) }

// Transcribe implements provider.STT. pcm is one utterance of 16 kHz mono
// signed 16-bit speech (provider.STTSampleRate); the result is the
// recogniser's best hypothesis in lowercase words separated by spaces, or ""
// when it heard no words. It waits for a free decoder, or loads one if fewer
// than MaxDecoders are loaded (that load does not stop for ctx), then
// decodes ChunkSamples at a time, returning ctx.Err() between chunks if ctx
// has ended and ErrClosed if the STT was closed. The result depends only on
// pcm, not on which decoder ran it or what it decoded before.
func (s *STT) Transcribe(ctx context.Context, pcm []int16) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", ErrClosed
	}
	s.calls.Add(1)
	s.mu.Unlock()
	defer s.calls.Done()

	if len(pcm) == 0 {
		return "", nil
	}
	d, err := s.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer func() { s.idle <- d }() // never blocks: idle holds every decoder
	return d.decode(pcm, s.check(ctx))
}

// check returns the test decode runs between chunks.
func (s *STT) check(ctx context.Context) func() error {
	return func() error {
		select {
		case <-s.done:
			return ErrClosed
		default:
			return ctx.Err()
		}
	}
}

// acquire returns an idle decoder, or loads a new one if the pool may
// grow, or waits for one to be released.
func (s *STT) acquire(ctx context.Context) (*decoder, error) {
	select {
	case d := <-s.idle:
		return d, nil
	default:
	}
	s.mu.Lock()
	grow := len(s.all)+s.loading < s.cfg.MaxDecoders
	if grow {
		s.loading++
	}
	s.mu.Unlock()
	if grow {
		d, err := newDecoder(s.cfg)
		s.mu.Lock()
		s.loading--
		if err == nil {
			s.all = append(s.all, d)
		}
		s.mu.Unlock()
		return d, err
	}
	select {
	case d := <-s.idle:
		return d, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrClosed
	}
}

// Close stops Transcribe calls in progress (they return ErrClosed at their
// next chunk), waits for them to return and frees every decoder; later
// Transcribe calls return ErrClosed. It is safe to call more than once;
// later calls do nothing.
func (s *STT) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()

	s.calls.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.all {
		d.free()
	}
	s.all = nil
	return nil
}

var _ provider.STT = (*STT)(nil)
