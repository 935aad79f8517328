package sphinx

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/parley-app/parley/media/audio"
	)

func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range splitLines(string(b)) {
		if len(l) > 6 && l[:6] == "VmRSS:" {
			return l
		}
	}
	return ""
}
func splitLines(s string) []string {
	var out []string
	st := 0
	for i := range s {
		if s[i] == '\n' {
			out = append(out, s[st:i])
			st = i + 1
		}
	}
	return out
}

func TestScratch(t *testing.T) {
	t.Log(rss())
	t0 := time.Now()
	s, err := New(Config{MaxDecoders: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("load", time.Since(t0), rss())
	b, _ := os.ReadFile("/usr/share/pocketsphinx/test/data/goforward.raw")
	pcm := audio.DecodeS16LE(b)
	t0 = time.Now()
	h, err := s.Transcribe(context.Background(), pcm)
	t.Log(h, err, time.Since(t0), float64(len(pcm))/16000)
	for _, f := range []string{"0870", "0880", "0890", "0920", "0930"} {
		wb, err := os.ReadFile("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-" + f + ".wav")
		if err != nil {
			t.Fatal(err)
		}
		p := audio.DecodeS16LE(wb[44:])
		t0 = time.Now()
		h, err := s.Transcribe(context.Background(), p)
		t.Log(f, h, err, time.Since(t0), float64(len(p))/16000)
	}
	// end_utt cost after partial
	b2, _ := os.ReadFile("/usr/share/pocketsphinx/test/data/numbers.raw")
	pn := audio.DecodeS16LE(b2)
	h, err = s.Transcribe(context.Background(), pn)
	t.Log("numbers", h, err, float64(len(pn))/16000)
	d := <-s.idle
	n := 0
	t0 = time.Now()
	var tc time.Time
	_, err = d.decode(pn, func() error {
		n++
		if n == 8 {
			tc = time.Now()
			return context.Canceled
		}
		return nil
	})
	t.Log("cancel at chunk 8", err, time.Since(tc), time.Since(t0))
	s.idle <- d
	h, err = s.Transcribe(context.Background(), pcm)
	t.Log("after cancel", h, err)
	s.Close()
	runtime.GC()
	t.Log(rss())
}
