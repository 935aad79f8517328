// Package jitter holds a receive-side jitter buffer for RTP audio: it puts
// packets back in sequence-number order, absorbs arrival jitter by holding a
// target depth of packets before playout starts, and tells the playout loop
// when a packet is missing so it can conceal the gap (PLC).
package jitter

import "sync"

// Status says what Pop found.
type Status int

const (
	// Empty: nothing is due yet (buffering before playout, or an underrun);
	// the caller plays silence and playout restarts once Depth packets wait.
	Empty Status = iota
	// Packet: the next packet in sequence is returned.
	Packet
	// Lost: the next packet in sequence is missing while later ones are
	// waiting; the caller conceals one frame.
	Lost
)

// window is how many sequence numbers the buffer can hold at once; a packet
// further ahead than this restarts the buffer (a stream reset or a long gap).
const window = 256

// DefaultDepth is the playout delay in packets: 3 × 20 ms = 60 ms, enough for
// the jitter of a LAN or loopback; a WAN needs more.
const DefaultDepth = 3

// maxExcess is how many packets beyond its depth the buffer may hold before
// Pop drops the oldest: a burst after a stall, or a sender whose clock runs
// faster than the playout clock, must not turn into lasting delay.
const maxExcess = 4

type slot struct {
	seq     uint16
	ts      uint32
	payload []byte
	full    bool
}

// Buffer is a fixed-depth jitter buffer keyed by RTP sequence number
// (RFC 3550 §5.1, 16-bit, wrapping). It is safe for one goroutine pushing and
// another popping.
type Buffer struct {
	mu      sync.Mutex
	depth   int
	slots   [window]slot
	next    uint16 // sequence number Pop returns next
	count   int    // packets held
	started bool   // playout has begun (depth reached)
	primed  bool   // next is valid

	stats Stats
}

// Stats counts what the buffer has seen.
type Stats struct {
	Pushed, Played, Lost, Late, Duplicate, Underruns, Resets int
	Dropped                                                  int // held too long: dropped to cut delay
}

// New returns a buffer that starts playout once depth packets are held
// (depth < 1 means DefaultDepth).
func New(depth int) *Buffer {
	if depth < 1 {
		depth = DefaultDepth
	}
	return &Buffer{depth: depth}
}

// Push stores a packet's payload and RTP timestamp under its RTP sequence
// number. Late packets (already played or concealed) and duplicates are
// dropped and counted.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Pushed++
	if !b.primed {
		b.next, b.primed = seq, true
	}
	ahead := int16(seq - b.next)
	switch {
	case ahead < 0 && int(-ahead) >= window:
		b.reset(seq) // a jump backwards: the sender restarted its sequence
	case ahead < 0:
		if !b.started && int(-ahead) < window/2 {
			b.next = seq // still buffering: an earlier first packet arrived late
			break
		}
		b.stats.Late++
		return
	case int(ahead) >= window:
		b.reset(seq)
	}
	s := &b.slots[seq%window]
	if s.full && s.seq == seq {
		b.stats.Duplicate++
		return
	}
	if !s.full {
		b.count++
	}
	*s = slot{seq: seq, ts: ts, payload: payload, full: true}
	if !b.started && b.count >= b.depth {
		b.started = true
		b.next = b.oldest() // after an underrun, skip the gap instead of concealing it
	}
}

// oldest returns the lowest sequence number held, counting from next.
func (b *Buffer) oldest() uint16 {
	best, found := b.next, false
	for i := range b.slots {
		s := &b.slots[i]
		if s.full && (!found || int16(s.seq-best) < 0) {
			best, found = s.seq, true
		}
	}
	return best
}

func (b *Buffer) reset(seq uint16) {
	b.slots = [window]slot{}
	b.count, b.started, b.next = 0, false, seq
	b.stats.Resets++
}

// Pop returns the next packet in sequence and its RTP timestamp (Packet),
// or reports that it is missing (Lost) or that nothing is due (Empty); the
// timestamp is 0 then. It never blocks: the caller calls it once per frame
// period on its playout clock.
func (b *Buffer) Pop() ([]byte, uint32, Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started {
		return nil, 0, Empty
	}
	if b.count == 0 {
		b.started = false
		b.stats.Underruns++
		return nil, 0, Empty
	}
	for n := 0; b.count > b.depth+maxExcess && n < window; n++ {
		if s := &b.slots[b.next%window]; s.full && s.seq == b.next {
			*s = slot{}
			b.count--
			b.stats.Dropped++
		}
		b.next++
	}
	s := &b.slots[b.next%window]
	b.next++
	if s.full && s.seq == b.next-1 {
		p, ts := s.payload, s.ts
		*s = slot{}
		b.count--
		b.stats.Played++
		return p, ts, Packet
	}
	b.stats.Lost++
	return nil, 0, Lost
}

// Len returns how many packets are waiting.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// Stats returns a copy of the counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}
