package aec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

// room simulates a laptop: the speaker's sound reaches the microphone after
// delay, through an impulse response of a direct path plus exponentially
// decaying reverberation (RT60 0.25 s, a third of the echo's energy), 6 dB
// quieter than it was played, with white noise at -60 dBFS. Seeded: the
// same room every run.
type room struct {
	ir    []float64
	noise *rand.Rand
}

func newRoom(delay time.Duration) *room {
	r := rand.New(rand.NewPCG(1, 2))
	d := int(delay * audio.SampleRate / time.Second)
	n := d + audio.SampleRate/8 // 125 ms of reverberation
	ir := make([]float64, n)
	tau := 0.25 / 6.9 * audio.SampleRate // RT60: -60 dB after 6.9 time constants
	var rev float64
	for i := d + 1; i < n; i++ {
		ir[i] = r.NormFloat64() * math.Exp(-float64(i-d)/tau)
		rev += ir[i] * ir[i]
	}
	// Echo energy 0.25 (-6 dB): 2/3 direct, 1/3 reverberation.
	scale := math.Sqrt(0.25 / 3 / rev)
	for i := d + 1; i < n; i++ {
		ir[i] *= scale
	}
	ir[d] = math.Sqrt(0.25 * 2 / 3)
	return &room{ir: ir, noise: rand.New(rand.NewPCG(3, 4))}
}

// echo returns far through the room (same length).
func (r *room) echo(far []int16) []float64 {
	out := make([]float64, len(far))
	for i := range out {
		var s float64
		for k, h := range r.ir {
			if h != 0 && i-k >= 0 {
				s += h * float64(far[i-k])
			}
		}
		out[i] = s
	}
	return out
}

func clip(x float64) int16 {
	return int16(max(-32768, min(32767, math.Round(x))))
}

// scene is one test signal: the far end (goforward, four times: 11 s), its
// echo at the microphone, and a near-end talker (Front_Center) over the
// fourth.
type scene struct {
	far, mic, talker []int16
	doubleFrom       int // sample where the double talk starts
}

func newScene(t testing.TB) scene {
	one, far := goForward(t, 4)
	r := newRoom(40 * time.Millisecond)
	echo := r.echo(far)
	talker := make([]int16, len(far))
	voice := testspeech.FrontCenter(t)
	from := 3 * len(one)
	for i, v := range voice { // a person a little further from the microphone than the speaker: -12 dB
		talker[from+i] = v / 4
	}
	mic := make([]int16, len(far))
	noise := math.Pow(10, -60.0/20) * 32768
	for i := range mic {
		mic[i] = clip(echo[i] + float64(talker[i]) + noise*r.noise.NormFloat64())
	}
	return scene{far: far, mic: mic, talker: talker, doubleFrom: from}
}

