package audio

// Framer regroups PCM of any length (Opus packets of 10, 20, 40 or 60 ms)
// into 20 ms frames of FrameSamples samples.
type Framer struct {
	buf []int16
	out []int16
}

// NewFramer returns an empty Framer.
func NewFramer() *Framer { return &Framer{out: make([]int16, FrameSamples)} }

// Write appends samples (48 kHz mono).
func (f *Framer) Write(pcm []int16) { f.buf = append(f.buf, pcm...) }

// Silence appends n samples of silence.
func (f *Framer) Silence(n int) { f.buf = append(f.buf, make([]int16, n)...) }

// Len returns how many samples wait.
func (f *Framer) Len() int { return len(f.buf) }

// Next returns the next whole frame, or nil if fewer than FrameSamples
// samples wait. The frame is valid until the next call.
func (f *Framer) Next() []int16 {
	if len(f.buf) < FrameSamples {
		return nil
	}
	copy(f.out, f.buf)
	f.buf = append(f.buf[:0], f.buf[FrameSamples:]...)
	return f.out
}
