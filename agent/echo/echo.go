// Package echo is the agent's echo handler, in the spirit of FastRTC's
// ReplyOnPause: it collects the caller's speech and, once the caller pauses
// (energy VAD; a turn needs 200 ms of speech and ends after 500 ms of
// silence), plays the utterance back. It proves the whole media path: what
// you hear is what the agent heard.
package echo

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/turn"
	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/audio"
)

// Config tunes reply-on-pause.
type Config struct {
	MinSpeech  time.Duration // speech that starts a turn (default 200 ms)
	EndSilence time.Duration // silence that ends it (default 500 ms)
	PreRoll    time.Duration // audio kept from before the turn started (default 300 ms)
	MaxTurn    time.Duration // longest utterance kept (default 30 s); longer turns are cut and echoed
	Log        *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MinSpeech == 0 {
		c.MinSpeech = turn.DefaultMinSpeech
	}
	if c.EndSilence == 0 {
		c.EndSilence = turn.DefaultEndSilence
	}
	if c.PreRoll == 0 {
		c.PreRoll = 300 * time.Millisecond
	}
	if c.MaxTurn == 0 {
		c.MaxTurn = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// tail is how much of the end-of-turn silence the echo keeps.
const tail = 100 * time.Millisecond

// New returns an agent.HandlerFunc that makes echo handlers with cfg.
func New(cfg Config) agent.HandlerFunc {
	cfg = cfg.withDefaults()
	return func() agent.Handler { return &Handler{cfg: cfg} }
}

// Handler echoes each of the caller's turns back after the pause that ends it.
type Handler struct {
	cfg Config
	out agent.Output

	vad     *vad.Energy
	turns   *turn.Detector
	utter   []int16 // the current turn, with pre-roll
	preRoll int     // samples of pre-roll to keep

	mu       sync.Mutex
	speaking bool
}

// Start implements agent.Handler.
func (h *Handler) Start(_ context.Context, out agent.Output) error {
	h.out = out
	h.vad = vad.NewEnergy()
	h.turns = turn.NewDetector(audio.FrameDuration)
	h.turns.MinSpeech, h.turns.EndSilence = h.cfg.MinSpeech, h.cfg.EndSilence
	h.preRoll = int(h.cfg.PreRoll * audio.SampleRate / time.Second)
	return nil
}

// OnAudio implements agent.Handler. While it plays a reply back it does not
// listen (the echo has no barge-in).
func (h *Handler) OnAudio(frame []int16) {
	h.mu.Lock()
	speaking := h.speaking
	h.mu.Unlock()
	if speaking {
		return
	}
	ev := h.turns.Push(h.vad.IsSpeech(frame))
	h.utter = append(h.utter, frame...)
	switch {
	case ev == turn.EndOfTurn:
		// Drop the pause that ended the turn, but for a short tail.
		trim := int((h.cfg.EndSilence - tail) * audio.SampleRate / time.Second)
		h.reply(h.utter[:max(len(h.utter)-trim, 0)])
		h.utter = nil
	case h.turns.InTurn() && len(h.utter) >= int(h.cfg.MaxTurn*audio.SampleRate/time.Second):
		h.turns.Reset()
		h.reply(h.utter)
		h.utter = nil
	case !h.turns.Active() && len(h.utter) > h.preRoll:
		// Nothing pending: keep only the pre-roll.
		h.utter = append(h.utter[:0], h.utter[len(h.utter)-h.preRoll:]...)
	}
}

func (h *Handler) reply(utter []int16) {
	h.mu.Lock()
	h.speaking = true
	h.mu.Unlock()
	h.cfg.Log.Debug("echoing turn", "ms", len(utter)*1000/audio.SampleRate)
	_ = h.out.Send(api.Event{Type: api.TypeState, State: api.StateSpeaking})
	h.out.PlayAudio(utter, func() {
		h.mu.Lock()
		h.speaking = false
		h.mu.Unlock()
		_ = h.out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
	})
}

// OnEvent implements agent.Handler; the echo ignores client events.
func (h *Handler) OnEvent(api.Event) {}

// Stop implements agent.Handler.
func (h *Handler) Stop() {}
