package sphinx_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-audio/wav"
	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/espeak"
	"github.com/parley-app/parley/agent/provider/sphinx"
	"github.com/parley-app/parley/agent/provider/wer"
	"github.com/parley-app/parley/media/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testData is where Debian's pocketsphinx-testdata package puts the
// recordings of PocketSphinx's own test suite.
const testData = "/usr/share/pocketsphinx/test/data"

// recording is a real utterance and what was said.
type recording struct {
	name string
	pcm  []int16 // 16 kHz mono
	ref  string
}

func (r recording) seconds() float64 { return float64(len(r.pcm)) / provider.STTSampleRate }

// recordings returns every utterance of pocketsphinx-testdata that comes
// with a transcript: goforward.raw (its text is in goforward.gram and the
// PocketSphinx unit tests), the five LibriVox sentences of librivox/ and the
// five card names of cards/. numbers.raw and something.raw are left out:
// no transcript of them ships with the package or the PocketSphinx sources.
func recordings(t testing.TB) []recording {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testData, "goforward.raw"))
	if err != nil {
		t.Fatalf("%v (install the Debian package pocketsphinx-testdata)", err)
	}
	recs := []recording{{name: "goforward", pcm: audio.DecodeS16LE(raw), ref: "go forward ten meters"}}
	recs = append(recs, transcribed(t, "librivox", "transcription", "%s.wav")...)
	recs = append(recs, transcribed(t, "cards", "cards.transcription", "%s.wav")...)
	return recs
}

// transcriptLine is a line of a Sphinx transcription file:
// "<s> words </s> (fileid)".
var transcriptLine = regexp.MustCompile(`^<s>(.*)</s>\s*\(([^)]+)\)\s*$`)

// transcribed reads a Sphinx transcription file in dir and the 16 kHz WAV
// file of each of its lines, named by the file id through pattern.
func transcribed(t testing.TB, dir, transcription, pattern string) []recording {
	t.Helper()
	f, err := os.Open(filepath.Join(testData, dir, transcription))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []recording
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := transcriptLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: line %q is not \"<s> words </s> (id)\"", transcription, sc.Text())
		}
		recs = append(recs, recording{
			name: dir + "/" + m[2],
			pcm:  loadWAV16k(t, filepath.Join(testData, dir, fmt.Sprintf(pattern, m[2]))),
			ref:  strings.TrimSpace(m[1]),
		})
	}
	if err := sc.Err(); err != nil || len(recs) == 0 {
		t.Fatalf("%s: %d lines read, error %v", transcription, len(recs), err)
	}
	return recs
}

// loadWAV16k reads a 16 kHz mono 16-bit WAV file as it is, without the
// round trip through 48 kHz that media/wavfile.Load makes.
func loadWAV16k(t testing.TB, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := wav.NewDecoder(f)
	buf, err := dec.FullPCMBuffer()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if dec.SampleRate != provider.STTSampleRate || dec.NumChans != 1 || dec.BitDepth != 16 {
		t.Fatalf("%s: %d Hz, %d channels, %d bits; want 16 kHz mono 16-bit", path, dec.SampleRate, dec.NumChans, dec.BitDepth)
	}
	pcm := make([]int16, len(buf.Data))
	for i, v := range buf.Data {
		pcm[i] = int16(v)
	}
	return pcm
}

