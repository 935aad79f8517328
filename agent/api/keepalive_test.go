package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestKeepalive wires two sides back to back: each answers the other, both
// measure an RTT; when one side goes quiet the other returns ErrNoPong.
func TestKeepalive(t *testing.T) {
	var a, b Keepalive
	quiet := make(chan struct{})
	a.Send = func(e Event) error { go b.Handle(e); return nil }
	b.Send = func(e Event) error {
		select {
		case <-quiet:
			return nil // b went away
		default:
		}
		go a.Handle(e)
		return nil
	}
	a.Interval, a.Timeout = 10*time.Millisecond, 100*time.Millisecond
	b.Interval, b.Timeout = 10*time.Millisecond, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	go b.Run(ctx)
	time.Sleep(100 * time.Millisecond)
	if a.RTT() <= 0 || b.RTT() <= 0 {
		t.Fatalf("RTT not measured: a %v, b %v", a.RTT(), b.RTT())
	}
	close(quiet)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNoPong) {
			t.Fatalf("Run returned %v, want ErrNoPong", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a silent peer was not noticed")
	}
	if (&Keepalive{Send: func(Event) error { return nil }}).Handle(Event{Type: TypeState}) {
		t.Fatal("a state event was taken for keepalive")
	}
}
