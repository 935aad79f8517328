package api

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Keepalive defaults.
const (
	PingInterval = time.Second     // how often each side pings
	PongTimeout  = 5 * time.Second // silence after which the peer is gone
	// RestartGrace is how long an agent keeps a session whose caller it
	// lost (no pong for PongTimeout, its connection disconnected for 5 s or
	// failed) so that the caller can restart ICE on it (PATCH
	// /v1/sessions/{id}); each restart offer starts it anew. A session not
	// back by then is reclaimed.
	RestartGrace = 15 * time.Second
)

// ErrNoPong is returned by Keepalive.Run when no pong came for the timeout.
var ErrNoPong = errors.New("api: no pong from the peer")

// Keepalive runs one side's ping/pong exchange on the data channel: it
// pings every Interval, answers the peer's pings, measures the round-trip
// time (RTT) from its own pongs, and notices a peer that stopped answering.
// Both the client and the agent run one.
type Keepalive struct {
	Send     func(Event) error // sends one event; required
	Interval time.Duration     // 0 means PingInterval
	Timeout  time.Duration     // 0 means PongTimeout

	mu       sync.Mutex
	seq      int64
	lastPong time.Time
	rtt      time.Duration
}

// Handle takes an event from the peer. It answers a ping, records a pong,
// and reports whether the event was a ping or pong (consumed here).
func (k *Keepalive) Handle(e Event) bool {
	switch e.Type {
	case TypePing:
		_ = k.Send(Event{Type: TypePong, Seq: e.Seq, TS: e.TS})
		return true
	case TypePong:
		if e.TS > 0 {
			rtt := time.Since(time.UnixMicro(e.TS))
			k.mu.Lock()
			if rtt >= 0 {
				k.rtt = rtt
			}
			k.lastPong = time.Now()
			k.mu.Unlock()
		}
		return true
	}
	return false
}

// RTT returns the last measured round-trip time (0 before the first pong).
func (k *Keepalive) RTT() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rtt
}

// Run pings until ctx ends (returning nil) or the peer has not answered for
// Timeout (returning ErrNoPong). Call it once the data channel is open.
func (k *Keepalive) Run(ctx context.Context) error {
	interval, timeout := k.Interval, k.Timeout
	if interval == 0 {
		interval = PingInterval
	}
	if timeout == 0 {
		timeout = PongTimeout
	}
	k.mu.Lock()
	k.lastPong = time.Now() // the timeout counts from the start
	k.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		k.mu.Lock()
		k.seq++
		seq, last := k.seq, k.lastPong
		k.mu.Unlock()
		if time.Since(last) > timeout {
			return ErrNoPong
		}
		_ = k.Send(Event{Type: TypePing, Seq: seq, TS: time.Now().UnixMicro()})
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
