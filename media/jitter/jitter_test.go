package jitter

import (
	"testing"
)

func TestBuffer(t *testing.T) {
	type step struct {
		push []uint16 // packets pushed before this pop
		want Status
		seq  uint16 // expected payload (its seq) when want == Packet
	}
	tests := []struct {
		name  string
		depth int
		steps []step
	}{
		{"buffers to depth then plays in order", 3, []step{
			{push: []uint16{10}, want: Empty},
			{push: []uint16{11}, want: Empty},
			{push: []uint16{12}, want: Packet, seq: 10},
			{want: Packet, seq: 11},
			{want: Packet, seq: 12},
			{want: Empty}, // underrun
			{push: []uint16{13}, want: Empty},
		}},
		{"reorders", 3, []step{
			{push: []uint16{5, 7, 6}, want: Packet, seq: 5},
			{want: Packet, seq: 6},
			{want: Packet, seq: 7},
		}},
		{"reports a loss when later packets wait", 2, []step{
			{push: []uint16{1, 3}, want: Packet, seq: 1},
			{want: Lost},
			{want: Packet, seq: 3},
		}},
		{"drops late packets", 1, []step{
			{push: []uint16{1}, want: Packet, seq: 1},
			{push: []uint16{0, 2}, want: Packet, seq: 2},
		}},
		{"wraps at 65535", 2, []step{
			{push: []uint16{65535, 0}, want: Packet, seq: 65535},
			{want: Packet, seq: 0},
		}},
		{"earlier first packet while buffering", 3, []step{
			{push: []uint16{20, 19, 21}, want: Packet, seq: 19},
			{want: Packet, seq: 20},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.depth)
			for i, s := range tt.steps {
				for _, seq := range s.push {
					b.Push(seq, 0, []byte{byte(seq >> 8), byte(seq)})
				}
				p, _, st := b.Pop()
				if st != s.want {
					t.Fatalf("step %d: status %v, want %v", i, st, s.want)
				}
				if st == Packet {
					got := uint16(p[0])<<8 | uint16(p[1])
					if got != s.seq {
						t.Fatalf("step %d: got packet %d, want %d", i, got, s.seq)
					}
				}
			}
		})
	}
}

func TestDuplicateAndReset(t *testing.T) {
	b := New(1)
	b.Push(100, 0, []byte{1})
	b.Push(100, 0, []byte{1})
	if st := b.Stats(); st.Duplicate != 1 {
		t.Fatalf("duplicates = %d, want 1", st.Duplicate)
	}
	b.Push(100+window+5, 0, []byte{2}) // far ahead: the stream restarted
	p, _, st := b.Pop()
	if st != Packet || p[0] != 2 {
		t.Fatalf("after reset: got %v %v, want the new packet", p, st)
	}
	if b.Stats().Resets != 1 {
		t.Fatal("reset not counted")
	}
}

func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 2}, 2)
	f.Fuzz(func(t *testing.T, seqs []byte, depth int) {
		b := New(depth % 8)
		for i := 0; i+1 < len(seqs); i += 2 {
			b.Push(uint16(seqs[i])<<8|uint16(seqs[i+1]), 0, []byte{seqs[i]})
			if i%4 == 0 {
				b.Pop()
			}
			if n := b.Len(); n < 0 || n > window {
				t.Fatalf("Len = %d", n)
			}
		}
		for i := 0; i < 2*window && b.Len() > 0; i++ {
			if _, _, st := b.Pop(); st == Empty && b.Len() >= b.depth {
				t.Fatalf("Empty with %d packets waiting (depth %d)", b.Len(), b.depth)
			}
		}
	})
}

func BenchmarkPushPop(b *testing.B) {
	buf := New(DefaultDepth)
	payload := make([]byte, 80)
	var seq uint16
	for b.Loop() {
		buf.Push(seq, 0, payload)
		buf.Pop()
		seq++
	}
}

// TestDelayDoesNotGrow: after a stall the sender's packets arrive in a burst;
// the buffer must come back to about its depth instead of keeping the delay.
func TestDelayDoesNotGrow(t *testing.T) {
	b := New(DefaultDepth)
	var seq uint16
	push := func(n int) {
		for i := 0; i < n; i++ {
			b.Push(seq, 0, []byte{1})
			seq++
		}
	}
	push(DefaultDepth)
	for i := 0; i < 50; i++ { // steady state: one in, one out
		b.Pop()
		push(1)
	}
	push(100) // a 2 s burst
	for i := 0; i < 10; i++ {
		b.Pop()
		push(1)
	}
	if n := b.Len(); n > DefaultDepth+maxExcess {
		t.Fatalf("holding %d packets after a burst, want <= %d", n, DefaultDepth+maxExcess)
	}
	if b.Stats().Dropped == 0 {
		t.Fatal("nothing dropped")
	}
}

// TestGapAfterUnderrun: when packets stop and resume with a jump in
// sequence numbers (the lost ones never come), playout resumes at the first
// new packet rather than concealing the whole gap.
func TestGapAfterUnderrun(t *testing.T) {
	b := New(2)
	b.Push(1, 0, []byte{1})
	b.Push(2, 0, []byte{2})
	b.Pop()
	b.Pop()
	if _, _, st := b.Pop(); st != Empty {
		t.Fatalf("want an underrun, got %v", st)
	}
	b.Push(103, 0, []byte{3})
	b.Push(104, 0, []byte{4})
	if p, _, st := b.Pop(); st != Packet || p[0] != 3 {
		t.Fatalf("after the gap: %v %v, want packet 103", p, st)
	}
}

// TestSequenceRestart: a sender that restarts with lower sequence numbers is
// followed at once.
func TestSequenceRestart(t *testing.T) {
	b := New(1)
	b.Push(40000, 0, []byte{1})
	b.Pop()
	b.Push(100, 0, []byte{2})
	if p, _, st := b.Pop(); st != Packet || p[0] != 2 {
		t.Fatalf("after a restart: %v %v", p, st)
	}
}

// TestTimestamps: each packet comes out with the RTP timestamp it went in
// with, in sequence order even when it arrived out of order.
func TestTimestamps(t *testing.T) {
	b := New(2)
	b.Push(11, 960*11, []byte{11})
	b.Push(10, 960*10, []byte{10})
	b.Push(12, 960*12, []byte{12})
	for seq := 10; seq <= 12; seq++ {
		p, ts, st := b.Pop()
		if st != Packet || int(p[0]) != seq || ts != uint32(960*seq) {
			t.Fatalf("pop %d: payload %v ts %d status %v", seq, p, ts, st)
		}
	}
}
