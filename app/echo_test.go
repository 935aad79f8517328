package app

import (
	"context"
	"log/slog"
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
// first 5 s, and (with cancellation and bargeIn) did a person then talking
// over it for 15 s interrupt it, and how long after they started?
func echoRun(b testing.TB, cancel, bargeIn bool) (heardItself, interrupted bool, after time.Duration) {
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
	logs := &lockedBuffer{}
	a, err := New(Config{NoHistory: true, NoEchoCancellation: !cancel, Log: slog.New(slog.NewTextHandler(logs, nil)),
		Brain: brain.Config{LLMURL: srv.BaseURL(), LLMModel: "m", SystemPrompt: "-"}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	r := &recorder{ch: make(chan Status, 10000), logs: logs}
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
		logCall(b, a, logs, "heard itself")
	}
	if heardItself || !cancel || !bargeIn {
		a.Hangup()
		return heardItself, false, 0
	}
	// The person keeps talking for 15 s (Front_Center, 1.4 s, ten times),
	// as someone not heard at once would: if the echo moved just before,
	// the canceller mutes them with the echo until it has converged again.
	voice := testspeech.FrontCenter(b)
	start := time.Now()
	go pa.Speak(context.Background(), slices.Concat(slices.Repeat([][]int16{voice}, 10)...))
	end := start.Add(15 * time.Second)
	for time.Now().Before(end) && !interrupted {
		for _, l := range a.Status().Transcript {
			interrupted = interrupted || (l.Role == api.RoleAssistant && l.Interrupted)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !interrupted {
		logCall(b, a, logs, "not interrupted")
	}
	a.Hangup()
	return false, interrupted, time.Since(start)
}

// logCall logs why a run went wrong with the echo canceller's state, its
// changes and the conversation's turns from the log, and the transcript.
func logCall(b testing.TB, a *App, logs *lockedBuffer, what string) {
	a.mu.Lock()
	c := a.att.call
	a.mu.Unlock()
	b.Logf("%s; echo canceller %+v; log:", what, c.Metrics().Echo)
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "echo canceller") || strings.Contains(l, "component=conversation") || strings.Contains(l, "agent state") {
			b.Logf("  %s", l)
		}
	}
	b.Logf("transcript:")
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
// those 5 s interrupted it, and how long after they started (median and
// longest, in seconds).
func BenchmarkEchoOverRealDevices(b *testing.B) {
	var selfOn, selfOff, barged int
	var after []time.Duration
	for i := 0; i < b.N; i++ {
		h, in, d := echoRun(b, true, true)
		if h {
			selfOn++
		}
		if in {
			barged++
			after = append(after, d)
		}
		if h, _, _ := echoRun(b, false, false); h {
			selfOff++
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(selfOn)/n, "self-heard-on")
	b.ReportMetric(float64(selfOff)/n, "self-heard-off")
	b.ReportMetric(float64(barged)/n, "bargein-on")
	if len(after) > 0 {
		slices.Sort(after)
		b.ReportMetric(after[len(after)/2].Seconds(), "bargein-s-p50")
		b.ReportMetric(after[len(after)-1].Seconds(), "bargein-s-max")
	}
	b.ReportMetric(0, "ns/op")
}

// TestEchoOverRealDevices: under a user-mode PulseAudio whose speaker is
// looped back into the microphone, with echo cancellation the agent reading
// a story aloud does not hear itself for 5 s (no self-interruption, no
// transcript of its own words), and a person then talking over it
// interrupts it; without cancellation it hears itself.
// BenchmarkEchoOverRealDevices repeats it (docs/benchmarks.md).
func TestEchoOverRealDevices(t *testing.T) {
	heard, interrupted, after := echoRun(t, true, true)
	if heard {
		t.Fatal("with echo cancellation the agent heard itself")
	}
	if !interrupted {
		t.Fatal("with echo cancellation a person talking over the agent for 14 s did not interrupt it")
	}
	t.Logf("the person interrupted the agent %v after starting to talk", after.Round(10*time.Millisecond))
	if heard, _, _ := echoRun(t, false, false); !heard {
		t.Fatal("without echo cancellation the agent did not hear itself: the test's echo path is broken")
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
