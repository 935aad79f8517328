package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// TestEchoCancellationOverRealDevices: under a user-mode PulseAudio whose
// speaker is looped back into the microphone (module-loopback), the agent
// reads a long answer aloud. Without echo cancellation it hears itself:
// it interrupts itself or transcribes its own words. With it, it does
// neither for 5 s, and then a person speaking over it does interrupt it.
func TestEchoCancellationOverRealDevices(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("cancellation=%v", on), func(t *testing.T) {
			pa := pulsetest.StartWithEcho(t)
			pa.Setenv(t)
			srv := (&openaitest.Server{Reply: func(openaitest.ChatRequest) string {
				return "Once upon a time there was a small boat on a wide grey sea. " +
					"Every morning the fisherman rowed it out past the harbour wall. " +
					"He sang to the gulls while he worked, and the gulls sang back. " +
					"In the evening he rowed home with the sun behind him."
			}}).Start()
			defer srv.Close()
			a, err := New(Config{NoHistory: true, NoEchoCancellation: !on,
				Brain: brain.Config{LLMURL: srv.BaseURL(), LLMModel: "m", SystemPrompt: "-"}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			r := &recorder{ch: make(chan Status, 10000)}
			a.OnStatus(r.status, nil)
			a.Call()
			r.waitFor(t, call.InCall)
			time.Sleep(time.Second) // the devices settle
			if err := a.Send("tell me a story"); err != nil {
				t.Fatal(err)
			}
			if on {
				// Five seconds of the story, then the person speaks over it.
				deadline := time.Now().Add(20 * time.Second)
				for a.Status().AgentState != api.StateSpeaking && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(5 * time.Second)
				for _, l := range a.Status().Transcript {
					if l.Interrupted || (l.Role == api.RoleUser && l.Text != "tell me a story") {
						t.Fatalf("the agent heard itself within 5 s: %+v", a.Status().Transcript)
					}
				}
				go pa.Speak(context.Background(), append(testspeech.FrontCenter(t), testspeech.FrontCenter(t)...))
				cut := r.waitLine(t, "the interrupted story", func(l Line) bool { return l.Role == api.RoleAssistant })
				if !cut.Interrupted {
					t.Fatalf("a person speaking over the agent did not interrupt it: %+v", cut)
				}
				t.Logf("interrupted on purpose after: %q", cut.Text)
				return
			}
			reply := r.waitLine(t, "the story", func(l Line) bool { return l.Role == api.RoleAssistant })
			time.Sleep(1500 * time.Millisecond) // anything it heard of its own last words becomes a turn
			st := a.Status()
			var own []string
			for _, l := range st.Transcript {
				if l.Role == api.RoleUser && l.Text != "tell me a story" && l.Text != "" {
					own = append(own, l.Text)
				}
			}
			var echo call.EchoStats
			if c := a.currentCall(); c != nil {
				echo = c.Metrics().Echo
			}
			a.Hangup()
			heardItself := reply.Interrupted || len(own) > 0
			t.Logf("without cancellation: reply interrupted %v after %q, its own words heard as the caller's: %q; canceller %+v", reply.Interrupted, reply.Text, own, echo)
			if !heardItself {
				t.Fatalf("without echo cancellation the agent did not hear itself: the echo path does not work, so the test proves nothing")
			}
		})
	}
}

// TestEchoNotices: a divergence and a clock drift are each told once per
// call, in words.
func TestEchoNotices(t *testing.T) {
	var toldReset, toldDrift bool
	st := call.EchoStats{On: true}
	if m := echoNotice(st, st, &toldReset, &toldDrift); m != "" {
		t.Fatalf("nothing happened, told %q", m)
	}
	reset := st
	reset.Resets = 1
	if m := echoNotice(st, reset, &toldReset, &toldDrift); !strings.Contains(m, "lost track") {
		t.Fatalf("divergence told as %q", m)
	}
	again := reset
	again.Resets = 2
	if m := echoNotice(reset, again, &toldReset, &toldDrift); m != "" {
		t.Fatalf("told twice: %q", m)
	}
	drift := again
	drift.Drift = 1
	if m := echoNotice(again, drift, &toldReset, &toldDrift); !strings.Contains(m, "different speeds") {
		t.Fatalf("drift told as %q", m)
	}
}
