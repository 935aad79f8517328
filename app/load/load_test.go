package load

import (
	"context"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/testspeech"
)

func TestQuantile(t *testing.T) {
	before := map[float64]float64{0.001: 5, 0.002: 5, math.Inf(1): 5}
	after := map[float64]float64{0.001: 55, 0.002: 105, math.Inf(1): 105} // 50 in (0,1ms], 50 in (1,2ms]
	if q := quantile(before, after, 0.5); math.Abs(q-0.001) > 1e-9 {
		t.Fatalf("p50 = %v, want 0.001", q)
	}
	if q := quantile(before, after, 0.75); math.Abs(q-0.0015) > 1e-9 {
		t.Fatalf("p75 = %v, want 0.0015", q)
	}
	if q := quantile(after, after, 0.5); q != 0 {
		t.Fatalf("no observations: %v", q)
	}
}

// TestStep runs a small load step against a real agent on loopback: every
// call connects, nothing is lost, and the agent's numbers are read.
func TestStep(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, err := agent.NewServer(agent.Config{Token: "t", Handler: echo.New(echo.Config{}), Factory: f})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	defer srv.Close()
	r, err := Step(context.Background(), Config{
		AgentURL: "http://" + ln.Addr().String(), Token: "t", Calls: 3, Duration: time.Second,
		Speech: testspeech.GoForward(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Connected != 3 || r.LossToAgentPercent > 1 || r.LossFromAgentPercent > 5 || r.FrameP99MS <= 0 || r.AgentRSSMiB <= 0 {
		t.Fatalf("result %+v", r)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Sessions() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left after the step", srv.Sessions())
		}
	}
}
