package espeak

import (
	"encoding/binary"
	"slices"
	"testing"
)

// wav builds a WAV header as espeak-ng 1.51 writes it to a pipe (the
// placeholder sizes of its first bytes, read with xxd: RIFF size
// 0x7ffff024, data size 0x7ffff000) followed by data.
func wav(rate uint32, channels, bits uint16, dataSize uint32, data []byte) []byte {
	b := []byte("RIFF\x24\xf0\xff\x7fWAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, channels)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(channels)*uint32(bits)/8)
	b = binary.LittleEndian.AppendUint16(b, channels*bits/8)
	b = binary.LittleEndian.AppendUint16(b, bits)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, dataSize)
	return append(b, data...)
}

func TestParseWAV(t *testing.T) {
	samples := []byte{0x01, 0x00, 0xff, 0xff, 0x00, 0x80} // 1, -1, -32768
	listChunk := append([]byte("LIST\x03\x00\x00\x00abc\x00"), wav(22050, 1, 16, 0x7ffff000, samples)[36:]...)
	tests := []struct {
		name     string
		in       []byte
		want     []int16
		wantRate int
		wantErr  bool
	}{
		{"streamed, placeholder size", wav(22050, 1, 16, 0x7ffff000, samples), []int16{1, -1, -32768}, 22050, false},
		{"exact size", wav(16000, 1, 16, 6, samples), []int16{1, -1, -32768}, 16000, false},
		{"declared shorter than present", wav(16000, 1, 16, 4, samples), []int16{1, -1}, 16000, false},
		{"odd trailing byte dropped", wav(16000, 1, 16, 0x7ffff000, samples[:5]), []int16{1, -1}, 16000, false},
		{"no samples", wav(22050, 1, 16, 0x7ffff000, nil), []int16{}, 22050, false},
		{"padded odd chunk skipped", append(wav(22050, 1, 16, 0, nil)[:36], listChunk...), []int16{1, -1, -32768}, 22050, false},
		{"empty", nil, nil, 0, true},
		{"not RIFF", []byte("hello world, this is not a wav"), nil, 0, true},
		{"stereo", wav(22050, 2, 16, 0x7ffff000, samples), nil, 0, true},
		{"8-bit", wav(22050, 1, 8, 0x7ffff000, samples), nil, 0, true},
		{"zero rate", wav(0, 1, 16, 0x7ffff000, samples), nil, 0, true},
		{"no data chunk", wav(22050, 1, 16, 0, nil)[:36], nil, 0, true},
		{"data before fmt", append([]byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00"), 1, 0), nil, 0, true},
		{"chunk longer than file", []byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"), nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rate, err := parseWAV(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) || rate != tt.wantRate {
				t.Errorf("got %v at %d Hz, want %v at %d Hz", got, rate, tt.want, tt.wantRate)
			}
		})
	}
}

// FuzzParseWAV feeds the parser what a broken or hostile program could
// write: it must return an error or samples, never panic, and never more
// samples than the input holds.
func FuzzParseWAV(f *testing.F) {
	f.Add(wav(22050, 1, 16, 0x7ffff000, []byte{1, 0, 2, 0}))
	f.Add(wav(16000, 1, 16, 2, []byte{1, 0, 2, 0}))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, rate, err := parseWAV(b)
		if err == nil && (len(pcm) > len(b)/2 || rate < 4000) {
			t.Fatalf("%d samples at %d Hz from %d bytes", len(pcm), rate, len(b))
		}
	})
}
