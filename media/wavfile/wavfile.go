// Package wavfile reads and writes WAV files as Parley audio sources and
// sinks (media/audio), paced in real time like a microphone and a speaker.
// Parsing and encoding are done by github.com/go-audio/wav; a sink writes to a
// temporary file that replaces the target only when it is closed, so a crash
// never leaves a half-written WAV (github.com/google/renameio).
package wavfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
	"github.com/google/renameio/v2"

	"github.com/parley-app/parley/media/audio"
)

// MaxFileBytes caps the WAV files Load reads: 256 MiB, about 46 minutes of
// 48 kHz 16-bit stereo.
const MaxFileBytes = 256 << 20

// ErrNotWAV is returned when a file is not a PCM WAV file Parley can read.
var ErrNotWAV = errors.New("wavfile: not a PCM WAV file")

// Load reads a whole PCM WAV file (8/16/24/32-bit integer, any sample rate,
// any channel count) and returns it as 48 kHz mono int16, channels averaged.
// It returns ErrNotWAV (wrapped, with the path) for anything else.
func Load(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wavfile: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wavfile: %s: %w", path, err)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrNotWAV, path, st.Size(), MaxFileBytes)
	}
	if err := checkChunks(f, st.Size()); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotWAV, path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("wavfile: %s: %w", path, err)
	}
	dec := wav.NewDecoder(f)
	if !dec.IsValidFile() {
		return nil, fmt.Errorf("%w: %s", ErrNotWAV, path)
	}
	switch {
	case dec.WavAudioFormat != 1:
		return nil, fmt.Errorf("%w: %s: only integer PCM is supported (format tag %d)", ErrNotWAV, path, dec.WavAudioFormat)
	case dec.NumChans < 1 || dec.NumChans > 8:
		return nil, fmt.Errorf("%w: %s: %d channels", ErrNotWAV, path, dec.NumChans)
	case dec.BitDepth != 8 && dec.BitDepth != 16 && dec.BitDepth != 24 && dec.BitDepth != 32:
		return nil, fmt.Errorf("%w: %s: %d-bit samples", ErrNotWAV, path, dec.BitDepth)
	case dec.SampleRate < 4000 || dec.SampleRate > 384000:
		return nil, fmt.Errorf("%w: %s: sample rate %d Hz", ErrNotWAV, path, dec.SampleRate)
	}
	// Read in blocks, never more samples than the file can hold: a header
	// that lies about its data size cannot make this loop run away.
	maxSamples := int(st.Size()) / int(dec.BitDepth/8)
	buf := &goaudio.IntBuffer{Data: make([]int, 4096)}
	var data []int
	for len(data) <= maxSamples {
		n, err := dec.PCMBuffer(buf)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNotWAV, path, err)
		}
		if n == 0 {
			break
		}
		data = append(data, buf.Data[:n]...)
	}
	full := &goaudio.IntBuffer{Data: data, Format: &goaudio.Format{NumChannels: int(dec.NumChans), SampleRate: int(dec.SampleRate)}}
	mono := toMono16(full, int(dec.BitDepth))
	return audio.Resample(mono, full.Format.SampleRate, audio.SampleRate)
}

// checkChunks walks the RIFF chunk headers (RIFF/WAVE, then id + 32-bit
// little-endian size per chunk) up to the data chunk and rejects any chunk
// that claims more bytes than the file has. go-audio allocates a non-data
// chunk's declared size up front, so a 40-byte file could otherwise ask for
// 4 GiB. The data chunk may run short (a recording cut off).
func checkChunks(r io.Reader, size int64) error {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return errors.New("no RIFF/WAVE header")
	}
	off := int64(12)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return errors.New("no data chunk")
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		off += 8
		if string(ch[0:4]) == "data" {
			return nil
		}
		if off+n > size {
			return fmt.Errorf("chunk %q claims %d bytes, the file has %d left", ch[0:4], n, size-off)
		}
		if _, err := io.CopyN(io.Discard, r, n+n%2); err != nil && off+n < size {
			return fmt.Errorf("chunk %q: %v", ch[0:4], err)
		}
		off += n + n%2
	}
}

// toMono16 averages the channels of buf and scales samples to 16 bits.
func toMono16(buf *goaudio.IntBuffer, bitDepth int) []int16 {
	ch := buf.Format.NumChannels
	out := make([]int16, len(buf.Data)/ch)
	for i := range out {
		var sum int
		for c := 0; c < ch; c++ {
			sum += buf.Data[i*ch+c]
		}
		v := sum / ch
		switch {
		case bitDepth == 8:
			v = (v - 128) << 8 // 8-bit WAV is unsigned
		case bitDepth > 16:
			v >>= bitDepth - 16
		}
		out[i] = int16(v)
	}
	return out
}

// Source plays a clip as an audio.Source: one 20 ms frame per ReadFrame,
// paced in real time unless made with Unpaced. After the clip it returns
// io.EOF. It is safe for one reader.
type Source struct {
	pcm    []int16
	pos    int
	pacer  audio.Pacer
	paced  bool
	closed bool
}

// SourceOption configures a Source.
type SourceOption func(*Source)

// Unpaced makes ReadFrame return immediately instead of at real-time pace
// (for tests and offline processing).
func Unpaced() SourceOption { return func(s *Source) { s.paced = false } }

// NewSource returns a Source over pcm (48 kHz mono int16). The last frame is
// padded with silence.
func NewSource(pcm []int16, opts ...SourceOption) *Source {
	s := &Source{pcm: pcm, paced: true}
	for _, o := range opts {
		o(s)
	}
	return s
}

// OpenSource loads path (see Load) and returns a real-time Source over it.
func OpenSource(path string, opts ...SourceOption) (*Source, error) {
	pcm, err := Load(path)
	if err != nil {
		return nil, err
	}
	return NewSource(pcm, opts...), nil
}

