package echo

import (
	"context"
	"sync"
	"testing"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/vad"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

// output records what the handler plays and sends, and plays clips
// instantly.
type output struct {
	mu     sync.Mutex
	played []int16
	events []string
}

func (o *output) PlayAudio(pcm []int16, done func()) {
	o.mu.Lock()
	o.played = append(o.played, pcm...)
	o.mu.Unlock()
	if done != nil {
		done()
	}
}
func (o *output) ClearAudio()    {}
func (o *output) HoldAudio(bool) {}
func (o *output) Send(e api.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e.State)
	return nil
}

func feed(h *Handler, pcm []int16) {
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		h.OnAudio(pcm[i : i+audio.FrameSamples])
	}
}

func TestEchoesRealSpeechAfterPause(t *testing.T) {
	speech := testspeech.GoForward(t)
	h := New(Config{})().(*Handler)
	out := &output{}
	if err := h.Start(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	feed(h, make([]int16, audio.SampleRate/2))
	feed(h, speech)
	if len(out.played) != 0 {
		t.Fatal("replied before the pause")
	}
	feed(h, make([]int16, audio.SampleRate)) // 1 s of silence ends the turn
	if len(out.events) != 2 || out.events[0] != api.StateSpeaking || out.events[1] != api.StateListening {
		t.Fatalf("events %v, want [speaking listening]", out.events)
	}
	// The echo is a stretch of the recording (it starts at the pre-roll).
	padded := append(append([]int16{}, speech...), make([]int16, audio.SampleRate)...)
	lag, ncc := audio.BestLag(out.played, padded)
	if ncc < 0.99 {
		t.Fatalf("the echo is not the utterance: NCC %.3f", ncc)
	}
	t.Logf("echo starts %d ms into the recording, %d ms long", lag*1000/audio.SampleRate, len(out.played)*1000/audio.SampleRate)
	// The echo covers every voiced frame of the recording.
	first, last := -1, 0
	for i := 0; i+audio.FrameSamples <= len(speech); i += audio.FrameSamples {
		if vad.LevelDB(speech[i:i+audio.FrameSamples]) > vad.DefaultThresholdDB {
			if first < 0 {
				first = i
			}
			last = i + audio.FrameSamples
		}
	}
	if lag > first || lag+len(out.played) < last {
		t.Fatalf("echo covers samples %d..%d, speech is at %d..%d", lag, lag+len(out.played), first, last)
	}
}

func TestIgnoresBlipsAndSilence(t *testing.T) {
	h := New(Config{})().(*Handler)
	out := &output{}
	_ = h.Start(context.Background(), out)
	feed(h, make([]int16, 2*audio.SampleRate))
	blip := make([]int16, 3*audio.FrameSamples) // a 60 ms click, shorter than MinSpeech
	for i := range blip {
		blip[i] = int16((i%40 - 20) * 1000)
	}
	feed(h, blip)
	feed(h, make([]int16, audio.SampleRate))
	if len(out.played) != 0 || len(out.events) != 0 {
		t.Fatalf("echoed a blip or silence: %d samples, events %v", len(out.played), out.events)
	}
}
