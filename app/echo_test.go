package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// echoRun is one story read aloud with the speaker looped back into the
// microphone (pulsetest.StartWithEcho): did the agent hear itself in the
// first 5 s, and (with cancellation) did a person speaking over it then
// interrupt it within 15 s?
func echoRun(b testing.TB, cancel bool) (heardItself, interrupted bool) {
	pa := pulsetest.StartWithEcho(b)
	pa.Setenv(b)
	srv := (&openaitest.Server{Reply: func(openaitest.ChatRequest) string {
		return "Once upon a time there was a small boat on a wide grey sea. " +
			"Every morning the fisherman rowed it out past the harbour wall. " +
			"He sang to the gulls while he worked, and the gulls sang back. " +
			"In the evening he rowed home with the sun behind him. " +
			"His daughter waited on the quay with a lamp and a warm loaf of bread. " +
			"Together they counted the fish and told each other about the day. " +
			"Then the lamp went out, the boat rocked on the tide, and the harbour slept."
	}}).Start()
	defer srv.Close()
	a, err := New(Config{NoHistory: true, NoEchoCancellation: !cancel,
		Brain: brain.Config{LLMURL: srv.BaseURL(), LLMModel: "m", SystemPrompt: "-"}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	r := &recorder{ch: make(chan Status, 10000)}
	a.OnStatus(r.status, nil)
	a.Call()
	r.waitFor(b, call.InCall)
	a.mu.Lock()
	_, duplex := a.att.mic.(*device.Duplex)
	a.mu.Unlock()
	if duplex != cancel {
		b.Fatalf("echo cancellation %v, one duplex device %v: want one duplex device exactly with echo cancellation", cancel, duplex)
	}
	time.Sleep(time.Second) // the devices settle
	if err := a.Send("tell me a story"); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.Status().AgentState != api.StateSpeaking && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	for _, l := range a.Status().Transcript {
		if l.Interrupted || (l.Role == api.RoleUser && l.Text != "tell me a story" && l.Text != "") {
			heardItself = true
		}
	}
	if heardItself && cancel {
		logCall(b, a, "heard itself")
	}
	if heardItself || !cancel {
		a.Hangup()
		return heardItself, false
	}
	// The person keeps talking for up to 15 s: if the echo moved just
	// before, the canceller mutes them with the echo until it has
	// re-learned (a second or two).
	voice := testspeech.FrontCenter(b)
	go pa.Speak(context.Background(), slices.Concat(voice, voice, voice, voice))
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) && !interrupted {
		for _, l := range a.Status().Transcript {
			interrupted = interrupted || (l.Role == api.RoleAssistant && l.Interrupted)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !interrupted {
		logCall(b, a, "not interrupted")
	}
	a.Hangup()
	return false, interrupted
}

// logCall logs why a run went wrong with the echo canceller's state and the
// transcript.
func logCall(b testing.TB, a *App, what string) {
	a.mu.Lock()
	c := a.att.call
	a.mu.Unlock()
	b.Logf("%s; echo canceller %+v; transcript:", what, c.Metrics().Echo)
	for _, l := range a.Status().Transcript {
		b.Logf("  %+v", l)
	}
}

// BenchmarkEchoOverRealDevices: under a user-mode PulseAudio whose speaker
// is looped back into the microphone (module-loopback), the agent reads a
// story aloud, b.N times with echo cancellation and b.N times without.
// Reported: the share of runs in which the agent heard itself within 5 s
// (interrupted itself or transcribed its own words), with and without,
// and with cancellation the share in which a person speaking over it after
// those 5 s interrupted it.
func BenchmarkEchoOverRealDevices(b *testing.B) {
	var selfOn, selfOff, barged int
	for i := 0; i < b.N; i++ {
		h, in := echoRun(b, true)
		if h {
			selfOn++
		}
		if in {
			barged++
		}
		if h, _ := echoRun(b, false); h {
			selfOff++
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(selfOn)/n, "self-heard-on")
	b.ReportMetric(float64(selfOff)/n, "self-heard-off")
	b.ReportMetric(float64(barged)/n, "bargein-on")
	b.ReportMetric(0, "ns/op")
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
