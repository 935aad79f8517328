package sphinx

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/parley-app/parley/media/audio"
)

func (s *STT) loaded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// TestPoolGrowsOnDemand checks that New loads one decoder, that serial
// calls reuse it, that parallel calls load more up to MaxDecoders and no
// further, and that Close frees them all.
func TestPoolGrowsOnDemand(t *testing.T) {
	raw, err := os.ReadFile("/usr/share/pocketsphinx/test/data/goforward.raw")
	if err != nil {
		t.Fatal(err)
	}
	pcm := audio.DecodeS16LE(raw)
	long := slices.Concat(pcm, pcm, pcm) // 8 s: the calls below overlap

	s, err := New(Config{MaxDecoders: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.loaded(); n != 1 {
		t.Errorf("after New: %d decoders, want 1", n)
	}
	for range 3 {
		if _, err := s.Transcribe(context.Background(), pcm); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.loaded(); n != 1 {
		t.Errorf("after serial calls: %d decoders, want 1", n)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := s.Transcribe(context.Background(), long); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := s.loaded(); n != 2 {
		t.Errorf("after 4 parallel calls: %d decoders, want MaxDecoders = 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.loaded(); n != 0 {
		t.Errorf("after Close: %d decoders still loaded", n)
	}
}
