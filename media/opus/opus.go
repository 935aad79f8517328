// Package opus encodes and decodes Parley's 20 ms frames of 48 kHz mono int16
// PCM as Opus (RFC 6716). Encoding uses libopus through
// github.com/pion/mediadevices/pkg/codec/opus (statically linked); decoding
// uses the pure-Go github.com/pion/opus decoder (SILK, CELT and hybrid).
package opus

import (
	"errors"
	"fmt"
	"sync"

	mdcodec "github.com/pion/mediadevices/pkg/codec"
	mdopus "github.com/pion/mediadevices/pkg/codec/opus"
	mdaudio "github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
	pionopus "github.com/pion/opus"

	"github.com/parley-app/parley/media/audio"
)

// DefaultBitRate is the encoder's target in bit/s: 32 kbit/s is ample for
// wideband speech in Opus' VoIP mode (RFC 7587 §3.1.1 suggests 8–32 kbit/s
// for speech).
const DefaultBitRate = 32000

// SilenceFrame is a complete 20 ms Opus packet that decodes to digital
// silence: TOC byte 0xF8 (config 31, CELT fullband 20 ms, mono, one frame,
// RFC 6716 §3.1) followed by a frame whose range-coded content is the silence
// flag. Sending it costs no encoder time, which matters when an agent keeps a
// hundred idle calls' audio clocks running.
var SilenceFrame = []byte{0xF8, 0xFF, 0xFE}

// ErrClosed is returned by a codec used after Close.
var ErrClosed = errors.New("opus: codec closed")

// Encoder turns 20 ms frames into Opus packets. It is safe for concurrent
// use, though frames from several goroutines would interleave.
type Encoder struct {
	mu      sync.Mutex
	pending *wave.Int16Interleaved
	enc     mdcodec.ReadCloser
}

// NewEncoder returns an Opus encoder for 48 kHz mono, 20 ms frames, at
// bitRate bit/s (0 means DefaultBitRate).
func NewEncoder(bitRate int) (*Encoder, error) {
	if bitRate == 0 {
		bitRate = DefaultBitRate
	}
	params, err := mdopus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("opus: params: %w", err)
	}
	params.BitRate = bitRate
	params.Latency = mdopus.Latency20ms
	e := &Encoder{}
	// mediadevices pulls PCM from a reader; ours hands over the one frame
	// that Encode has just put in place.
	reader := mdaudio.ReaderFunc(func() (wave.Audio, func(), error) {
		p := e.pending
		e.pending = nil
		if p == nil {
			return nil, func() {}, errors.New("opus: encoder asked for a frame it was not given")
		}
		return p, func() {}, nil
	})
	enc, err := params.BuildAudioEncoder(reader, prop.Media{
		Audio: prop.Audio{SampleRate: audio.SampleRate, ChannelCount: audio.Channels},
	})
	if err != nil {
		return nil, fmt.Errorf("opus: new encoder (%d bit/s): %w", bitRate, err)
	}
	e.enc = enc
	return e, nil
}

// Encode compresses one frame (audio.FrameSamples samples) and returns the
// Opus packet (a fresh slice). It returns audio.ErrFrameSize for a wrongly
// sized frame and ErrClosed after Close.
func (e *Encoder) Encode(frame []int16) ([]byte, error) {
	if len(frame) != audio.FrameSamples {
		return nil, audio.ErrFrameSize
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil, ErrClosed
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: len(frame), Channels: audio.Channels, SamplingRate: audio.SampleRate})
	copy(chunk.Data, frame)
	e.pending = chunk
	pkt, release, err := e.enc.Read()
	if release != nil {
		defer release()
	}
	if err != nil {
		return nil, fmt.Errorf("opus: encode: %w", err)
	}
	return pkt, nil
}

// Close frees the libopus encoder; it is safe to call twice.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc == nil {
		return nil
	}
	err := e.enc.Close()
	e.enc = nil
	return err
}

// Decoder turns Opus packets back into 48 kHz mono int16 PCM. It is not safe
// for concurrent use.
type Decoder struct {
	dec pionopus.Decoder
	buf []int16
}

// NewDecoder returns a decoder with 48 kHz mono output.
func NewDecoder() (*Decoder, error) {
	d, err := pionopus.NewDecoderWithOutput(audio.SampleRate, audio.Channels)
	if err != nil {
		return nil, fmt.Errorf("opus: new decoder: %w", err)
	}
	// An Opus packet holds at most 120 ms (RFC 6716 §3.2.5).
	return &Decoder{dec: d, buf: make([]int16, audio.SampleRate*120/1000)}, nil
}

// Decode decodes one packet and returns its samples (48 kHz mono int16),
// valid until the next call. A 20 ms packet gives audio.FrameSamples samples.
// It returns an error naming the packet length for a corrupt packet.
func (d *Decoder) Decode(pkt []byte) ([]int16, error) {
	n, err := d.dec.DecodeToInt16(pkt, d.buf)
	if err != nil {
		return nil, fmt.Errorf("opus: decode %d-byte packet: %w", len(pkt), err)
	}
	return d.buf[:n], nil
}
