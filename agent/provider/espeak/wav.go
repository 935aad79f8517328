package espeak

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parley-app/parley/media/audio"
)

// parseWAV reads the WAV that espeak-ng writes to standard output: RIFF
// chunks (id, 32-bit little-endian size, body padded to an even length), a
// "fmt " chunk for integer PCM (format tag 1), mono, 16-bit, and a "data"
// chunk. Writing to a pipe, espeak-ng cannot seek back to fill in the sizes,
// so the RIFF and data sizes are placeholders (0x7ffff000 in 1.51): the
// data chunk is taken to run to the end of the input, or to its declared
// size if that is shorter. It returns the samples and the sample rate.
//
// media/wavfile and github.com/go-audio/wav read files, not such streams.
func parseWAV(b []byte) (pcm []int16, rate int, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("no RIFF/WAVE header")
	}
	b = b[12:]
	haveFmt := false
	for len(b) >= 8 {
		id, size := string(b[0:4]), binary.LittleEndian.Uint32(b[4:8])
		b = b[8:]
		if id == "data" {
			if !haveFmt {
				return nil, 0, errors.New("data chunk before fmt chunk")
			}
			if uint64(size) < uint64(len(b)) {
				b = b[:size]
			}
			return audio.DecodeS16LE(b), rate, nil
		}
		if uint64(size) > uint64(len(b)) {
			return nil, 0, fmt.Errorf("chunk %q claims %d bytes, %d are left", id, size, len(b))
		}
		if id == "fmt " {
			if rate, err = parseFmt(b[:size]); err != nil {
				return nil, 0, err
			}
			haveFmt = true
		}
		b = b[min(uint64(size)+uint64(size&1), uint64(len(b))):]
	}
	return nil, 0, errors.New("no data chunk")
}

// parseFmt checks a "fmt " chunk body and returns its sample rate.
func parseFmt(f []byte) (int, error) {
	if len(f) < 16 {
		return 0, fmt.Errorf("fmt chunk of %d bytes, want at least 16", len(f))
	}
	format := binary.LittleEndian.Uint16(f[0:2])
	channels := binary.LittleEndian.Uint16(f[2:4])
	rate := binary.LittleEndian.Uint32(f[4:8])
	bits := binary.LittleEndian.Uint16(f[14:16])
	switch {
	case format != 1:
		return 0, fmt.Errorf("format tag %d, want 1 (integer PCM)", format)
	case channels != 1:
		return 0, fmt.Errorf("%d channels, want 1", channels)
	case bits != 16:
		return 0, fmt.Errorf("%d-bit samples, want 16", bits)
	case rate < 4000 || rate > 384000:
		return 0, fmt.Errorf("sample rate %d Hz", rate)
	}
	return int(rate), nil
}
