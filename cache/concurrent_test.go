package cache

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
)

// TestConcurrentUse runs puts, reads, GC, Verify and List at once on a
// store with a budget (run it with -race): every read returns the right
// bytes or ErrNotFound (evicted), and the index adds up at the end.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 20_000)
	blobs := make([][]byte, 40)
	for i := range blobs {
		blobs[i] = randBytes(1000+i, uint64(500+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				b := blobs[(i*7+w)%len(blobs)]
				d := Sum(b)
				switch i % 4 {
				case 0, 1:
					if _, err := s.Put(context.Background(), bytes.NewReader(b), d, 0); err != nil {
						errs <- err
					}
				case 2:
					got, err := s.ReadFile(d)
					if err != nil && !errors.Is(err, ErrNotFound) {
						errs <- err
					}
					if err == nil && !bytes.Equal(got, b) {
						errs <- errors.New("wrong bytes")
					}
				case 3:
					s.Has(d)
					s.List()
				}
				if w == 0 && i%50 == 0 {
					if _, err := s.GC(); err != nil {
						errs <- err
					}
					if rep, err := s.Verify(context.Background()); err != nil || len(rep.Corrupt) != 0 {
						errs <- errors.Join(err, errors.New("corrupt files found"))
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var sum int64
	for _, e := range s.List() {
		sum += e.Size
		if !s.Has(e.Digest) {
			t.Errorf("listed %s is not there", e.Digest.Short())
		}
	}
	if sum != s.Size() || s.Size() > 20_000+1100 {
		t.Fatalf("sizes add up to %d, Size %d, budget 20000", sum, s.Size())
	}
	if tmps := tempNames(t, dir); len(tmps) != 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
	if got := len(assetNames(t, dir)); got != len(s.List()) {
		t.Fatalf("%d files for %d entries", got, len(s.List()))
	}
}
