// Package conversation is the agent's conversation pipeline, one Handler per
// caller (DESIGN.md, "Agent pipeline per session"):
//
//	48 kHz frames → VAD → turn detector (reply on pause, barge-in)
//	  → STT (16 kHz) → LLM (streamed; + latest camera frame; + context)
//	  → sentence chunker → TTS per sentence → the session's audio queue
//
// and transcript, state, interrupt and metrics events on the data channel.
// Each turn runs in its own goroutine under a context that barge-in
// cancels: the model's HTTP stream and speech synthesis stop, queued reply
// audio is dropped, and the client is told to drop what it holds.
package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/turn"
	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/audio"
)

// VAD classifies 20 ms frames of 48 kHz mono int16 (960 samples) as speech
// or not. vad.Energy and the Silero detector satisfy it.
type VAD interface {
	IsSpeech(frame []int16) bool
}

// Config makes conversation handlers.
type Config struct {
	STT provider.STT // required
	TTS provider.TTS // required
	// LLM answers; nil means the echo brain: the agent says back what it
	// heard and a notice says no language model is set up.
	LLM provider.LLM
	// NewVAD makes one caller's VAD; nil uses the energy VAD.
	NewVAD func() VAD
	// Notices are sent to every caller when the session starts (e.g. that
	// the VAD fell back to energy).
	Notices []api.Event

	// SystemPrompt starts every conversation's context ("" for none).
	SystemPrompt string
	// MinSpeech of speech starts a turn, and, while the agent is thinking
	// or speaking, interrupts it (barge-in); default 200 ms. A blip shorter
	// than that (a cough, a click) does neither.
	MinSpeech time.Duration
	// EndSilence of silence ends the caller's turn; default 600 ms.
	EndSilence time.Duration
	// HoldAfter of the caller's speech while the agent speaks pauses the
	// reply at once (default 40 ms); MinSpeech of it then interrupts, and
	// ResumeAfter of silence before that resumes the reply where it paused
	// (default 300 ms): a cough costs a short pause, not the answer.
	HoldAfter, ResumeAfter time.Duration
	// PreRoll is audio kept from before the turn started; default 300 ms.
	PreRoll time.Duration
	// MaxTurn is the longest utterance; longer ones are cut and answered;
	// default 30 s.
	MaxTurn time.Duration
	// MaxContext is how many past messages (besides the system prompt) go
	// to the model; default 40.
	MaxContext int
	// TurnTimeout bounds one turn's providers; default 60 s.
	TurnTimeout time.Duration
	// PartialEvery, if set, transcribes the caller's speech so far at this
	// interval while they speak and sends it as a partial user transcript
	// (worth it for a local STT; each costs a transcription).
	PartialEvery time.Duration
	// Recall, if set, is the model's memory: before each model call it is
	// asked for past turns relevant to the caller's words (a search of the
	// caller's history), which go to the model as context; the caller is
	// told when that happened. It should answer in milliseconds; it gets at
	// most RecallTimeout.
	Recall func(ctx context.Context, text string) ([]string, error)

	Log *slog.Logger
}

// DefaultEndSilence is the pause that ends a turn: inside the 500–800 ms
// range voice agents use (FastRTC's ReplyOnPause, LiveKit's turn detector).
const DefaultEndSilence = 600 * time.Millisecond

