package sphinx_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/parley-app/parley/agent/provider"
	"github.com/parley-app/parley/agent/provider/sphinx"
)

// BenchmarkNew measures loading one decoder (acoustic model, 26 MB
// language model, dictionary) and freeing it: the cost of New, and of each
// decoder the pool adds.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		s, err := sphinx.New(sphinx.Config{MaxDecoders: 1})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/load")
}

// benchUtterance is LibriVox sentence 0870: 7.1 s of read speech.
func benchUtterance(b *testing.B) []int16 {
	return loadWAV16k(b, filepath.Join(testData, "librivox", "sense_and_sensibility_01_austen_64kb-0870.wav"))
}

// reportSpeed reports how many seconds of audio were decoded per second
// of wall time ("x-realtime"; above 1 is faster than real time) and its
// inverse, the real-time factor ("rtf", as PocketSphinx logs it as xRT).
func reportSpeed(b *testing.B, audioSeconds float64) {
	x := audioSeconds * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(x, "x-realtime")
	b.ReportMetric(1/x, "rtf")
}

// BenchmarkTranscribe decodes one utterance at a time on one decoder.
func BenchmarkTranscribe(b *testing.B) {
	pcm := benchUtterance(b)
	s, err := sphinx.New(sphinx.Config{MaxDecoders: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Transcribe(ctx, pcm); err != nil {
			b.Fatal(err)
		}
	}
	reportSpeed(b, float64(len(pcm))/provider.STTSampleRate)
}

// BenchmarkTranscribeParallel decodes from GOMAXPROCS goroutines with one
// decoder per CPU: the throughput of a server, in seconds of audio per
// second of wall time for the whole machine.
func BenchmarkTranscribeParallel(b *testing.B) {
	pcm := benchUtterance(b)
	s, err := sphinx.New(sphinx.Config{MaxDecoders: runtime.NumCPU()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Load every decoder before timing.
	warm := make(chan error)
	for range runtime.NumCPU() {
		go func() { _, err := s.Transcribe(ctx, pcm[:provider.STTSampleRate]); warm <- err }()
	}
	for range runtime.NumCPU() {
		if err := <-warm; err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Transcribe(ctx, pcm); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportSpeed(b, float64(len(pcm))/provider.STTSampleRate)
}
