package call

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/vp8"
)

// Camera is a video source the call sends to the agent: a
// *camera.Source, or anything that gives frames the same way.
type Camera interface {
	// Read blocks until the next frame and returns it; the call encodes
	// it before the next Read and does not keep it. A 4:2:0 *image.YCbCr
	// (what camera.Source gives) is encoded without a copy. Read returns
	// ctx's error when the call stops reading, or another error once the
	// source has stopped.
	Read(ctx context.Context) (image.Image, error)
}

// ErrCallEnded is returned by SetCamera once the call has ended.
var ErrCallEnded = errors.New("call: the call has ended")

// CameraKeyFrameInterval is the longest time between two VP8 keyframes
// the camera sends, so that an agent that lost one (and asks for none)
// sees again within 4 s. A keyframe is also sent when the camera is turned
// on and whenever the agent asks (RTCP PLI or FIR).
const CameraKeyFrameInterval = 4 * time.Second

// CameraStats count what the call has sent of the camera.
type CameraStats struct {
	On        bool  // a camera is set (SetCamera, Config.Camera)
	Frames    int64 // VP8 frames sent
	KeyFrames int64 // of which keyframes
	Bytes     int64 // VP8 bytes sent (before RTP)
	// KeyFrameRequests counts the agent's RTCP PLI and FIR packets.
	KeyFrameRequests int64
}

// camSender is the call's camera: one VP8 track on the video transceiver,
// which also receives the agent's live video. The camera is switched by
// attaching the track to the transceiver's sender or detaching it, so
// turning it on or off mid-call needs no renegotiation.
type camSender struct {
	mu     sync.Mutex // serializes SetCamera; guards the fields below it
	track  *webrtc.TrackLocalStaticSample
	sender *webrtc.RTPSender
	bound  bool // track attached to sender
	src    Camera
	stop   context.CancelFunc // ends the running encode loop
	done   chan struct{}      // closed when it has ended

	// keyFrame: the agent asked for a keyframe; the counters: CameraStats.
	keyFrame                           atomic.Bool
	frames, keyFrames, bytes, requests atomic.Int64

	// The RTP clock, shared by the encode loops: the wall time of RTP
	// timestamp zero (relative to the track's first) and how far the
	// timestamps have advanced; only the running loop touches them.
	origin   time.Time
	advanced time.Duration
}

// addVideo adds the call's one video transceiver, send and receive: it
// sends the camera's VP8 track and receives the agent's live video
// (hybrid mode). It is negotiated in the offer whether or not a camera is
// on, and an agent answers it with its own video track.
func (c *Call) addVideo() error {
	track, err := webrtc.NewTrackLocalStaticSample(rtc.VP8Codec, "camera", "parley")
	if err != nil {
		return err
	}
	tr, err := c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return err
	}
	c.cam.track, c.cam.sender, c.cam.bound = track, tr.Sender(), true
	if c.addWorker() {
		go c.readCameraRTCP(tr.Sender())
	}
	return nil
}

// readCameraRTCP reads the agent's RTCP about the camera (which also lets
// pion's interceptors run) and notes its keyframe requests.
func (c *Call) readCameraRTCP(s *webrtc.RTPSender) {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.cam.requests.Add(1)
				c.cam.keyFrame.Store(true)
			}
		}
	}
}

// SetCamera switches the camera: on with src (the first frame sent is a
// keyframe), to another source, or off with nil. Off stops encoding and
// detaches the VP8 track, so no video RTP is sent (no black frames);
// nothing is renegotiated. The caller owns the sources: SetCamera stops
// reading the previous one before it returns, and never closes one. It
// returns ErrCallEnded once the call has ended, or pion's error if the
// track cannot be attached or detached.
func (c *Call) SetCamera(src Camera) error {
	c.cam.mu.Lock()
	defer c.cam.mu.Unlock()
	c.stopCamera()
	if c.ctx.Err() != nil {
		return ErrCallEnded
	}
	if s, ok := src.(*camera.Source); ok && s == nil {
		src = nil // a nil *camera.Source in the interface is "off" too
	}
	c.cam.src = src
	if src == nil {
		if c.cam.bound {
			if err := c.cam.sender.ReplaceTrack(nil); err != nil {
				return fmt.Errorf("call: camera off: %w", err)
			}
			c.cam.bound = false
		}
		return nil
	}
	if !c.cam.bound {
		if err := c.cam.sender.ReplaceTrack(c.cam.track); err != nil {
			c.cam.src = nil
			return fmt.Errorf("call: camera on: %w", err)
		}
		c.cam.bound = true
	}
	if !c.addWorker() {
		c.cam.src = nil
		return ErrCallEnded
	}
	ctx, stop := context.WithCancel(c.ctx)
	done := make(chan struct{})
	c.cam.stop, c.cam.done = stop, done
	go func() {
		defer c.wg.Done()
		defer close(done)
		c.sendCamera(ctx, src)
	}()
	return nil
}