func (c Config) withDefaults() Config {
	if c.MinSpeech == 0 {
		c.MinSpeech = turn.DefaultMinSpeech
	}
	if c.EndSilence == 0 {
		c.EndSilence = DefaultEndSilence
	}
	if c.PreRoll == 0 {
		c.PreRoll = 300 * time.Millisecond
	}
	if c.HoldAfter == 0 {
		c.HoldAfter = 40 * time.Millisecond
	}
	if c.ResumeAfter == 0 {
		c.ResumeAfter = 300 * time.Millisecond
	}
	if c.MaxTurn == 0 {
		c.MaxTurn = 30 * time.Second
	}
	if c.MaxContext == 0 {
		c.MaxContext = 40
	}
	if c.TurnTimeout == 0 {
		c.TurnTimeout = 60 * time.Second
	}
	if c.NewVAD == nil {
		c.NewVAD = func() VAD { return vad.NewEnergy() }
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// New checks cfg and returns the factory of per-session handlers. It
// returns an error if the STT or TTS provider is missing.
func New(cfg Config) (agent.HandlerFunc, error) {
	if cfg.STT == nil || cfg.TTS == nil {
		return nil, fmt.Errorf("conversation: %w: a speech-to-text and a text-to-speech provider are required", provider.ErrNotConfigured)
	}
	cfg = cfg.withDefaults()
	return func() agent.Handler { return &Handler{cfg: cfg} }, nil
}

// Handler is one caller's conversation. It implements agent.Handler and
// agent.VideoHandler.
type Handler struct {
	cfg Config
	out agent.Output
	ctx context.Context

	// The audio goroutine's own state.
	vad        VAD
	turns      *turn.Detector
	utter      []int16 // 16 kHz: the current turn with pre-roll
	preRoll    int     // samples at 16 kHz
	lastSpeech time.Time
	speechRun  time.Duration // the caller's speech so far, without a pause
	silenceRun time.Duration // silence since the caller's last speech
	holding    bool          // the reply is paused (HoldAudio) for the caller
	barging    bool          // a turn started over the reply without MinSpeech of unbroken speech: not yet barge-in
	confirmed  bool          // the detector's current turn is a real turn (not blips over the reply)
	heardFor   time.Duration // audio in the current turn, for partial transcripts
	lastPart   time.Duration // heardFor at the last partial

	camera camera // the caller's latest camera frame

	partMu   sync.Mutex // orders partial transcripts before the final one
	partGen  int64      // bumped when a turn ends: older partials are dropped
	partBusy bool

	mu      sync.Mutex
	nextID  int64
	cur     *turnRun      // the turn being answered, nil when listening
	prev    chan struct{} // closed when the last turn's goroutine has ended
	history []provider.Message
	stopped bool
	wg      sync.WaitGroup
}

// turnRun is one turn being answered.
type turnRun struct {
	id        int64
	cancel    context.CancelFunc
	userText  string
	audio     []int16   // 16 kHz speech, nil for a typed message
	speechEnd time.Time // the caller's last speech frame arrived (or the text did)
	eot       time.Duration

	cut bool // MaxTurn cut the caller's utterance here: its continuation does not cancel it

	mu      sync.Mutex
	spoken  []string // sentences whose audio has started playing
	playing bool
	heard   bool // the caller's final transcript has been sent
}

const stt16 = audio.SampleRate / provider.STTSampleRate // 3: 48 kHz → 16 kHz

// Start implements agent.Handler.
func (h *Handler) Start(ctx context.Context, out agent.Output) error {
	h.ctx, h.out = ctx, out
	h.vad = h.cfg.NewVAD()
	h.turns = turn.NewDetector(audio.FrameDuration)
	h.turns.MinSpeech, h.turns.EndSilence = h.cfg.MinSpeech, h.cfg.EndSilence
	h.preRoll = int(h.cfg.PreRoll * provider.STTSampleRate / time.Second)
	h.prev = make(chan struct{})
	close(h.prev)
	if h.cfg.SystemPrompt != "" {
		h.history = []provider.Message{{Role: provider.RoleSystem, Text: h.cfg.SystemPrompt}}
	}
	for _, n := range h.cfg.Notices {
		_ = out.Send(n)
	}
	if h.cfg.LLM == nil {
		_ = out.Send(api.Event{Type: api.TypeNotice, Code: api.NoticeNoModel,
			Message: "No language model is set up, so the agent only repeats what it heard. Choose a model in Settings."})
	}
	_ = out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
	return nil
}

// OnAudio implements agent.Handler: one 20 ms frame of the caller.
func (h *Handler) OnAudio(frame []int16) {
	speech := h.vad.IsSpeech(frame)
	if speech {
		h.lastSpeech = time.Now()
		h.speechRun += audio.FrameDuration
		h.silenceRun = 0
	} else {
		h.speechRun = 0
		h.silenceRun += audio.FrameDuration
	}
	ev := h.turns.Push(speech)
	h.utter = downsample(h.utter, frame)
	h.partial(ev)
	switch {
	case ev == turn.Start && h.replying() && h.speechRun < h.cfg.MinSpeech:
		// MinSpeech of speech over the reply, but in pieces (two coughs):
		// barge in only once the caller speaks MinSpeech without a break.
		h.barging = true
	case ev == turn.Start:
		h.confirm()
	case ev == turn.EndOfTurn:
		confirmed := h.confirmed
		h.barging, h.confirmed = false, false
		// Keep 100 ms of the pause that ended the turn.
		trim := int((h.cfg.EndSilence - 100*time.Millisecond) * provider.STTSampleRate / time.Second)
		utter := h.utter[:max(len(h.utter)-trim, 0)]
		h.utter = nil
		if !confirmed { // blips over the reply (coughs, "mm-hm"): not a turn
			h.resume()
			break
		}
		h.begin(&turnRun{audio: utter, speechEnd: h.lastSpeech, eot: time.Since(h.lastSpeech)})
	case ev == turn.Discarded:
		h.barging, h.confirmed = false, false
	case h.turns.InTurn() && len(h.utter) >= int(h.cfg.MaxTurn*provider.STTSampleRate/time.Second):
		confirmed := h.confirmed
		h.turns.Reset()
		h.barging, h.confirmed = false, false
		utter := h.utter
		h.utter = nil
		if confirmed {
			h.begin(&turnRun{audio: utter, speechEnd: h.lastSpeech, cut: true})
		}
	case !h.turns.Active() && len(h.utter) > h.preRoll:
		h.utter = append(h.utter[:0], h.utter[len(h.utter)-h.preRoll:]...)
	}
	if h.barging && h.speechRun >= h.cfg.MinSpeech {
		h.barging = false
		h.confirm()
	}
	h.hold(speech)
}

// confirm makes the detector's turn a real one: barge-in if the agent was
// thinking or speaking. Words of an interrupted turn that was not yet
// transcribed are kept in front of the new utterance, so "what's the
// weather … in Paris" is one question.
func (h *Handler) confirm() {
	h.confirmed = true
	cancelled, carry := h.interrupt(true)
	if carry != nil {
		h.utter = append(carry, h.utter...)
	}
	if !cancelled {
		h.resume() // a hold with no reply left to drop
	}
	h.holding = false // ClearAudio ended it
}

// partial starts a transcription of the turn so far, every PartialEvery
// of the caller's turn, one at a time.
func (h *Handler) partial(ev turn.Event) {
	if h.cfg.PartialEvery <= 0 {
		return
	}
	if ev == turn.EndOfTurn || ev == turn.Discarded || !h.turns.InTurn() {
		if ev == turn.EndOfTurn || ev == turn.Discarded {
			h.partMu.Lock()
			h.partGen++ // the final transcript comes next: drop partials in flight
			h.partMu.Unlock()
		}
		h.heardFor, h.lastPart = 0, 0
		return
	}
	h.heardFor += audio.FrameDuration
	if h.heardFor-h.lastPart < h.cfg.PartialEvery {
		return
	}
	h.partMu.Lock()
	if h.partBusy {
		h.partMu.Unlock()
		return
	}
	h.partBusy = true
	gen := h.partGen
	h.partMu.Unlock()
	h.lastPart = h.heardFor
	pcm := append([]int16(nil), h.utter...)
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		h.partMu.Lock()
		h.partBusy = false
		h.partMu.Unlock()
		return
	}
	id := h.nextID + 1 // the id this turn will get when it ends
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		text, err := h.cfg.STT.Transcribe(h.ctx, pcm)
		h.partMu.Lock()
		defer h.partMu.Unlock()
		h.partBusy = false
		if err != nil || strings.TrimSpace(text) == "" || gen != h.partGen {
			return
		}
		_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: id, Role: api.RoleUser, Text: strings.TrimSpace(text)})
	}()
}