// run cancels the echo in sc.mic in place, frame by frame, as the call
// does, and returns the result (sc.mic is kept).
func run(t testing.TB, c *Canceller, sc scene) []int16 {
	out := slices.Clone(sc.mic)
	for i := 0; i+audio.FrameSamples <= len(sc.mic); i += audio.FrameSamples {
		f := out[i : i+audio.FrameSamples]
		if err := c.Process(f, sc.far[i:i+audio.FrameSamples], f); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// erle is 10·log10 of the microphone's energy over the output's, in dB.
func erle(mic, out []int16) float64 {
	return 10 * math.Log10(energy(mic)/max(energy(out), 1e-9))
}

// TestCancelsEchoKeepsTalker: a real recording played as the far end
// through a simulated room, another as the near-end talker. The echo is
// never heard; after convergence the echo is at least 25 dB down during far-end-only speech,
// and the talker comes through double talk.
func TestCancelsEchoKeepsTalker(t *testing.T) {
	sc := newScene(t)
	c, err := New(Config{})
	if err != nil {
		t.Fatalf("%v (run make deps: libspeexdsp-dev)", err)
	}
	defer c.Close()
	out := run(t, c, sc)
	one := sc.doubleFrom / 3
	// The echo is never heard, not even while the filter learns.
	if leak := heard(out[:sc.doubleFrom]); leak > 0 {
		t.Fatalf("the echo was heard for %v of far-end-only speech", leak)
	}
	// Far end only, third pass (5.6–8.4 s, converged): speech frames only,
	// as ERLE is measured while the far end talks.
	e := farSpeechERLE(sc, out, 2*one, sc.doubleFrom)
	t.Logf("ERLE after convergence, far end only: %.1f dB", e)
	if e < 25 {
		t.Fatalf("ERLE %.1f dB, want >= 25", e)
	}
	// Double talk: the talker's words survive (speech band, as in the
	// rest of Parley's measurements).
	voiceLen := len(testspeech.FrontCenter(t))
	seg := func(x []int16) []int16 { return x[sc.doubleFrom : sc.doubleFrom+voiceLen] }
	_, kept := audio.BestLag(audio.SpeechBand(seg(sc.talker)), audio.SpeechBand(seg(out)))
	_, before := audio.BestLag(audio.SpeechBand(seg(sc.talker)), audio.SpeechBand(seg(sc.mic)))
	t.Logf("near-end talker during double talk: NCC %.3f with the clean talker (microphone before cancellation %.3f)", kept, before)
	if kept < 0.9 || kept < before {
		t.Fatalf("the talker was not preserved: NCC %.3f (microphone %.3f)", kept, before)
	}
	if s := c.Stats(); s.Resets != 0 {
		t.Fatalf("the filter was reset during ordinary double talk: %+v", s)
	}
	// The canceller's own estimate agrees after the far-end-only part.
	c2, _ := New(Config{})
	defer c2.Close()
	run(t, c2, scene{far: sc.far[:sc.doubleFrom], mic: sc.mic[:sc.doubleFrom]})
	if s := c2.Stats(); s.ERLE < 20 {
		t.Fatalf("Stats().ERLE %.1f dB after far-end-only speech", s.ERLE)
	}
}

// TestWithoutEchoNothingChanges: with a silent far end the near end passes
// (the canceller must not eat a person's voice when nothing plays).
func TestWithoutEchoNothingChanges(t *testing.T) {
	c, _ := New(Config{})
	defer c.Close()
	voice := testspeech.FrontCenter(t)
	voice = voice[:len(voice)/audio.FrameSamples*audio.FrameSamples]
	sc := scene{far: make([]int16, len(voice)), mic: voice}
	out := run(t, c, sc)
	if _, ncc := audio.BestLag(audio.SpeechBand(voice), audio.SpeechBand(out)); ncc < 0.95 {
		t.Fatalf("voice changed with no echo: NCC %.3f", ncc)
	}
}

func TestConfigAndFrames(t *testing.T) {
	if _, err := New(Config{Tail: 5 * time.Second}); err == nil {
		t.Fatal("a 5 s tail was accepted")
	}
	c, err := New(Config{NoiseSuppression: true, GainControl: true, Tail: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Process(make([]int16, 10), make([]int16, audio.FrameSamples), make([]int16, audio.FrameSamples)); err != audio.ErrFrameSize {
		t.Fatalf("short frame: %v", err)
	}
	c.Close()
	c.Close()
}

// farSpeechERLE is the ERLE over the frames of [from, to) in which the far
// end speaks (level above 0.3, about -42 dBFS).
func farSpeechERLE(sc scene, out []int16, from, to int) float64 {
	var m, o []int16
	for i := from; i+audio.FrameSamples <= to; i += audio.FrameSamples {
		if audio.Level(sc.far[i:i+audio.FrameSamples]) > 0.3 {
			m = append(m, sc.mic[i:i+audio.FrameSamples]...)
			o = append(o, out[i:i+audio.FrameSamples]...)
		}
	}
	return erle(m, o)
}

// BenchmarkCanceller reports the ERLE over each 2.8 s pass of the far end
// alone (the third is "after convergence"), the convergence time, and CPU
// per second of audio.
func BenchmarkCanceller(b *testing.B) {
	sc := newScene(b)
	var out []int16
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c, _ := New(Config{})
		out = run(b, c, sc)
		c.Close()
	}
	secs := float64(len(sc.mic)) / audio.SampleRate
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/secs*1000, "cpu-ms/s")
	one := sc.doubleFrom / 3
	for p := 0; p < 3; p++ {
		b.ReportMetric(farSpeechERLE(sc, out, p*one, (p+1)*one), fmt.Sprintf("erle-pass%d-dB", p+1))
	}
	// Converged: from the end of this 500 ms window on, every window with
	// at least 200 ms of far-end speech has ERLE >= 20 dB.
	win, step := audio.SampleRate/2, audio.SampleRate/10
	conv := -1.0
	for i := 0; i+win <= sc.doubleFrom; i += step {
		speech := 0
		for j := i; j+audio.FrameSamples <= i+win; j += audio.FrameSamples {
			if audio.Level(sc.far[j:j+audio.FrameSamples]) > 0.3 {
				speech += audio.FrameSamples
			}
		}
		if speech < audio.SampleRate/5 {
			continue
		}
		if farSpeechERLE(sc, out, i, i+win) < 20 {
			conv = -1
		} else if conv < 0 {
			conv = float64(i+win) * 1000 / audio.SampleRate
		}
	}
	b.ReportMetric(conv, "converged-ms")
	b.ReportMetric(0, "ns/op")
}

// TestLatencyJump: the speaker-to-microphone delay jumps mid-call (an
// xrun, the sound server re-buffering, a device change), later or earlier,
// by a little or a lot. The echo may be heard for at most 40 ms: the
// canceller notices that its output follows the far end, mutes it, finds
// the new delay in the microphone and shifts its reference by as much,
// keeping the filter: one move, no reset, cancelling again within the
// pass.
func TestLatencyJump(t *testing.T) {
	one, far := goForward(t, 4)
	// The same room at any delay is the echo at 0 ms shifted.
	echo0 := newRoom(0).echo(far)
	shifted := func(i int, d time.Duration) float64 {
		if k := i - samples(d); k >= 0 {
			return echo0[k]
		}
		return 0
	}
	jump := 2*len(one) + 12345 // mid-word in the third pass
	for _, to := range []time.Duration{45 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, 25 * time.Millisecond, 5 * time.Millisecond} {
		t.Run(fmt.Sprintf("40ms_to_%v", to), func(t *testing.T) {
			mic := make([]int16, len(far))
			for i := range mic {
				d := 40 * time.Millisecond
				if i >= jump {
					d = to
				}
				mic[i] = clip(shifted(i, d))
			}
			c, _ := New(Config{})
			defer c.Close()
			out := run(t, c, scene{far: far, mic: mic})
			st := c.Stats()
			leakMs := heard(out[jump/audio.FrameSamples*audio.FrameSamples:]).Milliseconds()
			e := farSpeechERLE(scene{far: far, mic: mic}, out, 3*len(one), len(far))
			t.Logf("echo heard for %d ms after the jump; ERLE %.1f dB in the next pass; canceller %+v", leakMs, e, st)
			if leakMs > 40 || st.Moves != 1 || st.Resets != 0 {
				t.Fatalf("echo heard for %d ms after the jump (%d moves followed, %d resets)", leakMs, st.Moves, st.Resets)
			}
			if !st.Converged || st.Delay > to || st.Delay < to-delayMargin-2*time.Millisecond || e < 25 {
				t.Fatalf("not cancelling at the new delay: ERLE %.1f dB, %+v", e, st)
			}
		})
	}
}

// TestDelayEstimate: the first estimate finds the room's direct path to
// the sample at 48 kHz, also where the delay is not a whole number of
// 16 kHz samples (the coarse search's rate), and over the whole range up to
// MaxDelay.
func TestDelayEstimate(t *testing.T) {
	_, far := goForward(t, 1)
	echo0 := newRoom(0).echo(far) // the same room at any delay is this shifted
	for _, d := range []int{0, 1921, 1922, 6590, 14401, samples(MaxDelay) - 50} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			mic := make([]int16, len(far))
			for i := d; i < len(mic); i++ {
				mic[i] = clip(echo0[i-d])
			}
			c, _ := New(Config{})
			defer c.Close()
			run(t, c, scene{far: far, mic: mic})
			if !c.aligned || c.echoLag != d {
				t.Fatalf("echo found at %d samples (aligned %v), want %d", c.echoLag, c.aligned, d)
			}
		})
	}
}