// Len returns the clip's length in samples at 48 kHz.
func (s *Source) Len() int { return len(s.pcm) }

// ReadFrame implements audio.Source.
func (s *Source) ReadFrame(ctx context.Context, f []int16) error {
	if len(f) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	if s.closed || s.pos >= len(s.pcm) {
		return io.EOF
	}
	if s.paced {
		if err := s.pacer.Wait(ctx); err != nil {
			return err
		}
	} else if err := ctx.Err(); err != nil {
		return err
	}
	n := copy(f, s.pcm[s.pos:])
	clear(f[n:])
	s.pos += audio.FrameSamples
	return nil
}

// Close implements audio.Source; later reads return io.EOF.
func (s *Source) Close() error {
	s.closed = true
	return nil
}

// Sink records frames into a 48 kHz mono 16-bit WAV file. Until Close, the
// data lives in a temporary file beside the target; Close writes the header
// and atomically renames it into place. Write from one goroutine; Close and
// Abort may come from another.
type Sink struct {
	mu      sync.Mutex
	pf      *renameio.PendingFile
	enc     *wav.Encoder
	buf     goaudio.IntBuffer
	pacer   audio.Pacer
	paced   bool
	samples int
	closed  bool
}

// SinkOption configures a Sink.
type SinkOption func(*Sink)

// UnpacedSink makes WriteFrame return at once instead of at real-time pace.
func UnpacedSink() SinkOption { return func(s *Sink) { s.paced = false } }

// CreateSink starts a WAV recording that will appear at path on Close.
func CreateSink(path string, opts ...SinkOption) (*Sink, error) {
	pf, err := renameio.NewPendingFile(path)
	if err != nil {
		return nil, fmt.Errorf("wavfile: create %s: %w", path, err)
	}
	s := &Sink{
		pf:    pf,
		enc:   wav.NewEncoder(pf, audio.SampleRate, 16, audio.Channels, 1),
		buf:   goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: 1, SampleRate: audio.SampleRate}, SourceBitDepth: 16},
		paced: true,
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// WriteFrame implements audio.Sink.
func (s *Sink) WriteFrame(ctx context.Context, f []int16) error {
	if len(f) != audio.FrameSamples {
		return audio.ErrFrameSize
	}
	if s.paced {
		if err := s.pacer.Wait(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return os.ErrClosed
	}
	if cap(s.buf.Data) < len(f) {
		s.buf.Data = make([]int, len(f))
	}
	s.buf.Data = s.buf.Data[:len(f)]
	for i, v := range f {
		s.buf.Data[i] = int(v)
	}
	if err := s.enc.Write(&s.buf); err != nil {
		return fmt.Errorf("wavfile: write: %w", err)
	}
	s.samples += len(f)
	return nil
}

// Samples returns how many samples have been written so far.
func (s *Sink) Samples() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// Close finishes the WAV header and moves the file into place. Calling it
// again does nothing. On error the temporary file is removed and the target
// is left as it was.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.enc.Close(); err != nil {
		_ = s.pf.Cleanup()
		return fmt.Errorf("wavfile: finish: %w", err)
	}
	if err := s.pf.CloseAtomicallyReplace(); err != nil {
		_ = s.pf.Cleanup()
		return fmt.Errorf("wavfile: finish: %w", err)
	}
	return nil
}

// Abort drops the recording: the temporary file is removed and nothing
// appears at the target path.
func (s *Sink) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.pf.Cleanup()
}

// Save writes pcm (mono int16 at rate Hz) as a 16-bit WAV file at path,
// atomically: the file appears whole or not at all.
func Save(path string, pcm []int16, rate int) error {
	pf, err := renameio.NewPendingFile(path)
	if err != nil {
		return fmt.Errorf("wavfile: create %s: %w", path, err)
	}
	defer pf.Cleanup()
	enc := wav.NewEncoder(pf, rate, 16, 1, 1)
	buf := &goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: 1, SampleRate: rate}, SourceBitDepth: 16, Data: make([]int, len(pcm))}
	for i, v := range pcm {
		buf.Data[i] = int(v)
	}
	if err := enc.Write(buf); err != nil {
		return fmt.Errorf("wavfile: write %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("wavfile: write %s: %w", path, err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("wavfile: write %s: %w", path, err)
	}
	return nil
}

// Encode returns pcm (mono int16 at rate Hz) as the bytes of a 16-bit PCM
// WAV file, e.g. to upload an utterance to a speech-to-text API.
func Encode(pcm []int16, rate int) ([]byte, error) {
	var ws memFile
	enc := wav.NewEncoder(&ws, rate, 16, 1, 1)
	buf := &goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: 1, SampleRate: rate}, SourceBitDepth: 16, Data: make([]int, len(pcm))}
	for i, v := range pcm {
		buf.Data[i] = int(v)
	}
	if err := enc.Write(buf); err != nil {
		return nil, fmt.Errorf("wavfile: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("wavfile: encode: %w", err)
	}
	return ws.b, nil
}

// memFile is an in-memory io.WriteSeeker: go-audio's encoder seeks back to
// fill in the chunk sizes.
type memFile struct {
	b   []byte
	off int
}

func (m *memFile) Write(p []byte) (int, error) {
	if need := m.off + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	m.off += copy(m.b[m.off:], p)
	return len(p), nil
}

func (m *memFile) Seek(offset int64, whence int) (int64, error) {
	var base int64
	switch whence {
	case io.SeekCurrent:
		base = int64(m.off)
	case io.SeekEnd:
		base = int64(len(m.b))
	}
	if base+offset < 0 {
		return 0, errors.New("wavfile: seek before start")
	}
	m.off = int(base + offset)
	return int64(m.off), nil
}
