// Package headless runs a call without a window: a WAV file is the
// microphone, another WAV file records what the agent sends back, and the
// call's timings are measured. `parley call` and the end-to-end tests use it.
package headless

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/wavfile"
)

// ErrNoReply is returned when the agent did not answer before the timeout.
var ErrNoReply = errors.New("headless: the agent did not answer")

// Options describe one headless call.
type Options struct {
	Input    string        // WAV file played as the microphone (any PCM rate/channels)
	Output   string        // WAV file (48 kHz mono 16-bit) that records the agent; "" records nothing
	AgentURL string        // remote agent; "" starts the in-process agent (local mode)
	Token    string        // bearer token for AgentURL
	Timeout  time.Duration // how long to wait for the reply after the input ends; 0 means 15 s
	// Remote mode only: STUN/TURN servers (rtc.ParseICEServer syntax), and
	// whether to accept the agent's private, loopback and link-local
	// candidates (an agent on the same LAN).
	ICEServers   []string
	AllowPrivate bool
	// Local mode only: Echo serves the echo (each turn played back, for
	// measuring the media path) instead of the conversation, whose
	// providers Brain chooses.
	Echo  bool
	Brain brain.Config
	Log   *slog.Logger
}

// Line is one final transcript line of the call.
type Line struct {
	Role        string `json:"role"` // user or assistant
	Text        string `json:"text"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// Report is what a headless call measured. Times are in milliseconds.
type Report struct {
	Mode         string  `json:"mode"`           // "local" or "remote"
	ConnectMS    float64 `json:"connect_ms"`     // SDP offer created → peer connection connected
	FirstAudioMS float64 `json:"first_audio_ms"` // call start → first agent RTP packet
	// EchoDelayMS is the echo's round trip: from sending the input's first
	// sample to hearing the same audio back, found by cross-correlation. It
	// includes the utterance itself and the agent's end-of-turn pause.
	EchoDelayMS float64 `json:"echo_delay_ms"`
	// ResponseMS is the gap a person hears: end of their speech (last voiced
	// 20 ms frame sent) → start of the reply (first voiced frame played).
	ResponseMS float64 `json:"response_ms"`
	// Correlation is the normalised cross-correlation (NCC) of the reply with
	// the input at EchoDelayMS, both limited to the speech band (300–3400 Hz,
	// audio.SpeechBand); CorrelationFullBand is the same over the full band.
	Correlation         float64 `json:"correlation"`
	CorrelationFullBand float64 `json:"correlation_fullband"`
	InputMS             float64 `json:"input_ms"`  // length of the input
	OutputMS            float64 `json:"output_ms"` // length of the recording

	// The conversation (empty for the echo): the final transcript lines,
	// each turn's metrics as the agent sent them (voice_to_voice_ms added
	// by the client), and the agent's notices.
	Transcript []Line            `json:"transcript,omitempty"`
	Turns      []api.TurnMetrics `json:"turns,omitempty"`
	Notices    []string          `json:"notices,omitempty"`
	// VoiceToVoiceMS is the client's measure of the last turn: end of the
	// caller's speech captured → first reply frame played.
	VoiceToVoiceMS float64 `json:"voice_to_voice_ms,omitempty"`
}

// Run places one call and returns its report. It returns ErrNoReply when the
// agent does not echo, the input's load error, or the call's error.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	pcm, err := wavfile.Load(o.Input)
	if err != nil {
		return Report{}, err
	}
	start := time.Now()
	rep := Report{Mode: "remote", InputMS: samplesMS(len(pcm))}
	if o.AgentURL == "" {
		la, err := localagent.Start(o.Log, localagent.Options{Echo: o.Echo, Brain: o.Brain})
		if err != nil {
			return rep, err
		}
		defer la.Close()
		o.AgentURL, o.Token, rep.Mode = la.URL, la.Token, "local"
		if la.Problem != "" {
			rep.Notices = append(rep.Notices, la.Problem)
		}
	}
	factory, err := rtc.NewForAgent(o.AgentURL, o.ICEServers, o.AllowPrivate)
	if err != nil {
		return rep, err
	}
	mic := &tapSource{src: wavfile.NewSource(pcm)}
	rec := &recorder{}
	var sink audio.Sink = rec
	if o.Output != "" {
		ws, err := wavfile.CreateSink(o.Output, wavfile.UnpacedSink())
		if err != nil {
			return rep, err
		}
		defer ws.Abort() // no-op after a successful Close
		rec.next = ws
	}

	replied := make(chan struct{})
	var once sync.Once
	var spoke bool
	var evmu sync.Mutex
	c, err := call.Dial(ctx, call.Config{
		AgentURL: o.AgentURL, Token: o.Token, Factory: factory,
		Mic: mic, Speaker: sink, Log: o.Log, Start: start,
	}, call.Callbacks{OnEvent: func(e api.Event) {
		evmu.Lock()
		switch {
		case e.Type == api.TypeTranscript && e.Final:
			rep.Transcript = append(rep.Transcript, Line{Role: e.Role, Text: e.Text, Interrupted: e.Interrupted})
		case e.Type == api.TypeMetrics && e.Metrics != nil:
			rep.Turns = append(rep.Turns, *e.Metrics)
		case e.Type == api.TypeNotice:
			rep.Notices = append(rep.Notices, e.Message)
		}
		evmu.Unlock()
		if e.Type != api.TypeState {
			return
		}
		switch e.State {
		case api.StateSpeaking:
			spoke = true
		case api.StateListening:
			if spoke {
				once.Do(func() { close(replied) })
			}
		}
	}})
	if err != nil {
		return rep, err
	}
	wait := time.NewTimer(time.Duration(rep.InputMS)*time.Millisecond + o.Timeout)
	defer wait.Stop()
	select {
	case <-replied:
		select { // let the jitter buffer play the tail
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
		}
	case <-c.Done():
	case <-wait.C:
	case <-ctx.Done():
	}
	c.Hangup()
	m := c.Metrics()
	rep.ConnectMS, rep.FirstAudioMS = durMS(m.ConnectTime), durMS(m.FirstAudioTime)
	rep.VoiceToVoiceMS = durMS(m.VoiceToVoice)
	if err := c.Err(); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	out, playStart := rec.result()
	rep.OutputMS = samplesMS(len(out))
	if rec.next != nil {
		if err := rec.next.Close(); err != nil {
			return rep, err
		}
	}
	select {
	case <-replied:
	default:
		return rep, fmt.Errorf("%w within %v of the end of the input", ErrNoReply, o.Timeout)
	}
	sendStart := mic.startTime()
	if len(rep.Transcript) == 0 { // the echo: how faithful, how late
		lag, ncc := audio.BestLag(audio.SpeechBand(pcm), audio.SpeechBand(out))
		rep.Correlation = ncc
		rep.CorrelationFullBand = audio.NCC(pcm, out[lag:])
		rep.EchoDelayMS = durMS(playStart.Sub(sendStart)) + samplesMS(lag)
	}
	if end, ok := lastVoiced(pcm); ok {
		if start, ok := firstVoicedAfter(out, int(float64(end)-float64(playStart.Sub(sendStart))*audio.SampleRate/float64(time.Second))); ok {
			rep.ResponseMS = durMS(playStart.Sub(sendStart)) + samplesMS(start-end)
		}
	}
	return rep, nil
}

// voicedDB is the level above which a 20 ms frame counts as voice for the
// timing measurements (same scale as the agent's energy VAD).
const voicedDB = vad.DefaultThresholdDB

// lastVoiced returns the sample index just past the last voiced frame.
func lastVoiced(pcm []int16) (int, bool) {
	for i := len(pcm) / audio.FrameSamples; i > 0; i-- {
		f := pcm[(i-1)*audio.FrameSamples : i*audio.FrameSamples]
		if vad.LevelDB(f) > voicedDB {
			return i * audio.FrameSamples, true
		}
	}
	return 0, false
}

// firstVoicedAfter returns the start of the first voiced frame at or after
// sample from.
func firstVoicedAfter(pcm []int16, from int) (int, bool) {
	from = max(from, 0)
	for i := from; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		if vad.LevelDB(pcm[i:i+audio.FrameSamples]) > voicedDB {
			return i, true
		}
	}
	return 0, false
}

func samplesMS(n int) float64 { return float64(n) * 1000 / audio.SampleRate }

func durMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tapSource plays src, then silence until the call ends, and remembers when
// the first frame was taken.
type tapSource struct {
	src   audio.Source
	pacer audio.Pacer
	mu    sync.Mutex
	start time.Time
	eof   bool
}

func (t *tapSource) ReadFrame(ctx context.Context, f []int16) error {
	t.mu.Lock()
	eof := t.eof
	t.mu.Unlock()
	if !eof {
		err := t.src.ReadFrame(ctx, f)
		if err == nil {
			t.mu.Lock()
			if t.start.IsZero() {
				t.start = time.Now()
			}
			t.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		t.mu.Lock()
		t.eof = true
		t.mu.Unlock()
	}
	clear(f)
	return t.pacer.Wait(ctx)
}

func (t *tapSource) startTime() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.start
}

func (t *tapSource) Close() error { return t.src.Close() }

// recorder is the call's speaker: it keeps what was played in memory, paced
// in real time, and forwards it to an optional WAV sink.
type recorder struct {
	next  *wavfile.Sink
	pacer audio.Pacer
	mu    sync.Mutex
	pcm   []int16
	start time.Time
}

func (r *recorder) WriteFrame(ctx context.Context, f []int16) error {
	if err := r.pacer.Wait(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	if r.start.IsZero() {
		r.start = time.Now()
	}
	r.pcm = append(r.pcm, f...)
	r.mu.Unlock()
	if r.next != nil {
		return r.next.WriteFrame(ctx, f)
	}
	return nil
}

func (r *recorder) result() ([]int16, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pcm, r.start
}

func (r *recorder) Close() error { return nil }
