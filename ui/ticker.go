package ui

import (
	"sync"
	"time"
)

// ticker runs a function every interval on its own goroutine until
// stopped: the avatar view's frame clock, which the self-view follows.
type ticker struct {
	mu      sync.Mutex
	stop    chan struct{}
	stopped chan struct{}
}

// start calls tick(now) every interval until stop; a second start while
// running does nothing.
func (t *ticker) start(interval time.Duration, tick func(now time.Time)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		return
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	t.stop, t.stopped = stop, stopped
	go func() {
		defer close(stopped)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tk.C:
				tick(now)
			}
		}
	}()
}

// halt ends the ticker and waits for its goroutine; safe to call twice.
func (t *ticker) halt() {
	t.mu.Lock()
	stop, stopped := t.stop, t.stopped
	t.stop = nil
	t.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
}
