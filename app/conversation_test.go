package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/provider/openai/openaitest"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/history"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/media/device/pulsetest"
	"github.com/parley-app/parley/media/testspeech"
)

// waitLine waits for a final transcript line that matches.
func (r *recorder) waitLine(t *testing.T, what string, match func(Line) bool) Line {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case s := <-r.ch:
			for _, l := range s.Transcript {
				if l.Final && match(l) {
					return l
				}
			}
		case <-deadline:
			t.Fatalf("no %s line", what)
		}
	}
}

// TestConversationsAreKeptAndRemembered: two calls with the local agent
// over real (user-mode PulseAudio) devices, one spoken turn and typed ones.
// Every final line lands in the history with its latencies, an earlier
// sentence is found by two of its words, and in the second call the model
// is reminded of the first (memory), which the transcript shows.
func TestConversationsAreKeptAndRemembered(t *testing.T) {
	pa := pulsetest.Start(t)
	pa.Setenv(t)
	srv := (&openaitest.Server{Reply: func(r openaitest.ChatRequest) string {
		return "Noted: " + r.Messages[len(r.Messages)-1].Text
	}}).Start()
	defer srv.Close()
	dir := t.TempDir()
	a, r := startApp(t, Config{HistoryDir: dir, Memory: true, Brain: brain.Config{LLMURL: srv.BaseURL(), LLMModel: "llama3.2", SystemPrompt: "-"}})

	a.Call()
	r.waitFor(t, call.InCall)
	if err := pa.Speak(context.Background(), testspeech.GoForward(t)); err != nil {
		t.Fatal(err)
	}
	heard := r.waitLine(t, "spoken", func(l Line) bool { return l.Role == api.RoleUser })
	reply := r.waitLine(t, "reply", func(l Line) bool { return l.Role == api.RoleAssistant })
	if heard.Text != "go forward ten meters" || reply.Text != "Noted: go forward ten meters" || reply.Metrics == nil || reply.Metrics.STTMS <= 0 {
		t.Fatalf("heard %+v, reply %+v", heard, reply)
	}
	time.Sleep(500 * time.Millisecond)
	if err := a.Send("my sister lives in Lyon since last spring"); err != nil {
		t.Fatal(err)
	}
	r.waitLine(t, "typed reply", func(l Line) bool { return strings.HasPrefix(l.Text, "Noted: my sister") })
	a.Hangup()
	r.waitFor(t, call.Ended)

	a.Call()
	r.waitFor(t, call.InCall)
	if err := a.Send("where does my sister live?"); err != nil {
		t.Fatal(err)
	}
	mem := r.waitLine(t, "memory", func(l Line) bool { return l.Role == RoleMemory })
	r.waitLine(t, "second reply", func(l Line) bool { return strings.HasPrefix(l.Text, "Noted: where") })
	if !strings.Contains(mem.Text, "my sister lives in Lyon") {
		t.Fatalf("memory line %q", mem.Text)
	}
	chats := srv.Chats()
	last := chats[len(chats)-1].Messages
	if last[0].Role != "system" || !strings.Contains(last[0].Text, "my sister lives in Lyon") {
		t.Fatalf("the model was not reminded: %+v", last)
	}
	a.Hangup()
	r.waitFor(t, call.Ended)

	store, err := a.History()
	if err != nil {
		t.Fatal(err)
	}
	hits, err := store.Search(history.Query{Words: "sister Lyon"})
	if err != nil || len(hits) == 0 || hits[0].Text != "my sister lives in Lyon since last spring" {
		t.Fatalf("search: %+v, %v", hits, err)
	}
	convs, _ := store.Conversations()
	if len(convs) != 2 {
		t.Fatalf("%d conversations kept, want 2", len(convs))
	}
	turns, err := store.Conversation(hits[0].Conversation)
	if err != nil || len(turns) != 4 {
		t.Fatalf("first call kept %d turns (%v), want 4", len(turns), err)
	}
	if turns[0].Text != "go forward ten meters" || turns[1].Role != history.RoleAgent || turns[1].Metrics["stt_ms"] <= 0 {
		t.Fatalf("first turns %+v", turns[:2])
	}
}

// TestConfigureRestartsTheAgent: new settings restart the local agent with
// the chosen providers (shown in the status); bad ones are refused.
func TestConfigureRestartsTheAgent(t *testing.T) {
	srv := (&openaitest.Server{}).Start()
	defer srv.Close()
	a, err := New(Config{NoHistory: true, Brain: brain.Config{LLMURL: "http://127.0.0.1:9/v1", LLMModel: "first"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	<-a.Ready()
	if p := a.Status().Providers; !strings.Contains(p, "first @ 127.0.0.1:9") || !strings.HasPrefix(p, "pocketsphinx") {
		t.Fatalf("providers %q", p)
	}
	if err := a.Configure(Settings{LLMURL: "127.0.0.1:11434"}); err == nil {
		t.Fatal("an address without a scheme was accepted")
	}
	if err := a.Configure(Settings{LLMURL: srv.BaseURL(), LLMModel: "second"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(a.Status().Providers, "second @") {
		if time.Now().After(deadline) {
			t.Fatalf("providers still %q", a.Status().Providers)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigureKeepsTheAgent: settings that change only devices or sound
// leave the local agent running, from the first Configure on when the app
// was started from the saved settings (Config.Settings).
func TestConfigureKeepsTheAgent(t *testing.T) {
	saved := Settings{EndSilence: 700 * time.Millisecond}
	a, err := New(Config{NoHistory: true, Brain: saved.Brain(), Settings: &saved})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	<-a.Ready()
	running := func() (*localagent.Agent, chan struct{}) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.agent, a.ready
	}
	agent, ready := running()
	changed := saved
	changed.Mic, changed.NoEchoCancellation, changed.VideoPreset = "USB Headset", true, "320x240"
	if err := a.Configure(changed); err != nil {
		t.Fatal(err)
	}
	if ag, r := running(); ag != agent || r != ready {
		t.Fatal("changing the devices and sound restarted the agent")
	}
	changed.EndSilence = time.Second
	if err := a.Configure(changed); err != nil {
		t.Fatal(err)
	}
	<-a.Ready()
	if ag, _ := running(); ag == agent {
		t.Fatal("changing the end-of-turn pause did not restart the agent")
	}
}
