package espeak_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/espeak"
	"github.com/parley-app/parley/media/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sentence = "The weather is nice today, and I would like to go for a walk."

func newTTS(t testing.TB, cfg espeak.Config) *espeak.TTS {
	t.Helper()
	tts, err := espeak.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return tts
}

func seconds(pcm []int16) float64 { return float64(len(pcm)) / audio.SampleRate }

func TestSynthesize(t *testing.T) {
	tts := newTTS(t, espeak.Config{})
	if got, want := tts.Name(), "espeak-ng en-us"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	pcm, err := tts.Synthesize(context.Background(), sentence)
	if err != nil {
		t.Fatal(err)
	}
	// 13 words at 175 words per minute is about 4.5 s; espeak-ng measured
	// 3.3 s with its pauses trimmed.
	if d := seconds(pcm); d < 2 || d > 6 {
		t.Errorf("%q lasts %.2f s at 48 kHz, want 2–6 s", sentence, d)
	}
	// espeak-ng measured 0.086 of full scale (-21 dBFS) for this sentence.
	if lvl := audio.RMS(pcm); lvl < 0.03 {
		t.Errorf("RMS %.3f of full scale: the speech is nearly silent", lvl)
	}
	t.Logf("%.2f s, RMS %.3f of full scale", seconds(pcm), audio.RMS(pcm))
}

func TestSpeed(t *testing.T) {
	ctx := context.Background()
	slow, err := newTTS(t, espeak.Config{WPM: 175}).Synthesize(ctx, sentence)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := newTTS(t, espeak.Config{WPM: 350}).Synthesize(ctx, sentence)
	if err != nil {
		t.Fatal(err)
	}
	if r := seconds(fast) / seconds(slow); r > 0.7 {
		t.Errorf("at 350 wpm the sentence lasts %.2f s, %.0f%% of %.2f s at 175 wpm; want under 70%%",
			seconds(fast), 100*r, seconds(slow))
	}
}

// TestTextIsNotParsed sends text that a shell or an option parser would
// act on; espeak-ng must simply speak it.
func TestTextIsNotParsed(t *testing.T) {
	tts := newTTS(t, espeak.Config{})
	for _, text := range []string{
		"-v xx --help",
		"$(touch /tmp/parley-espeak-pwned); `id` | cat > /dev/null",
		"line one\nline two\n\nline four",
		"Ünïcödé café, naïve façade.",
	} {
		pcm, err := tts.Synthesize(context.Background(), text)
		if err != nil {
			t.Errorf("Synthesize(%q): %v", text, err)
			continue
		}
		if seconds(pcm) < 0.5 {
			t.Errorf("Synthesize(%q) gave %.2f s of audio", text, seconds(pcm))
		}
	}
	if _, err := os.Stat("/tmp/parley-espeak-pwned"); err == nil {
		t.Error("text was run by a shell")
	}
}

// fakeProgram writes an executable shell script and returns its path.
func fakeProgram(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-espeak")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBlankTextRunsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	tts := newTTS(t, espeak.Config{Program: fakeProgram(t, "touch "+marker+"; exit 1")})
	for _, text := range []string{"", " ", "\n\t \r\n"} {
		pcm, err := tts.Synthesize(context.Background(), text)
		if pcm != nil || err != nil {
			t.Errorf("Synthesize(%q) = %d samples, %v; want nil, nil", text, len(pcm), err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran for blank text")
	}
}

func TestErrors(t *testing.T) {
	t.Run("unknown voice quotes stderr", func(t *testing.T) {
		tts := newTTS(t, espeak.Config{Voice: "nosuchvoice"})
		_, err := tts.Synthesize(context.Background(), sentence)
		if !errors.Is(err, espeak.ErrSynthesis) || !strings.Contains(err.Error(), "voice does not exist") {
			t.Errorf("err = %v, want ErrSynthesis quoting espeak-ng's \"voice does not exist\"", err)
		}
		t.Log(err)
	})
	t.Run("program writes no WAV", func(t *testing.T) {
		tts := newTTS(t, espeak.Config{Program: fakeProgram(t, "echo hello; echo warning >&2")})
		_, err := tts.Synthesize(context.Background(), sentence)
		if !errors.Is(err, espeak.ErrSynthesis) || !strings.Contains(err.Error(), "warning") {
			t.Errorf("err = %v, want ErrSynthesis quoting stderr", err)
		}
	})
	t.Run("program fails", func(t *testing.T) {
		tts := newTTS(t, espeak.Config{Program: fakeProgram(t, "echo broken >&2; exit 3")})
		_, err := tts.Synthesize(context.Background(), sentence)
		if !errors.Is(err, espeak.ErrSynthesis) || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("err = %v, want ErrSynthesis with the exit status and stderr", err)
		}
	})
}

func TestNotConfigured(t *testing.T) {
	tests := []struct {
		name string
		cfg  espeak.Config
		want string // in the message
	}{
		{"missing program", espeak.Config{Program: "no-such-espeak-ng"}, "Debian package espeak-ng"},
		{"missing program path", espeak.Config{Program: "/nonexistent/espeak-ng"}, "Debian package espeak-ng"},
		{"too slow", espeak.Config{WPM: 10}, "speed 10"},
		{"too fast", espeak.Config{WPM: 1000}, "speed 1000"},
		{"voice like an option", espeak.Config{Voice: "--help"}, "not a voice name"},
		{"voice with space", espeak.Config{Voice: "en us"}, "not a voice name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := espeak.New(tt.cfg)
			if !errors.Is(err, provider.ErrNotConfigured) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) = %v, want ErrNotConfigured mentioning %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	tts := newTTS(t, espeak.Config{})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := tts.Synthesize(ctx, sentence); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("during", func(t *testing.T) {
		// About 25 minutes of speech: seconds of work for espeak-ng.
		long := strings.Repeat(sentence+" ", 400)
		ctx, cancel := context.WithCancel(context.Background())
		var cancelled time.Time
		timer := time.AfterFunc(100*time.Millisecond, func() { cancelled = time.Now(); cancel() })
		defer timer.Stop()
		start := time.Now()
		_, err := tts.Synthesize(ctx, long)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v after %v, want context.Canceled", err, time.Since(start))
		}
		if lag := time.Since(cancelled); lag > 500*time.Millisecond {
			t.Errorf("Synthesize returned %v after the cancel, want within 500 ms", lag)
		}
		t.Logf("returned %v after the cancel", time.Since(cancelled))
	})
}

func TestConcurrent(t *testing.T) {
	tts := newTTS(t, espeak.Config{})
	want, err := tts.Synthesize(context.Background(), sentence)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := tts.Synthesize(context.Background(), sentence)
			if err == nil && len(got) != len(want) {
				err = errors.New("different length from the serial run")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func ExampleTTS_Synthesize() {
	tts, err := espeak.New(espeak.Config{Voice: "en-us", WPM: 175})
	if err != nil {
		fmt.Println(err) // provider.ErrNotConfigured: apt install espeak-ng
		return
	}
	pcm, err := tts.Synthesize(context.Background(), "Hello!")
	if err != nil {
		fmt.Println(err)
		return
	}
	// pcm is 48 kHz mono int16, ready for the Opus encoder.
	fmt.Println("got speech:", len(pcm) > audio.SampleRate/4)
	// Output: got speech: true
}

// BenchmarkSynthesize speaks one 13-word sentence per iteration, program
// start included, and reports milliseconds per sentence.
func BenchmarkSynthesize(b *testing.B) {
	tts := newTTS(b, espeak.Config{})
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if _, err := tts.Synthesize(ctx, sentence); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/sentence")
}
