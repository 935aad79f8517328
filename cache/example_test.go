package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/parley-app/parley/cache"
)

// Store an asset under its digest, read it back verified, and see a wrong
// digest refused.
func ExampleStore() {
	dir, err := os.MkdirTemp("", "assets-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := cache.Open(dir, cache.Options{Budget: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	png := []byte("\x89PNG not really")
	d := cache.Sum(png)
	n, err := s.Put(context.Background(), bytes.NewReader(png), d, cache.MaxAssetSize)
	fmt.Println(n, err)

	b, err := s.ReadFile(d)
	fmt.Println(bytes.Equal(b, png), err)

	_, err = s.Put(context.Background(), bytes.NewReader([]byte("other bytes")), cache.Sum([]byte("x")), 100)
	fmt.Println(errors.Is(err, cache.ErrMismatch), s.Has(cache.Sum([]byte("x"))))

	_, err = cache.ParseDigest("not a digest")
	fmt.Println(errors.Is(err, cache.ErrBadDigest))
	// Output:
	// 15 <nil>
	// true <nil>
	// true false
	// true
}
