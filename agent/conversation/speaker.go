package conversation

import (
	"context"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/media/audio"
)

// speaker synthesizes a turn's sentences in order, one at a time, in a
// goroutine of its own, and queues each on the session's audio output as
// soon as it is ready: the first sentence plays while the model writes the
// next and while the next is being synthesized.
type speaker struct {
	ctx  context.Context
	h    *Handler
	t    *turnRun
	m    *api.TurnMetrics
	in   chan string
	done chan struct{} // closed when every sentence has been synthesized or dropped

	err     error         // the first synthesis error; set before done closes
	last    chan struct{} // closed when the last queued clip has been sent
	started bool
}

func newSpeaker(ctx context.Context, h *Handler, t *turnRun, m *api.TurnMetrics) *speaker {
	s := &speaker{ctx: ctx, h: h, t: t, m: m, in: make(chan string, 64), done: make(chan struct{})}
	go s.run()
	return s
}

// say queues a sentence ("" is ignored).
func (s *speaker) say(text string) {
	if text == "" {
		return
	}
	select {
	case s.in <- text:
	case <-s.ctx.Done():
	}
}

// close says no more sentences will come.
func (s *speaker) close() { close(s.in) }

// wait waits until every sentence has been synthesized and the last one's
// audio sent, or the turn's context ends; it returns the synthesis error,
// if any.
func (s *speaker) wait() error {
	<-s.done
	if s.err != nil || s.last == nil {
		return s.err
	}
	select {
	case <-s.last:
	case <-s.ctx.Done():
	}
	return nil
}

func (s *speaker) run() {
	defer close(s.done)
	first := true
	for text := range s.in {
		if s.err != nil || s.ctx.Err() != nil {
			continue // drain
		}
		start := time.Now()
		pcm, err := s.h.cfg.TTS.Synthesize(s.ctx, text)
		if first {
			s.m.TTSMS, first = ms(time.Since(start)), false
		}
		switch {
		case err != nil && s.ctx.Err() != nil:
			continue
		case err != nil:
			s.err = err
			continue
		case len(pcm) == 0:
			continue
		}
		s.queue(text, pcm)
	}
}

// queue puts one sentence's audio on the session's output as two clips: its
// first 20 ms frame, whose done callback says the sentence has started
// playing, and the rest.
func (s *speaker) queue(text string, pcm []int16) {
	n := min(len(pcm), audio.FrameSamples)
	s.h.out.PlayAudio(pcm[:n], func() { s.playing(text) })
	last := make(chan struct{})
	s.h.out.PlayAudio(pcm[n:], func() { close(last) })
	s.last = last
}

// playing runs on the session's send goroutine when a sentence's first
// frame has been sent.
func (s *speaker) playing(text string) {
	s.t.mu.Lock()
	s.t.spoken = append(s.t.spoken, text)
	first := !s.t.playing
	s.t.playing = true
	s.t.mu.Unlock()
	if first {
		s.m.FirstAudioMS = ms(time.Since(s.t.speechEnd))
		_ = s.h.out.Send(api.Event{Type: api.TypeState, State: api.StateSpeaking})
	}
}