// stopCamera ends the running encode loop and waits for it; called with
// cam.mu held.
func (c *Call) stopCamera() {
	if c.cam.stop != nil {
		c.cam.stop()
		<-c.cam.done
		c.cam.stop, c.cam.done = nil, nil
	}
}

// CameraStats returns what the call has sent of the camera so far.
func (c *Call) CameraStats() CameraStats {
	c.cam.mu.Lock()
	on := c.cam.src != nil
	c.cam.mu.Unlock()
	return CameraStats{
		On: on, Frames: c.cam.frames.Load(), KeyFrames: c.cam.keyFrames.Load(),
		Bytes: c.cam.bytes.Load(), KeyFrameRequests: c.cam.requests.Load(),
	}
}

// cameraPreset is the configured preset, camera.DefaultPreset if unset.
func (c *Call) cameraPreset() camera.Preset {
	p := c.cfg.CameraPreset
	if p.BitRate <= 0 || p.FrameRate <= 0 {
		return camera.DefaultPreset
	}
	return p
}

// sendCamera encodes src's frames with libvpx (a new encoder, so the first
// frame is a keyframe) at the preset's bit rate and writes them to the VP8
// track, until ctx ends or src stops. The encoder is made at the first
// frame's size (the preset's, from a camera.Source).
func (c *Call) sendCamera(ctx context.Context, src Camera) {
	p := c.cameraPreset()
	var enc *vp8.Encoder
	defer func() {
		if enc != nil {
			_ = enc.Close()
		}
	}()
	interval := p.FrameInterval()
	for {
		img, err := src.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("camera stopped; sending no video", "err", err)
			}
			return
		}
		at := time.Now()
		if enc == nil {
			w, h := img.Bounds().Dx()&^1, img.Bounds().Dy()&^1
			if w == 0 || h == 0 {
				w, h = p.Width, p.Height
			}
			enc, err = vp8.NewEncoder(vp8.Config{Width: w, Height: h, FrameRate: float64(p.FrameRate),
				BitRate: p.BitRate, KeyFrameInterval: int(CameraKeyFrameInterval / interval)})
			if err != nil {
				c.log.Error("camera: VP8 encoder; sending no video", "err", err)
				return
			}
			c.log.Info("camera on", "width", w, "height", h, "fps", p.FrameRate, "kbps", p.BitRate/1000)
		}
		if c.cam.keyFrame.Swap(false) {
			enc.ForceKeyFrame()
		}
		frame, err := enc.Encode(img)
		if err != nil {
			c.log.Warn("camera: VP8 encode", "err", err)
			continue
		}
		c.writeCamera(frame, at, interval)
	}
}

// writeCamera sends one VP8 frame captured at `at`, lasting interval. Its
// RTP timestamp is the capture time on the track's 90 kHz clock, or just
// after the previous frame's if that is later: after a pause (camera off,
// a stalled source) an empty sample first moves the clock on without
// sending a packet (pion's packetizer skips the time), so timestamps keep
// to the wall clock and sequence numbers stay gapless.
func (c *Call) writeCamera(frame []byte, at time.Time, interval time.Duration) {
	if c.cam.origin.IsZero() {
		c.cam.origin = at
	}
	if gap := at.Sub(c.cam.origin) - c.cam.advanced; gap > 0 {
		_ = c.cam.track.WriteSample(media.Sample{Duration: gap})
		c.cam.advanced += gap
	}
	c.cam.advanced += interval
	if err := c.cam.track.WriteSample(media.Sample{Data: frame, Duration: interval}); err != nil && c.ctx.Err() == nil {
		c.log.Debug("camera: write sample", "err", err)
	}
	c.cam.frames.Add(1)
	c.cam.bytes.Add(int64(len(frame)))
	if vp8.IsKeyFrame(frame) {
		c.cam.keyFrames.Add(1)
	}
}
