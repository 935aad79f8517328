package vad

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/parley-app/parley/media/audio"
)

// The model file declares what silero.go feeds it.
func TestSileroModelSignature(t *testing.T) {
	testModel(t) // starts ONNX Runtime
	_, model := SileroPaths()
	in, out, err := ort.GetInputOutputInfo(model)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, io := range append(in, out...) {
		got = append(got, io.String())
	}
	want := []string{
		`Tensor "input": [-1 -1], ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT`,
		`Tensor "state": [2 -1 128], ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT`,
		`Tensor "sr": [], ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64`,
		`Tensor "output": [-1 1], ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT`,
		`Tensor "stateN": [-1 -1 -1], ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("model inputs and outputs:\n%q\nwant\n%q", got, want)
	}
}

func TestSileroSilenceIsNotSpeech(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		pcm  []int16
	}{
		{"digital silence", make([]int16, 5*audio.SampleRate)},
		{"room tone -70 dBFS", whiteNoise(rng, 5*audio.SampleRate, -70)},
		{"room tone -55 dBFS", whiteNoise(rng, 5*audio.SampleRate, -55)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newSilero(t)
			if n := count(decide(d, tc.pcm)); n > 0 {
				t.Fatalf("%d frames of %s called speech", n, tc.name)
			}
			if d.Err() != nil {
				t.Fatal(d.Err())
			}
		})
	}
}

// Silero agrees with the reference labelling of clean speech, clip by clip
// and over the whole corpus.
func TestSileroDetectsSpeech(t *testing.T) {
	corpus := speechCorpus(t)
	d := newSilero(t)
	got := decide(d, corpus.pcm)
	s := scoreOf(got, corpus.speech)
	t.Logf("clean speech, %d frames (%d speech by reference): precision %.3f recall %.3f (tp %d fp %d fn %d tn %d)",
		corpus.frames(), count(corpus.speech), s.precision(), s.recall(), s.tp, s.fp, s.fn, s.tn)
	if s.precision() < 0.85 || s.recall() < 0.85 {
		t.Fatalf("precision %.3f, recall %.3f: want both ≥ 0.85", s.precision(), s.recall())
	}
	e := scoreOf(decide(NewEnergy(), corpus.pcm), corpus.speech)
	t.Logf("energy VAD on the same: precision %.3f recall %.3f", e.precision(), e.recall())
	for _, c := range speechClips(t) {
		n := len(c.pcm) / audio.FrameSamples * audio.FrameSamples
		s := scoreOf(decide(newSilero(t), c.pcm[:n]), referenceLabels(c.pcm[:n]))
		t.Logf("%-50s precision %.3f recall %.3f", c.name, s.precision(), s.recall())
		if s.tp == 0 {
			t.Errorf("%s: no speech detected", c.name)
		}
	}
}

// The hysteresis of silero-vad's VADIterator: on at ≥ 0.5, off below 0.35.
func TestSileroHysteresis(t *testing.T) {
	d := &Silero{Threshold: DefaultSileroThreshold, NegThreshold: DefaultSileroNegThreshold}
	for i, step := range []struct {
		p    float32
		want bool
	}{
		{0.1, false}, {0.49, false}, {0.5, true}, {0.4, true}, {0.35, true},
		{0.349, false}, {0.45, false}, {0.9, true}, {0.2, false},
	} {
		d.update(step.p)
		if d.speech != step.want || d.Probability() != step.p {
			t.Fatalf("step %d: p %.3f gave speech %v, want %v", i, step.p, d.speech, step.want)
		}
	}
}

// Steady noise that the energy VAD takes for speech is not speech to Silero:
// the reason Parley has Silero at all.
func TestSileroIgnoresNoiseThatFoolsEnergy(t *testing.T) {
	const quiet, loud = 50, 200 // frames: 1 s of room tone, then 4 s of noise
	for _, tc := range []struct {
		name  string
		noise func(*rand.Rand, int, float64) []int16
		db    float64
	}{
		{"white -30 dBFS", whiteNoise, -30},
		{"pink -30 dBFS", pinkNoise, -30},
		{"white -20 dBFS", whiteNoise, -20},
		{"pink -20 dBFS", pinkNoise, -20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			pcm := append(whiteNoise(rng, quiet*audio.FrameSamples, -70),
				tc.noise(rng, loud*audio.FrameSamples, tc.db)...)
			energy := count(decide(NewEnergy(), pcm)[quiet:])
			d := newSilero(t)
			speech, probs := trace(d, pcm)
			silero := count(speech[quiet:])
			t.Logf("%s: energy VAD says speech on %d of %d frames, Silero on %d (max p %.3f)",
				tc.name, energy, loud, silero, slices.Max(probs))
			if energy < loud*9/10 {
				t.Errorf("the energy VAD said speech on only %d of %d frames: the noise does not fool it", energy, loud)
			}
			if silero > 0 {
				t.Errorf("Silero said speech on %d of %d frames of noise", silero, loud)
			}
		})
	}
}

// Speech in white or pink noise at 10 dB SNR is still found.
func TestSileroSpeechInNoise(t *testing.T) {
	corpus := speechCorpus(t)
	ps := meanPower(corpus, true)
	for _, tc := range []struct {
		name  string
		noise func(*rand.Rand, int, float64) []int16
	}{
		{"white", whiteNoise},
		{"pink", pinkNoise},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const snrDB = 10
			rng := rand.New(rand.NewPCG(8, 9))
			noise := tc.noise(rng, len(corpus.pcm), -30)
			pn := meanPower(labelled{noise, make([]bool, corpus.frames())}, false)
			k := math.Sqrt(ps / pn / math.Pow(10, snrDB/10.0))
			noisy := mix(corpus.pcm, noise, k)
			s := scoreOf(decide(newSilero(t), noisy), corpus.speech)
			e := scoreOf(decide(NewEnergy(), noisy), corpus.speech)
			t.Logf("%s noise, %d dB SNR: Silero precision %.3f recall %.3f; energy VAD precision %.3f recall %.3f",
				tc.name, snrDB, s.precision(), s.recall(), e.precision(), e.recall())
			if s.precision() < 0.85 || s.recall() < 0.75 {
				t.Fatalf("Silero precision %.3f, recall %.3f: want ≥ 0.85 and ≥ 0.75", s.precision(), s.recall())
			}
		})
	}
}

// Detectors on one model, in goroutines, give exactly what they give one at
// a time.
func TestSileroConcurrent(t *testing.T) {
	clips := speechClips(t)
	serial := make([][]float32, len(clips))
	for i, c := range clips {
		_, serial[i] = trace(newSilero(t), c.pcm)
	}
	const rounds = 3
	var wg sync.WaitGroup
	results := make([][]float32, len(clips)*rounds)
	dets := make([]*Silero, len(results))
	for i := range results {
		dets[i] = newSilero(t)
	}
	for i := range results {
		wg.Go(func() { _, results[i] = trace(dets[i], clips[i%len(clips)].pcm) })
	}
	wg.Wait()
	for i, r := range results {
		if !slices.Equal(r, serial[i%len(clips)]) {
			t.Errorf("detector %d on %s: concurrent probabilities differ from serial ones", i, clips[i%len(clips)].name)
		}
		if err := dets[i].Err(); err != nil {
			t.Errorf("detector %d: %v", i, err)
		}
	}
}

// Each detector keeps its own state: interleaving two streams frame by frame
// changes neither, and Reset returns a detector to new.
func TestSileroStateIsolation(t *testing.T) {
	speech := speechClips(t)[0].pcm
	rng := rand.New(rand.NewPCG(1, 1))
	noise := pinkNoise(rng, len(speech), -30)
	_, wantSpeech := trace(newSilero(t), speech)
	_, wantNoise := trace(newSilero(t), noise)

	a, b := newSilero(t), newSilero(t)
	var gotA, gotB []float32
	for i := 0; i+audio.FrameSamples <= len(speech); i += audio.FrameSamples {
		a.IsSpeech(speech[i : i+audio.FrameSamples])
		gotA = append(gotA, a.Probability())
		b.IsSpeech(noise[i : i+audio.FrameSamples])
		gotB = append(gotB, b.Probability())
	}
	if !slices.Equal(gotA, wantSpeech) || !slices.Equal(gotB, wantNoise) {
		t.Fatal("interleaved detectors differ from detectors run alone")
	}

	a.Reset() // a has heard speech; now it hears the noise as if new
	if _, got := trace(a, noise); !slices.Equal(got, wantNoise) {
		t.Fatal("after Reset a detector differs from a new one")
	}
}

// Frames of any length give the same answers as 20 ms frames: samples carry
// over between calls.
func TestSileroFrameLengths(t *testing.T) {
	speech := speechClips(t)[0].pcm
	_, want := trace(newSilero(t), speech)
	d := newSilero(t)
	var got []float32
	rng := rand.New(rand.NewPCG(2, 2))
	fed := 0
	for fed < len(speech)/audio.FrameSamples*audio.FrameSamples {
		// Feed up to the next frame boundary in odd-sized pieces.
		end := (fed/audio.FrameSamples + 1) * audio.FrameSamples
		n := min(1+rng.IntN(400), end-fed)
		d.IsSpeech(speech[fed : fed+n])
		if fed += n; fed == end {
			got = append(got, d.Probability())
		}
	}
	if !slices.Equal(got, want) {
		t.Fatal("odd-sized pieces give other probabilities than 960-sample frames")
	}
}

// Close releases everything once, in any order, and a closed detector hears
// nothing and says why.
func TestSileroClose(t *testing.T) {
	testModel(t)
	m, err := LoadSilero(SileroPaths())
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	speech := speechClips(t)[0].pcm
	if count(decide(a, speech)) == 0 {
		t.Fatal("no speech detected before Close")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if count(decide(a, speech)) != 0 || !errors.Is(a.Err(), ErrClosed) {
		t.Fatalf("closed detector: err %v, want ErrClosed and no speech", a.Err())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second model Close: %v", err)
	}
	// b was still open: the model's Close released it.
	if count(decide(b, speech)) != 0 || !errors.Is(b.Err(), ErrClosed) {
		t.Fatalf("detector of a closed model: err %v, want ErrClosed and no speech", b.Err())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewDetector(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewDetector on a closed model: %v, want ErrClosed", err)
	}
}

// Close waits for runs in progress on other goroutines (run with -race).
func TestSileroCloseWhileRunning(t *testing.T) {
	testModel(t)
	m, err := LoadSilero(SileroPaths())
	if err != nil {
		t.Fatal(err)
	}
	speech := speechClips(t)[0].pcm
	var wg sync.WaitGroup
	for range 4 {
		d, err := m.NewDetector()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range 5 {
				decide(d, speech)
			}
		})
	}
	m.Close()
	wg.Wait()
}

func TestLoadSileroErrors(t *testing.T) {
	lib, model := SileroPaths()
	testModel(t) // ONNX Runtime is running from lib
	missing := "/nonexistent/parley/file"
	for _, tc := range []struct {
		name       string
		lib, model string
		want       error
	}{
		{"no library", missing, model, ErrNotInstalled},
		{"no model", lib, missing, ErrNotInstalled},
		{"model is a directory", lib, t.TempDir(), ErrNotInstalled},
		{"another library", model, model, ErrRuntime},
		{"model is not ONNX", lib, writeFile(t, "bad.onnx", []byte("not a model")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadSilero(tc.lib, tc.model)
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}