// TestNoEchoPath: with headphones the far end never reaches the
// microphone. After two windows without an echo the person is heard while
// the agent speaks (no endless half duplex).
func TestNoEchoPath(t *testing.T) {
	one, far := goForward(t, 3)
	voice := testspeech.FrontCenter(t)
	talker := make([]int16, len(far))
	from := 2 * len(one)
	copy(talker[from:], voice)
	c, _ := New(Config{})
	defer c.Close()
	out := run(t, c, scene{far: far, mic: talker})
	seg := func(x []int16) []int16 { return x[from : from+len(voice)] }
	_, ncc := audio.BestLag(audio.SpeechBand(seg(talker)), audio.SpeechBand(seg(out)))
	if _, ok := c.Delay(); ok || ncc < 0.9 {
		t.Fatalf("no echo path: aligned %v, the person over the agent NCC %.3f", ok, ncc)
	}
}

// TestInterruptionWhileRelearning: the echo's delay moves by a few
// milliseconds (a duplex stall on PulseAudio) and a person starts talking
// over the agent right after, and goes on. They must not be muted for more
// than a second and a half. Two rooms: a laptop's (the echo 8 dB under
// what was played, the person 10 dB over the echo) and the test rig's
// loopback (the echo at full level and no reverberation, the person as
// loud as the echo, where no level-based double-talk detector can tell
// them apart).
func TestInterruptionWhileRelearning(t *testing.T) {
	one, far := goForward(t, 5)
	jump := 2*len(one) + 12345
	from := jump + samples(100*time.Millisecond)
	voice := testspeech.FrontCenter(t) // 8.5 dB louder than goforward
	rooms := []struct {
		name  string
		echo0 []float64 // the echo at 0 ms
		talk  int16     // the person's voice divided by
	}{
		{"laptop", newRoom(0).echo(far), 2},
		{"loopback", func() []float64 {
			e := make([]float64, len(far))
			for i, v := range far {
				e[i] = float64(v)
			}
			return e
		}(), 3},
	}
	for _, rm := range rooms {
		talker := make([]int16, len(far))
		for i := from; i < len(far); i++ {
			talker[i] = voice[(i-from)%len(voice)] / rm.talk
		}
		for _, to := range []time.Duration{42 * time.Millisecond, 52 * time.Millisecond, 30 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s_40ms_to_%v", rm.name, to), func(t *testing.T) {
				mic := make([]int16, len(far))
				for i := range mic {
					d := 40 * time.Millisecond
					if i >= jump {
						d = to
					}
					var e float64
					if k := i - samples(d); k >= 0 {
						e = rm.echo0[k]
					}
					mic[i] = clip(e + float64(talker[i]))
				}
				c, _ := New(Config{})
				defer c.Close()
				out := run(t, c, scene{far: far, mic: mic})
				muted, heard, voiced := talkerHeard(talker, out, from)
				t.Logf("person muted for %v at most; %d of %d voiced windows heard; canceller %+v", muted, heard, voiced, c.Stats())
				if muted > 1500*time.Millisecond || heard < voiced*3/4 {
					t.Fatalf("the person talking over the agent was muted for %v; %d of %d windows heard", muted, heard, voiced)
				}
				if st := c.Stats(); st.Moves != 1 || st.Resets != 0 {
					t.Fatalf("the move was not followed once: %+v", st)
				}
			})
		}
	}
}

