package call_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/wavfile"
)

// benchCalls is how many local calls one benchmark iteration places.
const benchCalls = 50

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p / 100 * float64(len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

// BenchmarkLocalConnect places 50 local-mode calls against one in-process
// agent, through the real HTTP signaling and loopback WebRTC, and reports
// p50/p95 of SDP offer → connected (connect) and of call start → first agent
// RTP packet (first_audio), in ms.
func BenchmarkLocalConnect(b *testing.B) {
	la := startAgent(b)
	f, err := rtc.NewLoopback()
	if err != nil {
		b.Fatal(err)
	}
	var connect, first []time.Duration
	for b.Loop() {
		for i := 0; i < benchCalls; i++ {
			c, err := call.Dial(context.Background(), call.Config{
				AgentURL: la.URL, Token: la.Token, Factory: f,
				Mic: wavfile.NewSource(make([]int16, audio.SampleRate)), Speaker: &discard{},
			}, call.Callbacks{})
			if err != nil {
				b.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for c.Metrics().FirstAudioTime == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			m := c.Metrics()
			if m.FirstAudioTime == 0 {
				b.Fatal("no agent audio within 5 s")
			}
			connect = append(connect, m.ConnectTime)
			first = append(first, m.FirstAudioTime)
			c.Hangup()
		}
	}
	b.ReportMetric(percentile(connect, 50), "connect_p50_ms")
	b.ReportMetric(percentile(connect, 95), "connect_p95_ms")
	b.ReportMetric(percentile(first, 50), "first_audio_p50_ms")
	b.ReportMetric(percentile(first, 95), "first_audio_p95_ms")
	b.ReportMetric(float64(len(connect)), "calls")
}