// hold pauses the reply as soon as the caller seems to speak over it, and
// resumes it if that was only a blip.
func (h *Handler) hold(speech bool) {
	switch {
	case !h.holding && speech && h.speechRun >= h.cfg.HoldAfter && h.replying():
		h.out.HoldAudio(true)
		h.holding = true
	case h.holding && !h.confirmed && h.silenceRun >= h.cfg.ResumeAfter:
		h.resume()
	}
}

// resume ends a hold, if any.
func (h *Handler) resume() {
	if h.holding {
		h.out.HoldAudio(false)
		h.holding = false
	}
}

// replying reports whether the agent's reply audio is playing.
func (h *Handler) replying() bool {
	h.mu.Lock()
	t := h.cur
	h.mu.Unlock()
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.playing
}

// downsample appends a 48 kHz frame to dst at 16 kHz, averaging each 3
// samples (a box filter: enough for speech recognition, whose band ends at
// 8 kHz; the Silero VAD averages the same way inside).
func downsample(dst, f []int16) []int16 {
	for i := 0; i+stt16 <= len(f); i += stt16 {
		dst = append(dst, int16((int(f[i])+int(f[i+1])+int(f[i+2]))/3))
	}
	return dst
}

// OnEvent implements agent.Handler: typed messages and the client's own
// interrupt (a button).
func (h *Handler) OnEvent(e api.Event) {
	switch e.Type {
	case api.TypeText:
		text := strings.TrimSpace(e.Text)
		if text == "" {
			return
		}
		h.interrupt(false)
		h.begin(&turnRun{userText: text, speechEnd: time.Now()})
	case api.TypeInterrupt:
		h.interrupt(false)
	}
}