// TestInterruptionWhileLearning: a person talks over the agent from its
// first words, while the canceller measures the delay and its filter
// learns the room, and goes on. Once the delay is known they are heard in
// part (where they are far louder than the echo can be: the echo's gain,
// measured while they talk, comes out too high, and the detector errs on
// the side of muting), rather than muted until the agent stops.
func TestInterruptionWhileLearning(t *testing.T) {
	_, far := goForward(t, 3)
	echo := newRoom(40 * time.Millisecond).echo(far)
	voice := testspeech.FrontCenter(t)
	from := samples(500 * time.Millisecond)
	talker := make([]int16, len(far))
	for i := from; i < len(far); i++ {
		talker[i] = voice[(i-from)%len(voice)] / 2
	}
	mic := make([]int16, len(far))
	for i := range mic {
		mic[i] = clip(echo[i] + float64(talker[i]))
	}
	c, _ := New(Config{})
	defer c.Close()
	out := run(t, c, scene{far: far, mic: mic})
	muted, heard, voiced := talkerHeard(talker, out, from)
	st := c.Stats()
	t.Logf("person muted for %v at most; %d of %d voiced windows heard; canceller %+v", muted, heard, voiced, st)
	if !st.Aligned || muted > 3*time.Second || heard < voiced/4 {
		t.Fatalf("the person talking over the agent was muted for %v; %d of %d windows heard", muted, heard, voiced)
	}
}