func newSTT(t testing.TB, cfg sphinx.Config) *sphinx.STT {
	t.Helper()
	s, err := sphinx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRecordings transcribes every recording and scores the corpus word
// error rate (total edits over total reference words).
//
// Measured here (libpocketsphinx 0.8+5prealpha, pocketsphinx-en-us):
// goforward 0 %; librivox 0870 36.4 %, 0880 37.5 %, 0890 28.6 %, 0920
// 21.1 %, 0930 12.5 %; cards 001 0 %, 002 25 %, 003–005 0 %; total 21.9 %
// (21 edits for 96 reference words). The cards were recorded for a small
// card grammar, decoded here with the general language model. The
// threshold leaves a little room for another CPU's floating point.
func TestRecordings(t *testing.T) {
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	var edits, words int
	for _, r := range recordings(t) {
		hyp, err := s.Transcribe(context.Background(), r.pcm)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		ref := wer.Words(r.ref)
		e := wer.Distance(ref, wer.Words(hyp))
		edits += e
		words += len(ref)
		t.Logf("WER %5.1f%%  %3.1f s  %s: %q", 100*float64(e)/float64(len(ref)), r.seconds(), r.name, hyp)
	}
	total := float64(edits) / float64(words)
	t.Logf("total WER %.1f%% (%d edits, %d reference words)", 100*total, edits, words)
	if total > 0.25 {
		t.Errorf("total WER %.1f%%, want at most 25%%", 100*total)
	}
}

// TestGoForward is the utterance PocketSphinx's own tests decode exactly.
func TestGoForward(t *testing.T) {
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	if got, want := s.Name(), "pocketsphinx en-us"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	r := recordings(t)[0]
	hyp, err := s.Transcribe(context.Background(), r.pcm)
	if err != nil || hyp != r.ref {
		t.Errorf("Transcribe(goforward.raw) = %q, %v; want %q", hyp, err, r.ref)
	}
}

// TestSpeechRoundTrip has espeak-ng speak sentences and PocketSphinx
// transcribe them back (48 kHz → 16 kHz). The en-us model recognises
// espeak-ng's default voice poorly and its Klatt variant well; measured
// WER over the three sentences: en-us 70.0 %, en-us+klatt 23.3 %.
func TestSpeechRoundTrip(t *testing.T) {
	sentences := []string{
		"The weather is nice today and I would like to go for a walk.",
		"Please turn on the lights in the kitchen.",
		"What time is it in London right now?",
	}
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	for _, tt := range []struct {
		voice  string
		maxWER float64
	}{
		{"en-us", 0.75},
		{"en-us+klatt", 0.30},
	} {
		tts, err := espeak.New(espeak.Config{Voice: tt.voice})
		if err != nil {
			t.Fatal(err)
		}
		var edits, words int
		for _, text := range sentences {
			pcm48, err := tts.Synthesize(context.Background(), text)
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := audio.Resample(pcm48, audio.SampleRate, provider.STTSampleRate)
			if err != nil {
				t.Fatal(err)
			}
			hyp, err := s.Transcribe(context.Background(), pcm)
			if err != nil {
				t.Fatal(err)
			}
			ref := wer.Words(text)
			edits += wer.Distance(ref, wer.Words(hyp))
			words += len(ref)
			t.Logf("%s: spoke %q, heard %q", tt.voice, text, hyp)
		}
		w := float64(edits) / float64(words)
		t.Logf("%s: WER %.1f%% (%d edits, %d words)", tt.voice, 100*w, edits, words)
		if w > tt.maxWER {
			t.Errorf("%s: WER %.1f%%, want at most %.0f%%", tt.voice, 100*w, 100*tt.maxWER)
		}
	}
}

// TestIndependentOfHistory decodes a long utterance (beyond the 5 s window
// of live CMN) on a fresh decoder and again on the same decoder after
// other speech: the words must be the same.
func TestIndependentOfHistory(t *testing.T) {
	recs := recordings(t)
	long := recs[1] // librivox 0870, 7.1 s
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	first, err := s.Transcribe(context.Background(), long.pcm)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []recording{recs[len(recs)-1], recs[0]} {
		if _, err := s.Transcribe(context.Background(), r.pcm); err != nil {
			t.Fatal(err)
		}
	}
	// Quieter input shifts the cepstral mean a decoder would carry on.
	quiet := make([]int16, len(recs[2].pcm))
	for i, v := range recs[2].pcm {
		quiet[i] = v / 8
	}
	if _, err := s.Transcribe(context.Background(), quiet); err != nil {
		t.Fatal(err)
	}
	again, err := s.Transcribe(context.Background(), long.pcm)
	if err != nil || again != first {
		t.Errorf("%s after other speech: %q, %v; on a fresh decoder %q", long.name, again, err, first)
	}
}

func TestNoSpeech(t *testing.T) {
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	for name, pcm := range map[string][]int16{
		"nil":               nil,
		"one sample":        {0},
		"one second silent": make([]int16, provider.STTSampleRate),
	} {
		hyp, err := s.Transcribe(context.Background(), pcm)
		if hyp != "" || err != nil {
			t.Errorf("%s: Transcribe = %q, %v; want \"\", nil", name, hyp, err)
		}
	}
}

// longUtterance joins every recording into one of about 55 s, which takes
// the decoder several seconds.
func longUtterance(t testing.TB) []int16 {
	var pcm []int16
	for _, r := range recordings(t) {
		pcm = append(pcm, r.pcm...)
	}
	return pcm
}

func TestCancel(t *testing.T) {
	s := newSTT(t, sphinx.Config{MaxDecoders: 1})
	pcm := longUtterance(t)
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Transcribe(ctx, pcm); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var cancelled time.Time
		timer := time.AfterFunc(300*time.Millisecond, func() {
			mu.Lock()
			cancelled = time.Now()
			mu.Unlock()
			cancel()
		})
		defer timer.Stop()
		_, err := s.Transcribe(ctx, pcm)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		mu.Lock()
		lag := time.Since(cancelled)
		mu.Unlock()
		t.Logf("returned %v after the cancel", lag)
		// Measured 50–150 ms: one chunk (about 50 ms of work) and
		// ps_end_utt on what was decoded so far. Decoding all of pcm takes
		// about 7 s.
		if lag > time.Second {
			t.Errorf("Transcribe returned %v after the cancel, want within 1 s", lag)
		}
	})
	t.Run("waiting for a decoder", func(t *testing.T) {
		busy, stop := context.WithCancel(context.Background())
		defer stop()
		done := make(chan error, 1)
		go func() { _, err := s.Transcribe(busy, pcm); done <- err }()
		time.Sleep(50 * time.Millisecond) // let it take the only decoder
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := s.Transcribe(ctx, pcm); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("busy call: err = %v, want context.Canceled", err)
		}
	})
	t.Run("decoder still good", func(t *testing.T) {
		r := recordings(t)[0]
		if hyp, err := s.Transcribe(context.Background(), r.pcm); hyp != r.ref || err != nil {
			t.Errorf("after cancellations Transcribe = %q, %v; want %q", hyp, err, r.ref)
		}
	})
}