// interrupt cancels the turn being answered, if any (barge-in), drops its
// queued audio and tells the client. For the caller's speech (bySpeech), a
// turn cut at MaxTurn that is not playing yet is left to be answered, and
// the audio of a turn not yet transcribed is returned to be said again.
func (h *Handler) interrupt(bySpeech bool) (cancelled bool, carry []int16) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.cur
	if t == nil {
		return false, nil
	}
	t.mu.Lock()
	playing, heard := t.playing, t.heard
	t.mu.Unlock()
	if bySpeech && t.cut && !playing {
		return false, nil
	}
	h.cur = nil
	t.cancel()
	h.out.ClearAudio()
	// Under h.mu, so nothing of t's (state speaking) can follow these.
	_ = h.out.Send(api.Event{Type: api.TypeInterrupt, Turn: t.id})
	if !heard && t.audio != nil {
		// Close the caller's partial line: its words go with the next turn.
		_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleUser, Final: true})
		if bySpeech && !playing {
			carry = t.audio
		}
	}
	_ = h.out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
	h.cfg.Log.Debug("barge-in", "turn", t.id)
	return true, carry
}

// begin answers a turn in a goroutine of its own, after the previous turn's
// goroutine has ended (so the context is updated in order).
func (h *Handler) begin(t *turnRun) {
	h.partMu.Lock()
	h.partGen++ // partials still in flight belong to no turn now
	h.partMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	if c := h.cur; c != nil && !c.cut { // a new turn replaces one still being answered
		c.cancel()
		h.out.ClearAudio()
		_ = h.out.Send(api.Event{Type: api.TypeInterrupt, Turn: c.id})
	}
	h.nextID++
	t.id = h.nextID
	var ctx context.Context
	ctx, t.cancel = context.WithCancel(h.ctx)
	h.cur = t
	prev, done := h.prev, make(chan struct{})
	h.prev = done
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(done)
		defer t.cancel()
		<-prev
		if ctx.Err() != nil {
			return // replaced before it began
		}
		h.safely("turn", func() { h.answer(ctx, t) })
		h.finish(t)
	}()
}

// safely runs f, turning a panic into a log line and a notice: a bug in
// one turn must not take the process (the desktop app) down.
func (h *Handler) safely(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			h.cfg.Log.Error("conversation: panic", "in", what, "panic", r, "stack", string(debug.Stack()))
			_ = h.out.Send(api.Event{Type: api.TypeNotice, Code: api.NoticeProvider,
				Message: fmt.Sprintf("Something went wrong inside the agent (%s): %v", what, r)})
		}
	}()
	f()
}

// stateIf sends a state event for t only while t is the turn being
// answered (a cancelled turn must not say "speaking" after "listening").
func (h *Handler) stateIf(t *turnRun, state string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == t {
		_ = h.out.Send(api.Event{Type: api.TypeState, State: state})
	}
}

// playIf queues pcm for t only while t is the turn being answered.
func (h *Handler) playIf(t *turnRun, pcm []int16, done func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != t {
		return false
	}
	h.out.PlayAudio(pcm, done)
	return true
}

// finish marks t as no longer being answered (unless a barge-in already
// did) and says the agent listens again.
func (h *Handler) finish(t *turnRun) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == t {
		h.cur = nil
		_ = h.out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
	}
}

