// Package espeak is an offline text-to-speech provider (provider.TTS) that
// runs the espeak-ng program (Debian package espeak-ng). espeak-ng is GPL
// software, so Parley runs it as a separate program and never links it.
//
// Each Synthesize call starts `espeak-ng --stdout --stdin -b 1 -v VOICE -s
// WPM`, writes the text to its standard input (never to a shell or the
// command line, so no text can become an option), reads the WAV it writes
// to standard output (22050 Hz mono signed 16-bit for the standard voices)
// and resamples it to 48 kHz. A sentence takes a few tens of milliseconds
// (see BenchmarkSynthesize).
package espeak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/media/audio"
)

// Defaults and limits of Config.
const (
	DefaultProgram = "espeak-ng"
	DefaultVoice   = "en-us"
	DefaultWPM     = 175 // espeak-ng's own default
	MinWPM         = 80  // espeak-ng's slowest
	MaxWPM         = 450 // espeak-ng's fastest without sonic speed-up
)

// MaxWAVBytes caps the WAV read from espeak-ng: 64 MiB, about 25 minutes of
// 22050 Hz speech — far more than the sentences a conversation sends.
const MaxWAVBytes = 64 << 20

// maxStderr is how much of the program's standard error an error quotes.
const maxStderr = 4 << 10

// ErrSynthesis is returned (wrapped, with the program's standard error)
// when espeak-ng fails or writes something other than the expected WAV.
var ErrSynthesis = errors.New("espeak: synthesis failed")

// Config chooses the program, the voice and the speed.
type Config struct {
	// Program is the espeak-ng executable, a path or a name looked up in
	// PATH. Default DefaultProgram.
	Program string
	// Voice is an espeak-ng voice name (as listed by `espeak-ng
	// --voices`), e.g. "en-us", "en-gb", "de", "en-us+f3". Default
	// DefaultVoice.
	Voice string
	// WPM is the speed in words per minute, MinWPM to MaxWPM. Default
	// DefaultWPM.
	WPM int
}

// TTS speaks with espeak-ng. It is safe for concurrent use: each call runs
// its own process.
type TTS struct {
	cfg  Config
	path string // the resolved program
}

// New checks cfg and finds the program. A program that cannot be found
// gives an error wrapping provider.ErrNotConfigured that names the Debian
// package to install; an invalid voice name or speed gives one too. A voice
// name that espeak-ng does not know is only reported by Synthesize.
func New(cfg Config) (*TTS, error) {
	if cfg.Program == "" {
		cfg.Program = DefaultProgram
	}
	if cfg.Voice == "" {
		cfg.Voice = DefaultVoice
	}
	if cfg.WPM == 0 {
		cfg.WPM = DefaultWPM
	}
	if cfg.WPM < MinWPM || cfg.WPM > MaxWPM {
		return nil, fmt.Errorf("%w: espeak: speed %d words per minute is outside %d–%d", provider.ErrNotConfigured, cfg.WPM, MinWPM, MaxWPM)
	}
	if strings.HasPrefix(cfg.Voice, "-") || strings.ContainsFunc(cfg.Voice, func(r rune) bool { return r <= ' ' }) {
		return nil, fmt.Errorf("%w: espeak: %q is not a voice name", provider.ErrNotConfigured, cfg.Voice)
	}
	path, err := exec.LookPath(cfg.Program)
	if err != nil {
		return nil, fmt.Errorf("%w: espeak: %w (install the Debian package espeak-ng)", provider.ErrNotConfigured, err)
	}
	return &TTS{cfg: cfg, path: path}, nil
}

// Name implements provider.TTS: "espeak-ng " and the voice, e.g.
// "espeak-ng en-us".
func (t *TTS) Name() string { return "espeak-ng " + t.cfg.Voice }

// Synthesize implements provider.TTS. It speaks text and returns 48 kHz mono
// int16 PCM (audio.SampleRate). Text that is empty or only white space
// gives nil and no error without running the program. If ctx ends first,
// the program is killed and ctx.Err() returned. A failure of the program
// gives an error wrapping ErrSynthesis that quotes its standard error.
func (t *TTS) Synthesize(ctx context.Context, text string) ([]int16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	// --stdin reads all of standard input as one text (without it,
	// espeak-ng speaks stdin line by line); -b 1 says it is UTF-8
	// whatever the locale.
	cmd := exec.CommandContext(ctx, t.path, "--stdout", "--stdin", "-b", "1",
		"-v", t.cfg.Voice, "-s", strconv.Itoa(t.cfg.WPM))
	cmd.Stdin = strings.NewReader(text)
	stdout := &cappedBuffer{max: MaxWAVBytes}
	stderr := &cappedBuffer{max: maxStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second // after a kill, stop waiting for its pipes
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s -v %s: %v: %s", ErrSynthesis, t.cfg.Program, t.cfg.Voice, err, strings.TrimSpace(stderr.String()))
	}
	pcm, rate, err := parseWAV(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %s -v %s: %v (stderr: %q)", ErrSynthesis, t.cfg.Program, t.cfg.Voice, err, strings.TrimSpace(stderr.String()))
	}
	return audio.Resample(pcm, rate, audio.SampleRate)
}

var _ provider.TTS = (*TTS)(nil)

// errTooMuch is returned by a cappedBuffer that would grow past its cap;
// the program then gets EPIPE on its next write and ends.
var errTooMuch = fmt.Errorf("output over %d bytes", MaxWAVBytes)

// cappedBuffer collects a program's output up to max bytes. Past that it
// either fails the write or, with truncate, drops the rest.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	truncate bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.Len()
	if len(p) <= room {
		return b.Buffer.Write(p)
	}
	if !b.truncate {
		return 0, errTooMuch
	}
	b.Buffer.Write(p[:max(room, 0)])
	return len(p), nil
}