// TestConcurrent runs more goroutines than decoders, each transcribing the
// shorter recordings, and expects the serial results: every utterance
// starts from the same decoder state, whichever decoder and whatever it
// decoded before.
func TestConcurrent(t *testing.T) {
	var recs []recording
	for _, r := range recordings(t) {
		if r.seconds() < 3.5 {
			recs = append(recs, r)
		}
	}
	s := newSTT(t, sphinx.Config{MaxDecoders: 3})
	want := make([]string, len(recs))
	for i, r := range recs {
		var err error
		if want[i], err = s.Transcribe(context.Background(), r.pcm); err != nil {
			t.Fatal(err)
		}
	}
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range recs {
				i := (k + w) % len(recs) // each worker starts elsewhere
				got, err := s.Transcribe(context.Background(), recs[i].pcm)
				if err != nil || got != want[i] {
					t.Errorf("worker %d, %s: %q, %v; serially %q", w, recs[i].name, got, err, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestMissingModel(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]sphinx.Config{
		"empty dir":   {ModelDir: dir},
		"no such dir": {ModelDir: filepath.Join(dir, "nope")},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sphinx.New(cfg)
			if !errors.Is(err, provider.ErrNotConfigured) || !errors.Is(err, os.ErrNotExist) ||
				!strings.Contains(err.Error(), "pocketsphinx-en-us") {
				t.Errorf("New(%+v) = %v, want ErrNotConfigured naming pocketsphinx-en-us", cfg, err)
			}
			if s != nil {
				t.Error("New returned an STT with its error")
			}
		})
	}
	// A copy of the real model with one file replaced by junk.
	withJunk := func(t *testing.T, junk string) string {
		dir := t.TempDir()
		hmm := filepath.Join(dir, "en-us")
		if err := os.Mkdir(hmm, 0o755); err != nil {
			t.Fatal(err)
		}
		realHMM := filepath.Join(sphinx.DefaultModelDir, "en-us")
		entries, err := os.ReadDir(realHMM)
		if err != nil {
			t.Fatal(err)
		}
		link := func(from, to string) {
			if err := os.Symlink(from, to); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range entries {
			link(filepath.Join(realHMM, e.Name()), filepath.Join(hmm, e.Name()))
		}
		for _, f := range []string{"en-us.lm.bin", "cmudict-en-us.dict"} {
			link(filepath.Join(sphinx.DefaultModelDir, f), filepath.Join(dir, f))
		}
		p := filepath.Join(dir, junk)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("not a model\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("junk model definition", func(t *testing.T) {
		// libpocketsphinx would exit the process on this one: New must
		// refuse it first.
		_, err := sphinx.New(sphinx.Config{ModelDir: withJunk(t, "en-us/mdef")})
		if !errors.Is(err, provider.ErrNotConfigured) || !strings.Contains(err.Error(), "not a model definition") {
			t.Errorf("err = %v, want ErrNotConfigured: not a model definition", err)
		}
	})
	t.Run("junk language model", func(t *testing.T) {
		// This one libpocketsphinx itself refuses.
		_, err := sphinx.New(sphinx.Config{ModelDir: withJunk(t, "en-us.lm.bin")})
		if !errors.Is(err, provider.ErrNotConfigured) || !strings.Contains(err.Error(), "could not load") {
			t.Errorf("err = %v, want ErrNotConfigured: could not load", err)
		}
	})
	t.Run("no mixture weights", func(t *testing.T) {
		dir := withJunk(t, "en-us/sendump")
		if err := os.Remove(filepath.Join(dir, "en-us", "sendump")); err != nil {
			t.Fatal(err)
		}
		_, err := sphinx.New(sphinx.Config{ModelDir: dir})
		if !errors.Is(err, provider.ErrNotConfigured) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want ErrNotConfigured and ErrNotExist", err)
		}
	})
}

func ExampleSTT_Transcribe() {
	stt, err := sphinx.New(sphinx.Config{}) // pocketsphinx-en-us, one decoder per CPU
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stt.Close()
	raw, err := os.ReadFile("/usr/share/pocketsphinx/test/data/goforward.raw") // 16 kHz s16le mono
	if err != nil {
		fmt.Println(err)
		return
	}
	text, err := stt.Transcribe(context.Background(), audio.DecodeS16LE(raw))
	fmt.Println(text, err)
	// Output: go forward ten meters <nil>
}

func TestClose(t *testing.T) {
	s, err := sphinx.New(sphinx.Config{MaxDecoders: 2})
	if err != nil {
		t.Fatal(err)
	}
	pcm := longUtterance(t)
	done := make(chan error, 1)
	go func() { _, err := s.Transcribe(context.Background(), pcm); done <- err }()
	time.Sleep(100 * time.Millisecond) // let it start decoding
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// Close waited for the call in progress, which stopped early.
	select {
	case err := <-done:
		if !errors.Is(err, sphinx.ErrClosed) {
			t.Errorf("Transcribe during Close: %v, want ErrClosed", err)
		}
	default:
		t.Error("Close returned before the Transcribe in progress")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Transcribe(context.Background(), pcm); !errors.Is(err, sphinx.ErrClosed) {
		t.Errorf("Transcribe after Close: %v, want ErrClosed", err)
	}
}