// answer runs one turn: STT, the model, speech. ctx ends with a barge-in
// or the session; the providers also get TurnTimeout.
func (h *Handler) answer(ctx context.Context, t *turnRun) {
	m := api.TurnMetrics{EndOfTurnMS: ms(t.eot)}
	h.stateIf(t, api.StateThinking)
	pctx, pcancel := context.WithTimeout(ctx, h.cfg.TurnTimeout)
	defer pcancel()

	text := t.userText
	if t.audio != nil {
		start := time.Now()
		var err error
		text, err = h.cfg.STT.Transcribe(pctx, t.audio)
		m.STTMS = ms(time.Since(start))
		if err != nil {
			h.fail(ctx, t, "Speech recognition", h.cfg.STT.Name(), h.timedOut(err))
			return
		}
		if text = strings.TrimSpace(text); text == "" {
			h.cfg.Log.Debug("no words heard", "turn", t.id)
			h.closeUserLine(t)
			return
		}
	}
	if !h.heard(t, text) {
		return // interrupted meanwhile
	}

	user := provider.Message{Role: provider.RoleUser, Text: text}
	if h.cfg.LLM != nil && h.cfg.LLM.Vision() {
		user.Image = h.camera.jpeg()
	}
	h.mu.Lock()
	msgs := h.contextFor(user)
	h.mu.Unlock()
	if h.cfg.LLM != nil && h.cfg.Recall != nil {
		msgs = h.recall(ctx, t, text, msgs)
	}

	sp := newSpeaker(ctx, pctx, h, t, &m)
	var reply string
	var err error
	llmStart := time.Now()
	if h.cfg.LLM == nil {
		reply = "You said: " + text
		sp.say(reply)
	} else {
		var ch Chunker
		var sofar strings.Builder
		first := true
		reply, err = h.cfg.LLM.Stream(pctx, msgs, func(d string) {
			if first {
				m.TTFTMS, first = ms(time.Since(llmStart)), false
			}
			sofar.WriteString(d)
			_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleAssistant, Text: sofar.String()})
			for _, s := range ch.Push(d) {
				sp.say(s)
			}
		})
		if err == nil {
			sp.say(ch.Flush())
		}
	}
	m.ReplyMS = ms(time.Since(llmStart))
	sp.close()
	if serr := sp.wait(); err == nil {
		err = serr
	} else {
		err = fmt.Errorf("%w: %w", errLLM, err)
	}
	err = h.timedOut(err)
	spoken, interrupted := t.spokenText(), ctx.Err() != nil
	switch {
	case interrupted:
		// Barge-in or the session ended: remember what the caller heard.
		h.remember(user, spoken, true)
		_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleAssistant, Text: spoken, Final: true, Interrupted: true})
		return
	case err != nil:
		h.remember(user, spoken, spoken != "")
		if errors.Is(err, errLLM) {
			h.fail(ctx, t, "Language model", h.cfg.LLM.Name(), err)
		} else {
			h.fail(ctx, t, "Speech synthesis", h.cfg.TTS.Name(), err)
		}
		return
	}
	h.remember(user, reply, false)
	// Metrics first, so a client can file them with the final line.
	_ = h.out.Send(api.Event{Type: api.TypeMetrics, Turn: t.id, Metrics: &m})
	_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleAssistant, Text: strings.TrimSpace(reply), Final: true})
}

// heard sends the caller's final transcript for t, unless t was
// interrupted; it reports whether it did.
func (h *Handler) heard(t *turnRun, text string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != t {
		return false
	}
	t.mu.Lock()
	t.heard = true
	t.mu.Unlock()
	_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleUser, Text: text, Final: true})
	return true
}

// closeUserLine ends the caller's partial line of a turn that had no words.
func (h *Handler) closeUserLine(t *turnRun) {
	_ = h.out.Send(api.Event{Type: api.TypeTranscript, Turn: t.id, Role: api.RoleUser, Final: true})
}

// timedOut rewords a provider's deadline as the turn's time limit.
func (h *Handler) timedOut(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v", h.cfg.TurnTimeout)
	}
	return err
}

// RecallTimeout bounds the memory search before a model call.
const RecallTimeout = 300 * time.Millisecond

