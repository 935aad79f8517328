package vad

import (
	"testing"

	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/testspeech"
)

// benchFrames feeds d one 20 ms frame of real speech per iteration and
// reports the cost as a fraction of real time (1 = one core busy all the
// time for one stream).
func benchFrames(b *testing.B, d Detector) {
	speech := testspeech.GoForward(b)
	frames := len(speech) / audio.FrameSamples
	i := 0
	for b.Loop() {
		d.IsSpeech(speech[i*audio.FrameSamples : (i+1)*audio.FrameSamples])
		i = (i + 1) % frames
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(audio.FrameDuration), "realtime/op")
}

// BenchmarkSilero costs a 20 ms frame: 320 samples at 16 kHz, so the network
// runs on 5 frames of every 8.
func BenchmarkSilero(b *testing.B) { benchFrames(b, newSilero(b)) }

func BenchmarkEnergy(b *testing.B) { benchFrames(b, NewEnergy()) }

// BenchmarkSileroParallel runs one detector per goroutine on the shared
// model, GOMAXPROCS of them, as concurrent sessions would.
func BenchmarkSileroParallel(b *testing.B) {
	m := testModel(b)
	speech := testspeech.GoForward(b)
	frames := len(speech) / audio.FrameSamples
	b.RunParallel(func(pb *testing.PB) {
		d, err := m.NewDetector()
		if err != nil {
			b.Error(err)
			return
		}
		defer d.Close()
		i := 0
		for pb.Next() {
			d.IsSpeech(speech[i*audio.FrameSamples : (i+1)*audio.FrameSamples])
			i = (i + 1) % frames
		}
	})
}
