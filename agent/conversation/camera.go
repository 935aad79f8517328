package conversation

import (
	"bytes"
	"errors"
	"image/jpeg"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-app/parley/media/vp8"
)

// CameraInterval is how often the caller's camera is sampled for a vision
// model: at most one JPEG per second.
const CameraInterval = time.Second

// JPEGQuality is the quality of the camera frame sent to a vision model
// (image/jpeg's 1–100 scale).
const JPEGQuality = 80

// camera decodes the caller's VP8 stream (libvpx through mediadevices) and
// keeps the latest frame as a JPEG, encoded at most once per
// CameraInterval. Every frame must be decoded — VP8 inter frames depend on
// the ones before — but only the sampled ones are encoded.
type camera struct {
	dec  *vp8.Decoder
	last time.Time

	mu   sync.Mutex
	shot []byte
	at   time.Time // when shot was taken
}

// CameraMaxAge is how old the latest frame may be and still go to the
// model: a camera that was turned off is not shown as it last was.
const CameraMaxAge = 5 * time.Second

// push decodes one VP8 frame (RFC 6386); called from one goroutine.
func (c *camera) push(frame []byte, log *slog.Logger) {
	if c.dec == nil {
		c.dec = vp8.NewDecoder()
	}
	img, err := c.dec.Decode(frame)
	if err != nil {
		if !errors.Is(err, vp8.ErrNoKeyframe) {
			log.Debug("camera: VP8 decode", "err", err)
		}
		return
	}
	if time.Since(c.last) < CameraInterval {
		return
	}
	c.last = time.Now()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		log.Debug("camera: JPEG", "err", err)
		return
	}
	c.mu.Lock()
	c.shot, c.at = b.Bytes(), time.Now()
	c.mu.Unlock()
}

// jpeg returns the latest sampled frame, or nil if there is none younger
// than CameraMaxAge.
func (c *camera) jpeg() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > CameraMaxAge {
		return nil
	}
	return c.shot
}

func (c *camera) close() {
	if c.dec != nil {
		_ = c.dec.Close()
		c.dec = nil
	}
}
