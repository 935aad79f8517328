package call_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/wavfile"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// discard is a speaker that plays nothing, paced in real time.
type discard struct{ p audio.Pacer }

func (d *discard) WriteFrame(ctx context.Context, _ []int16) error { return d.p.Wait(ctx) }
func (d *discard) Close() error                                    { return nil }

func startAgent(t testing.TB) *localagent.Agent {
	t.Helper()
	la, err := localagent.Start(nil, localagent.Options{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { la.Close() })
	return la
}

func TestDialHangup(t *testing.T) {
	la := startAgent(t)
	f, _ := rtc.NewLoopback()
	mic := wavfile.NewSource(make([]int16, audio.SampleRate)) // 1 s of silence
	var events []api.Event
	got := make(chan struct{}, 10)
	ended := make(chan error, 1)
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: la.URL, Token: la.Token, Factory: f, Mic: mic, Speaker: &discard{},
	}, call.Callbacks{
		OnEvent: func(e api.Event) { events = append(events, e); got <- struct{}{} },
		OnEnd:   func(err error) { ended <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no hello/state events from the agent")
		}
	}
	if events[0].Type != api.TypeHello || events[0].Version != api.ProtocolVersion {
		t.Fatalf("first event %+v, want hello v%d", events[0], api.ProtocolVersion)
	}
	if events[1].Type != api.TypeState || events[1].State != api.StateListening {
		t.Fatalf("second event %+v, want state listening", events[1])
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Metrics().FirstAudioTime == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m := c.Metrics()
	if m.ConnectTime <= 0 || m.FirstAudioTime <= 0 {
		t.Fatalf("metrics not measured: %+v", m)
	}
	t.Logf("connect %v, first audio %v", m.ConnectTime, m.FirstAudioTime)
	c.Hangup()
	c.Hangup() // idempotent
	if err := <-ended; err != nil {
		t.Fatalf("hang-up ended with %v", err)
	}
	if n := la.Sessions(); n != 0 {
		t.Fatalf("the agent still holds %d sessions after the hang-up", n)
	}
}

func TestDialErrors(t *testing.T) {
	la := startAgent(t)
	f, _ := rtc.NewLoopback()
	cfg := func(url, token string) call.Config {
		return call.Config{AgentURL: url, Token: token, Factory: f, Mic: wavfile.NewSource(nil), Speaker: &discard{}, Timeout: 3 * time.Second}
	}
	t.Run("wrong token", func(t *testing.T) {
		_, err := call.Dial(context.Background(), cfg(la.URL, "wrong"), call.Callbacks{})
		var se *signal.StatusError
		if !errors.As(err, &se) || se.Status != 401 || se.API.Code != api.CodeUnauthorized {
			t.Fatalf("err = %v, want a 401 StatusError", err)
		}
		if msg := call.Describe(err); !strings.Contains(msg, "token") {
			t.Fatalf("message for a person: %q", msg)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		_, err := call.Dial(context.Background(), cfg("http://127.0.0.1:1", la.Token), call.Callbacks{})
		if !errors.Is(err, signal.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable", err)
		}
		if msg := call.Describe(err); !strings.Contains(msg, "reach") {
			t.Fatalf("message for a person: %q", msg)
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		if _, err := call.Dial(context.Background(), cfg("ftp://x", "t"), call.Callbacks{}); err == nil {
			t.Fatal("ftp URL accepted")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := call.Dial(ctx, cfg(la.URL, la.Token), call.Callbacks{}); err == nil {
			t.Fatal("cancelled dial succeeded")
		}
	})
}

// TestAgentGoesAway: when the agent shuts down mid-call it says bye, and the
// call ends by itself with ErrAgentEnded and a sentence for a person.
func TestAgentGoesAway(t *testing.T) {
	la, err := localagent.Start(nil, localagent.Options{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := rtc.NewLoopback()
	ended := make(chan error, 1)
	hello := make(chan struct{}, 1)
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: la.URL, Token: la.Token, Factory: f,
		Mic: wavfile.NewSource(make([]int16, 30*audio.SampleRate)), Speaker: &discard{},
	}, call.Callbacks{
		OnEnd: func(err error) { ended <- err },
		OnEvent: func(e api.Event) {
			if e.Type == api.TypeHello {
				hello <- struct{}{}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup()
	<-hello
	time.Sleep(1500 * time.Millisecond) // a ping or two
	if rtt := c.Metrics().RTT; rtt <= 0 || rtt > time.Second {
		t.Fatalf("ping RTT = %v", rtt)
	} else {
		t.Logf("data-channel RTT %v", rtt)
	}
	start := time.Now()
	la.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, call.ErrAgentEnded) || !strings.Contains(call.Describe(err), "shutting down") {
			t.Fatalf("ended with %v (%q), want ErrAgentEnded", err, call.Describe(err))
		}
		t.Logf("noticed after %v: %s", time.Since(start), call.Describe(err))
	case <-time.After(15 * time.Second):
		t.Fatal("the call did not notice that the agent went away")
	}
}
