package headless

import (
	"context"
	"slices"
	"testing"

	"github.com/parley-app/parley/media/testspeech"
)

// BenchmarkEchoRoundTrip places local calls that send "go forward ten
// meters" and reports the median of: the echo's round trip (input sent →
// same audio heard back, by cross-correlation; includes the 2.8 s utterance
// and the 500 ms end-of-turn pause), the response gap (end of speech → reply
// audible) and the reply's speech-band NCC. Each call takes ~6 s of real
// time, so run it with -benchtime Nx.
func BenchmarkEchoRoundTrip(b *testing.B) {
	in := testspeech.GoForwardWAV(b)
	var echo, resp, ncc []float64
	for b.Loop() {
		rep, err := Run(context.Background(), Options{Input: in, Echo: true})
		if err != nil {
			b.Fatal(err)
		}
		echo = append(echo, rep.EchoDelayMS)
		resp = append(resp, rep.ResponseMS)
		ncc = append(ncc, rep.Correlation)
	}
	med := func(x []float64) float64 { s := slices.Clone(x); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(med(echo), "echo_ms")
	b.ReportMetric(med(resp), "response_ms")
	b.ReportMetric(med(ncc), "ncc")
}
