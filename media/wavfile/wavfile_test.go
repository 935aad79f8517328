package wavfile

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-app/parley/media/audio"
)

// frontCenter is a real recording from Debian's alsa-utils: a voice saying
// "front center", 48 kHz mono 16-bit.
const frontCenter = "/usr/share/sounds/alsa/Front_Center.wav"

func TestLoadRealRecording(t *testing.T) {
	pcm, err := Load(frontCenter)
	if err != nil {
		t.Fatalf("%v (run make deps)", err)
	}
	if ms := len(pcm) * 1000 / audio.SampleRate; ms < 1400 || ms > 1450 {
		t.Fatalf("Front_Center.wav is %d ms, want ~1428", ms)
	}
	if audio.RMS(pcm) < 0.01 {
		t.Fatal("recording loaded as silence")
	}
}

func TestSaveLoadResamples(t *testing.T) {
	dir := t.TempDir()
	src, _ := Load(frontCenter)
	low, _ := audio.Resample(src, audio.SampleRate, 16000)
	p := filepath.Join(dir, "16k.wav")
	if err := Save(p, low, 16000); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := len(back) - len(src); d < -3 || d > 3 {
		t.Fatalf("length %d after 48k->16k->48k, want %d", len(back), len(src))
	}
	if _, ncc := audio.BestLag(audio.SpeechBand(src[:len(src)-100]), audio.SpeechBand(back)); ncc < 0.95 {
		t.Fatalf("speech changed through 16 kHz: NCC %.3f", ncc)
	}
}

func TestSinkIsAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.wav")
	s, err := CreateSink(p, UnpacedSink())
	if err != nil {
		t.Fatal(err)
	}
	f := make([]int16, audio.FrameSamples)
	for i := range f {
		f[i] = int16(i)
	}
	for i := 0; i < 10; i++ {
		if err := s.WriteFrame(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the WAV exists before Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10*audio.FrameSamples || got[5] != 5 {
		t.Fatalf("read back %d samples", len(got))
	}
	if err := s.WriteFrame(context.Background(), f); err == nil {
		t.Fatal("write after Close succeeded")
	}

	q := filepath.Join(t.TempDir(), "aborted.wav")
	s2, _ := CreateSink(q, UnpacedSink())
	_ = s2.WriteFrame(context.Background(), f)
	_ = s2.Abort()
	if entries, _ := os.ReadDir(filepath.Dir(q)); len(entries) != 0 {
		t.Fatalf("Abort left files: %v", entries)
	}
}

func TestSourcePacesAndEnds(t *testing.T) {
	s := NewSource(make([]int16, 2*audio.FrameSamples+10))
	f := make([]int16, audio.FrameSamples)
	for i := 0; i < 3; i++ {
		if err := s.ReadFrame(context.Background(), f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := s.ReadFrame(context.Background(), f); err != io.EOF {
		t.Fatalf("after the clip: %v, want io.EOF", err)
	}
	if err := s.ReadFrame(context.Background(), make([]int16, 5)); err != audio.ErrFrameSize {
		t.Fatalf("short frame: %v", err)
	}
}

func TestLoadRejectsNonWAV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.wav")
	for _, body := range []string{"", "RIFF", "not a wav file at all, just text"} {
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); !errors.Is(err, ErrNotWAV) {
			t.Fatalf("Load(%q) = %v, want ErrNotWAV", body, err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func FuzzLoad(f *testing.F) {
	b, err := os.ReadFile(frontCenter)
	if err == nil {
		f.Add(b[:200])
	}
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt "))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.wav")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(p) // must not panic or hang
	})
}

func TestEncodeIsTheFileSaveWrites(t *testing.T) {
	src, _ := Load(frontCenter)
	low, _ := audio.Resample(src, audio.SampleRate, 16000)
	b, err := Encode(low, 16000)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "saved.wav")
	if err := Save(p, low, 16000); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(p)
	if string(b) != string(want) {
		t.Fatalf("Encode gave %d bytes, Save wrote %d different ones", len(b), len(want))
	}
	if len(b) != 44+2*len(low) {
		t.Fatalf("%d bytes for %d samples, want a 44-byte header plus the samples", len(b), len(low))
	}
}
