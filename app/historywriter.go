package app

import (
	"sync"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/history"
)

// historyWriter files final transcript lines into the history from a
// goroutine of its own, so a slow disk (each turn is fsynced) never holds
// up the call or the window.
type historyWriter struct {
	a    *App
	mu   sync.Mutex
	cond *sync.Cond
	q    []*history.Turn
	shut bool
	done chan struct{}
}

func newHistoryWriter(a *App) *historyWriter {
	w := &historyWriter{a: a, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

func (w *historyWriter) add(t *history.Turn) {
	if w.a.cfg.NoHistory {
		return
	}
	w.mu.Lock()
	if !w.shut {
		w.q = append(w.q, t)
		w.cond.Signal()
	}
	w.mu.Unlock()
}

// close files what is queued and stops the writer.
func (w *historyWriter) close() {
	w.mu.Lock()
	w.shut = true
	w.cond.Signal()
	w.mu.Unlock()
	<-w.done
}

func (w *historyWriter) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.q) == 0 && !w.shut {
			w.cond.Wait()
		}
		q := w.q
		w.q = nil
		shut := w.shut
		w.mu.Unlock()
		if len(q) > 0 {
			w.file(q)
		}
		if shut && len(q) == 0 {
			return
		}
	}
}

func (w *historyWriter) file(q []*history.Turn) {
	store, err := w.a.History()
	if err != nil {
		w.a.log.Warn("history unavailable: this call's turns are not kept", "err", err, "turns", len(q))
		return
	}
	for _, t := range q {
		if err := store.Append(t); err != nil {
			w.a.log.Warn("history: could not keep a turn", "err", err)
		}
	}
}

// historyTurn makes the history's record of a final transcript line.
func historyTurn(conv string, l Line) *history.Turn {
	role := history.RoleUser
	if l.Role == api.RoleAssistant {
		role = history.RoleAgent
	}
	t := &history.Turn{Conversation: conv, Role: role, Text: l.Text, Start: l.Start, End: l.End}
	if m := l.Metrics; m != nil {
		t.Metrics = map[string]float64{
			"end_of_turn_ms": m.EndOfTurnMS, "stt_ms": m.STTMS, "ttft_ms": m.TTFTMS,
			"tts_ms": m.TTSMS, "first_audio_ms": m.FirstAudioMS, "reply_ms": m.ReplyMS,
		}
		if m.VoiceToVoiceMS > 0 {
			t.Metrics["voice_to_voice_ms"] = m.VoiceToVoiceMS
		}
	}
	if l.Interrupted {
		t.Text += " …"
	}
	return t
}
