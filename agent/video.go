package agent

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/media/rtc"
)

// CapVideo in hello: the session has a live VP8 track to the caller
// (hybrid mode), because the caller's offer can receive video.
const CapVideo = "video"

// ErrNoVideo is returned by WriteVideo when the caller's offer had no video
// section it could receive on.
var ErrNoVideo = errors.New("agent: the caller does not receive video")

// VideoOutput is an optional ability of a handler's Output (found by type
// assertion): hybrid mode, a live low-resolution video track for what the
// avatar pack cannot show. The handler switches the caller's view with a
// media_mode event (api.ModeVideo, then api.ModeAssets to return to the
// preloaded avatar), sent with Output.Send.
type VideoOutput interface {
	// WriteVideo sends one VP8 frame (RFC 6386, e.g. from media/vp8)
	// lasting d on the agent's video track (RFC 7741, 90 kHz clock). It
	// returns ErrNoVideo if the caller cannot receive video.
	WriteVideo(frame []byte, d time.Duration) error
}

// offersVideoReceive reports whether an SDP offer has a video section the
// offerer receives on (sendrecv, the default, or recvonly).
func offersVideoReceive(offer string) bool {
	var d sdp.SessionDescription
	if d.UnmarshalString(offer) != nil {
		return false
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" || m.MediaName.Port.Value == 0 {
			continue
		}
		receives := true
		for _, a := range m.Attributes {
			if a.Key == "sendonly" || a.Key == "inactive" {
				receives = false
			}
		}
		if receives {
			return true
		}
	}
	return false
}

// addVideo gives the session its video track when the offer can receive
// one; called between SetRemoteDescription and CreateAnswer.
func (s *session) addVideo(offer string) error {
	if !offersVideoReceive(offer) {
		return nil
	}
	t, err := webrtc.NewTrackLocalStaticSample(rtc.VP8Codec, "agent-video", "parley-agent")
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	sender, err := s.pc.AddTrack(t)
	if err != nil {
		return fmt.Errorf("add video track: %w", err)
	}
	s.wg.Add(1)
	go func() { // read RTCP so pion's interceptors (NACK, reports) run
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	s.mu.Lock()
	s.video = t
	s.mu.Unlock()
	return nil
}

// WriteVideo implements VideoOutput.
func (s *session) WriteVideo(frame []byte, d time.Duration) error {
	s.mu.Lock()
	t := s.video
	s.mu.Unlock()
	if t == nil {
		return ErrNoVideo
	}
	if err := t.WriteSample(media.Sample{Data: frame, Duration: d}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("agent: write video: %w", err)
	}
	return nil
}