// recall adds what the memory found to the model's context, after the
// system prompt, and tells the caller.
func (h *Handler) recall(ctx context.Context, t *turnRun, text string, msgs []provider.Message) []provider.Message {
	rctx, cancel := context.WithTimeout(ctx, RecallTimeout)
	defer cancel()
	type result struct {
		found []string
		err   error
	}
	ch := make(chan result, 1)
	h.mu.Lock()
	h.wg.Add(1) // Stop waits for a search that outlives its turn
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		var r result
		h.safely("memory", func() { r.found, r.err = h.cfg.Recall(rctx, text) })
		ch <- r
	}()
	var found []string
	select {
	case r := <-ch:
		if r.err != nil {
			h.cfg.Log.Warn("memory search failed", "err", r.err)
			return msgs
		}
		found = r.found
	case <-rctx.Done():
		h.cfg.Log.Warn("memory search took too long: the model goes without it", "limit", RecallTimeout)
		return msgs
	}
	if len(found) == 0 {
		return msgs
	}
	note := provider.Message{Role: provider.RoleSystem, Text: "From earlier conversations with this person (use only if relevant):\n- " + strings.Join(found, "\n- ")}
	at := 0
	if len(msgs) > 0 && msgs[0].Role == provider.RoleSystem {
		at = 1
	}
	msgs = append(msgs[:at:at], append([]provider.Message{note}, msgs[at:]...)...)
	what := "thing"
	if len(found) > 1 {
		what = "things"
	}
	_ = h.out.Send(api.Event{Type: api.TypeNotice, Code: api.NoticeMemory, Turn: t.id,
		Message: fmt.Sprintf("Remembered %d %s from earlier conversations: %s", len(found), what, strings.Join(found, " · "))})
	return msgs
}

// contextFor returns the messages for the model: the system prompt, the
// last MaxContext messages and the new user message. h.mu is held.
func (h *Handler) contextFor(user provider.Message) []provider.Message {
	var msgs []provider.Message
	past := h.history
	if len(past) > 0 && past[0].Role == provider.RoleSystem {
		msgs, past = append(msgs, past[0]), past[1:]
	}
	if len(past) > h.cfg.MaxContext {
		past = past[len(past)-h.cfg.MaxContext:]
	}
	msgs = append(msgs, past...)
	return append(msgs, user)
}

// remember adds a finished exchange to the context (images are not kept:
// only the newest camera frame goes to the model).
func (h *Handler) remember(user provider.Message, reply string, cut bool) {
	user.Image = nil
	if cut && reply != "" {
		reply += " …"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.history = append(h.history, user)
	if reply != "" {
		h.history = append(h.history, provider.Message{Role: provider.RoleAssistant, Text: reply})
	}
	// Keep memory bounded: the system prompt plus twice what goes out.
	if n := len(h.history); n > 2*h.cfg.MaxContext+1 {
		keep := h.history[n-2*h.cfg.MaxContext:]
		if h.history[0].Role == provider.RoleSystem {
			h.history = append([]provider.Message{h.history[0]}, keep...)
		} else {
			h.history = append([]provider.Message(nil), keep...)
		}
	}
}

// fail tells the caller, in writing and (if speech works) aloud, that a
// provider failed; the session goes on.
func (h *Handler) fail(ctx context.Context, t *turnRun, stage, name string, err error) {
	if ctx.Err() != nil {
		return // interrupted, not failed
	}
	h.cfg.Log.Warn("turn failed", "turn", t.id, "stage", stage, "provider", name, "err", err)
	_ = h.out.Send(api.Event{Type: api.TypeNotice, Code: api.NoticeProvider, Turn: t.id,
		Message: fmt.Sprintf("%s (%s) failed: %v", stage, name, err)})
	if stage == "Speech synthesis" {
		return
	}
	sorry := "Sorry, my " + strings.ToLower(stage) + " is not working right now."
	pcm, serr := h.cfg.TTS.Synthesize(ctx, sorry)
	if serr != nil || len(pcm) == 0 {
		return
	}
	done := make(chan struct{})
	if !h.playIf(t, pcm, func() { close(done) }) {
		return
	}
	h.stateIf(t, api.StateSpeaking)
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// OnVideo implements agent.VideoHandler: it keeps the caller's latest
// camera frame for vision models.
func (h *Handler) OnVideo(frame []byte, _ uint32) {
	if h.cfg.LLM == nil || !h.cfg.LLM.Vision() {
		return
	}
	h.camera.push(frame, h.cfg.Log)
}

// Stop implements agent.Handler: it cancels the turn being answered and
// waits for its goroutine.
func (h *Handler) Stop() {
	h.mu.Lock()
	h.stopped = true
	if h.cur != nil {
		h.cur.cancel()
		h.cur = nil
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.camera.close()
	if c, ok := h.vad.(interface{ Close() error }); ok {
		_ = c.Close() // Silero detectors hold native memory
	}
}

func (t *turnRun) spokenText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.spoken, " ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var errLLM = errors.New("no answer")
