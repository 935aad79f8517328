package opus

import (
	"math"
	"testing"

	"github.com/parley-app/parley/media/audio"
)

// TestRoundTrip encodes a 440 Hz tone with libopus and decodes it with
// pion/opus; after the codec's look-ahead the output must follow the input.
func TestRoundTrip(t *testing.T) {
	enc, err := NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	const frames = 50
	in := make([]int16, frames*audio.FrameSamples)
	for i := range in {
		in[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	var out []int16
	for i := 0; i < frames; i++ {
		pkt, err := enc.Encode(in[i*audio.FrameSamples : (i+1)*audio.FrameSamples])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(pkt) == 0 || len(pkt) > 400 {
			t.Fatalf("frame %d: packet of %d bytes", i, len(pkt))
		}
		pcm, err := dec.Decode(pkt)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(pcm) != audio.FrameSamples {
			t.Fatalf("frame %d: decoded %d samples, want %d", i, len(pcm), audio.FrameSamples)
		}
		out = append(out, pcm...)
	}
	lag, ncc := audio.BestLag(in[audio.FrameSamples*10:audio.FrameSamples*30], out)
	t.Logf("codec round trip: lag %d samples, NCC %.3f", lag-audio.FrameSamples*10, ncc)
	if ncc < 0.9 {
		t.Fatalf("decoded tone does not match the input: NCC %.3f", ncc)
	}
	if _, err := enc.Encode(make([]int16, 10)); err != audio.ErrFrameSize {
		t.Fatalf("short frame: got %v, want ErrFrameSize", err)
	}
	if _, err := dec.Decode([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("corrupt packet decoded without error")
	}
}

func TestSilenceFrameDecodesToSilence(t *testing.T) {
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := dec.Decode(SilenceFrame)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != audio.FrameSamples || audio.RMS(pcm) != 0 {
		t.Fatalf("%d samples, RMS %v; want 960 of silence", len(pcm), audio.RMS(pcm))
	}
}

func TestEncoderClose(t *testing.T) {
	enc, err := NewEncoder(24000)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := enc.Encode(make([]int16, audio.FrameSamples)); err != ErrClosed {
		t.Fatalf("Encode after Close: got %v, want ErrClosed", err)
	}
}

func BenchmarkEncode(b *testing.B) {
	enc, err := NewEncoder(0)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	f := toneFrame()
	for b.Loop() {
		if _, err := enc.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, err := NewEncoder(0)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pkt, _ := enc.Encode(toneFrame())
	dec, _ := NewDecoder()
	for b.Loop() {
		if _, err := dec.Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// toneFrame returns one 20 ms frame of a 440 Hz tone at about -12 dBFS.
func toneFrame() []int16 {
	f := make([]int16, audio.FrameSamples)
	for i := range f {
		f[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	return f
}
