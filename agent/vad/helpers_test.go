package vad

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/wavfile"
)

// The model for the tests, loaded once like in the app and never closed.
var sharedModel = sync.OnceValues(func() (*SileroModel, error) { return LoadSilero(SileroPaths()) })

// testModel returns the shared model or fails the test with what to run.
func testModel(tb testing.TB) *SileroModel {
	tb.Helper()
	m, err := sharedModel()
	if err != nil {
		tb.Fatalf("%v\n(make deps installs ONNX Runtime and the model with scripts/fetch-silero.sh)", err)
	}
	return m
}

// newSilero returns a fresh detector on the shared model, closed at cleanup.
func newSilero(tb testing.TB) *Silero {
	tb.Helper()
	d, err := testModel(tb).NewDetector()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// librivoxDir holds five read sentences from LibriVox (public domain), 16 kHz
// mono WAV, Debian package pocketsphinx-testdata.
const librivoxDir = "/usr/share/pocketsphinx/test/data/librivox"

// clip is a recording of real speech at 48 kHz mono.
type clip struct {
	name string
	pcm  []int16
}

// speechClips returns every recording of speech the tests use.
func speechClips(tb testing.TB) []clip {
	tb.Helper()
	clips := []clip{
		{"goforward", testspeech.GoForward(tb)},
		{"front_center", testspeech.FrontCenter(tb)},
	}
	wavs, _ := filepath.Glob(filepath.Join(librivoxDir, "*.wav"))
	if len(wavs) == 0 {
		tb.Fatalf("no WAV files in %s (run make deps)", librivoxDir)
	}
	for _, p := range wavs {
		pcm, err := wavfile.Load(p)
		if err != nil {
			tb.Fatalf("%v (run make deps)", err)
		}
		clips = append(clips, clip{filepath.Base(p), pcm})
	}
	return clips
}

// labelled is a test signal with a reference speech label per 20 ms frame.
type labelled struct {
	pcm    []int16
	speech []bool
}

func (l labelled) frames() int { return len(l.speech) }

func (l labelled) frame(i int) []int16 {
	return l.pcm[i*audio.FrameSamples : (i+1)*audio.FrameSamples]
}

// Reference labelling of clean speech, by energy at high SNR: a frame is
// speech when its level is within refRangeDB of the clip's loud frames (its
// 95th percentile), and gaps shorter than refBridge frames between speech
// frames count as speech too (the pauses inside a phrase; both a listener and
// silero-vad's own segmenter, min_silence_duration_ms = 100, bridge them).
const (
	refRangeDB = 30
	refBridge  = 10 // 200 ms
	gapFrames  = 50 // 1 s between clips
)

// referenceLabels labels the frames of one clean clip.
func referenceLabels(pcm []int16) []bool {
	n := len(pcm) / audio.FrameSamples
	levels := make([]float64, n)
	for i := range levels {
		levels[i] = LevelDB(pcm[i*audio.FrameSamples : (i+1)*audio.FrameSamples])
	}
	sorted := append([]float64(nil), levels...)
	sort.Float64s(sorted)
	floor := sorted[n*95/100] - refRangeDB
	speech := make([]bool, n)
	last := -1
	for i, l := range levels {
		if l <= floor {
			continue
		}
		speech[i] = true
		if last >= 0 && i-last-1 < refBridge {
			for j := last + 1; j < i; j++ {
				speech[j] = true
			}
		}
		last = i
	}
	return speech
}

// speechCorpus joins the clips with a second of room tone (white noise at
// -70 dBFS) before, between and after them, labelled by referenceLabels.
func speechCorpus(tb testing.TB) labelled {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	var l labelled
	gap := func() {
		l.pcm = append(l.pcm, whiteNoise(rng, gapFrames*audio.FrameSamples, -70)...)
		l.speech = append(l.speech, make([]bool, gapFrames)...)
	}
	gap()
	for _, c := range speechClips(tb) {
		n := len(c.pcm) / audio.FrameSamples * audio.FrameSamples
		l.pcm = append(l.pcm, c.pcm[:n]...)
		l.speech = append(l.speech, referenceLabels(c.pcm[:n])...)
		gap()
	}
	return l
}

// rmsFor is the RMS in int16 units of a level in dBFS (full-scale square
// wave = 0 dBFS, as LevelDB).
func rmsFor(db float64) float64 { return math.Pow(10, db/20) * 32768 }

// whiteNoise returns n samples of Gaussian white noise at level dB dBFS.
func whiteNoise(rng *rand.Rand, n int, db float64) []int16 {
	out := make([]int16, n)
	sd := rmsFor(db)
	for i := range out {
		out[i] = clip16(rng.NormFloat64() * sd)
	}
	return out
}

// pinkNoise returns n samples of pink (1/f) noise at level dB dBFS, by Paul
// Kellet's economy filter on white noise (accurate to ±0.5 dB above 9 Hz at
// 44.1 kHz), scaled to the level over the whole buffer.
func pinkNoise(rng *rand.Rand, n int, db float64) []int16 {
	raw := make([]float64, n)
	var b0, b1, b2 float64
	var sum float64
	for i := range raw {
		w := rng.NormFloat64()
		b0 = 0.99765*b0 + w*0.0990460
		b1 = 0.96300*b1 + w*0.2965164
		b2 = 0.57000*b2 + w*1.0526913
		raw[i] = b0 + b1 + b2 + w*0.1848
		sum += raw[i] * raw[i]
	}
	k := rmsFor(db) / math.Sqrt(sum/float64(n))
	out := make([]int16, n)
	for i, v := range raw {
		out[i] = clip16(v * k)
	}
	return out
}

// mix returns a + k·b sample by sample, clipped to int16.
func mix(a, b []int16, k float64) []int16 {
	out := make([]int16, len(a))
	for i := range a {
		out[i] = clip16(float64(a[i]) + k*float64(b[i]))
	}
	return out
}

func clip16(v float64) int16 { return int16(max(-32768, min(32767, math.Round(v)))) }

// meanPower is the mean of s² over the frames where sel is true.
func meanPower(l labelled, sel bool) float64 {
	var sum float64
	var n int
	for i := range l.frames() {
		if l.speech[i] != sel {
			continue
		}
		for _, s := range l.frame(i) {
			sum += float64(s) * float64(s)
		}
		n += audio.FrameSamples
	}
	return sum / float64(max(n, 1))
}

// decide runs d over every frame of pcm and returns its decisions.
func decide(d Detector, pcm []int16) []bool {
	out := make([]bool, 0, len(pcm)/audio.FrameSamples)
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		out = append(out, d.IsSpeech(pcm[i:i+audio.FrameSamples]))
	}
	return out
}

// trace runs a Silero detector over pcm and returns its decision and its
// probability after every frame.
func trace(d *Silero, pcm []int16) ([]bool, []float32) {
	var speech []bool
	var probs []float32
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		speech = append(speech, d.IsSpeech(pcm[i:i+audio.FrameSamples]))
		probs = append(probs, d.Probability())
	}
	return speech, probs
}

// score compares decisions with reference labels.
type score struct{ tp, fp, fn, tn int }

func scoreOf(got, want []bool) score {
	var s score
	for i := range want {
		switch {
		case got[i] && want[i]:
			s.tp++
		case got[i]:
			s.fp++
		case want[i]:
			s.fn++
		default:
			s.tn++
		}
	}
	return s
}

func (s score) precision() float64 { return float64(s.tp) / float64(max(s.tp+s.fp, 1)) }
func (s score) recall() float64    { return float64(s.tp) / float64(max(s.tp+s.fn, 1)) }

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// writeFile writes b to a new file in a temporary directory and returns its
// path.
func writeFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}
