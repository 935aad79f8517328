//go:build !cgo

package sphinx

import (
	"fmt"

	"github.com/parley-app/parley/agent/provider"
)

// decoder stands in for the cgo binding in a build without cgo, where New
// always fails.
type decoder struct{}

func newDecoder(Config) (*decoder, error) {
	return nil, fmt.Errorf("%w: sphinx: this program was built without cgo, which libpocketsphinx needs", provider.ErrNotConfigured)
}

func (*decoder) decode([]int16, func() error) (string, error) { return "", ErrDecode }

func (*decoder) free() {}
