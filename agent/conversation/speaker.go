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
	ctx  context.Context // the turn: ends with a barge-in or the session
	pctx context.Context // the providers' time limit within the turn
	h    *Handler
	t    *turnRun
	m    *api.TurnMetrics
	in   chan string
	done chan struct{} // closed when every sentence has been synthesized or dropped

	err  error         // the first synthesis error; set before done closes
	last chan struct{} // closed when the last queued clip has been sent
}

func newSpeaker(ctx, pctx context.Context, h *Handler, t *turnRun, m *api.TurnMetrics) *speaker {
	s := &speaker{ctx: ctx, pctx: pctx, h: h, t: t, m: m, in: make(chan string, 64), done: make(chan struct{})}
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

// wait waits until every sentence has been synthesized and the audio queued
// so far has been sent, or the turn ends; it returns the synthesis error, if
// any (the sentences before it have been played).
func (s *speaker) wait() error {
	<-s.done
	if s.last != nil {
		select {
		case <-s.last:
		case <-s.ctx.Done():
		}
	}
	return s.err
}

func (s *speaker) run() {
	defer close(s.done)
	s.h.safely("speech", func() {
		first := true
		for text := range s.in {
			if s.err != nil || s.pctx.Err() != nil {
				continue // drain
			}
			start := time.Now()
			pcm, err := s.h.cfg.TTS.Synthesize(s.pctx, text)
			if first {
				s.m.TTSMS, first = ms(time.Since(start)), false
			}
			switch {
			case err != nil && s.ctx.Err() != nil:
				continue // interrupted
			case err != nil:
				s.err = err
				continue
			case len(pcm) == 0:
				continue
			}
			s.queue(text, pcm)
		}
	})
}

// queue puts one sentence's audio on the session's output, unless the turn
// has been interrupted, as two clips: its first 20 ms frame, whose done
// callback says the sentence has started playing, and the rest.
func (s *speaker) queue(text string, pcm []int16) {
	n := min(len(pcm), audio.FrameSamples)
	if !s.h.playIf(s.t, pcm[:n], func() { s.h.safely("playing", func() { s.playing(text) }) }) {
		return
	}
	last := make(chan struct{})
	if !s.h.playIf(s.t, pcm[n:], func() { close(last) }) {
		return
	}
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
		s.h.stateIf(s.t, api.StateSpeaking)
	}
}