// talkerHeard looks at the output in 200 ms windows from sample from on:
// in how many of the windows in which the talker speaks they came through
// (NCC ≥ 0.7 with the talker, speech band), and the longest stretch of
// talk (from the first window not heard to the end of the last before one
// that was) in which they did not.
func talkerHeard(talker, out []int16, from int) (muted time.Duration, heard, voiced int) {
	win := samples(200 * time.Millisecond)
	since := -1 // first window of the current stretch not heard
	for i := from; i+win <= len(out); i += win {
		if audio.Level(talker[i:i+win]) < 0.3 {
			continue
		}
		voiced++
		_, ncc := audio.BestLag(audio.SpeechBand(talker[i:i+win]), audio.SpeechBand(out[max(i-win/10, 0):i+win+win/10]))
		if ncc < 0.7 {
			if since < 0 {
				since = i
			}
			muted = max(muted, time.Duration(i+win-since)*time.Second/audio.SampleRate)
			continue
		}
		heard++
		since = -1
	}
	return muted, heard, voiced
}

// TestLatencyJumpWhileLearning: the echo jumps beyond the filter's reach
// just after the delay was measured, while the filter learns. The
// canceller follows it there within the learning rather than after
// RelearnAfter and a new measurement, and the echo is never heard.
func TestLatencyJumpWhileLearning(t *testing.T) {
	_, far := goForward(t, 3)
	echo0 := newRoom(0).echo(far)
	jump := samples(EstimateWindow + 100*time.Millisecond)
	mic := make([]int16, len(far))
	for i := range mic {
		d := 40 * time.Millisecond
		if i >= jump {
			d = 300 * time.Millisecond
		}
		if k := i - samples(d); k >= 0 {
			mic[i] = clip(echo0[k])
		}
	}
	c, _ := New(Config{})
	defer c.Close()
	out := slices.Clone(mic)
	converged := -1
	for i := 0; i+audio.FrameSamples <= len(mic); i += audio.FrameSamples {
		f := out[i : i+audio.FrameSamples]
		if err := c.Process(f, far[i:i+audio.FrameSamples], f); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); i == jump/audio.FrameSamples*audio.FrameSamples && (!st.Aligned || st.Converged) {
			t.Fatalf("at the jump the canceller should be learning: %+v", st)
		}
		if i > jump && converged < 0 && c.Stats().Converged {
			converged = i
		}
	}
	leak := heard(out)
	st := c.Stats()
	after := time.Duration(converged-jump) * time.Second / audio.SampleRate
	t.Logf("converged %v after the jump; echo heard for %v; %+v", after, leak, st)
	if converged < 0 || after > 3*time.Second || leak > 0 || st.Resets != 0 || st.Moves != 1 {
		t.Fatalf("not followed while learning: converged %v after the jump, echo heard %v, %+v", after, leak, st)
	}
}

// goForward is "go forward ten meters" (pocketsphinx-testdata, 2.8 s) n
// times, cut to whole frames, and once.
func goForward(t testing.TB, n int) (one, far []int16) {
	one = testspeech.GoForward(t)
	far = slices.Concat(slices.Repeat([][]int16{one}, n)...)
	return one, far[:len(far)/audio.FrameSamples*audio.FrameSamples]
}

// heard is how long out (whole frames) is loud enough to be heard (level
// above 0.3, about -42 dBFS).
func heard(out []int16) time.Duration {
	n := 0
	for i := 0; i+audio.FrameSamples <= len(out); i += audio.FrameSamples {
		if audio.Level(out[i:i+audio.FrameSamples]) > 0.3 {
			n++
		}
	}
	return time.Duration(n) * audio.FrameDuration
}
