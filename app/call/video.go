package call

import (
	"image"
	"sync"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/vp8"
)

// liveVideo keeps the latest frame of the agent's live VP8 track (hybrid
// mode). The agent answers the call's send-and-receive video transceiver
// (addVideo, camera.go) with that track; the same transceiver sends the
// caller's camera.
type liveVideo struct {
	mu     sync.Mutex
	frame  *image.YCbCr
	at     time.Time
	frames int
}

// readVideo decodes the agent's VP8 track into c.video, frame by frame.
func (c *Call) readVideo(tr *webrtc.TrackRemote) {
	dec := vp8.NewDecoder()
	defer dec.Close()
	sb := samplebuilder.New(100, &codecs.VP8Packet{}, rtc.VP8Codec.ClockRate) // up to 100 packets of reordering
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			if rtc.IsClosed(err) || c.ctx.Err() != nil {
				return
			}
			continue
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			img, err := dec.Decode(s.Data)
			if err != nil {
				c.log.Debug("agent video", "err", err)
				continue
			}
			c.video.mu.Lock()
			c.video.frame, c.video.at = vp8.Copy(img), time.Now()
			c.video.frames++
			c.video.mu.Unlock()
		}
	}
}

// Video returns the latest frame of the agent's live video (hybrid mode)
// and when it arrived; nil before the first frame. The agent says when to
// show it with a media_mode event.
func (c *Call) Video() (image.Image, time.Time) {
	c.video.mu.Lock()
	defer c.video.mu.Unlock()
	if c.video.frame == nil {
		return nil, time.Time{}
	}
	return c.video.frame, c.video.at
}
