package agent

import (
	"github.com/parley-app/parley/agent/api"
)

// Capabilities the agent can announce in hello.
const (
	CapAudio  = "audio"  // the agent's voice, the caller's microphone
	CapAvatar = "avatar" // avatar and mouth events, assets under /v1/assets
)

// FaceFunc names the avatar's face image (its SHA-256 digest, lowercase
// hex) for an expression, "" when the pack has none.
type FaceFunc func(expression string) string

// mouthBatch is the most mouth samples one event carries: 2 s of audio, so
// the JSON around the samples (about 44 bytes) is paid once per 2 s.
const mouthBatch = 100

// Expressions per agent state (the avatar pack's names).
var stateExpression = map[string]string{
	api.StateListening: "listening",
	api.StateThinking:  "thinking",
	api.StateSpeaking:  "neutral",
}

func (s *session) capabilities() []string {
	caps := []string{CapAudio}
	if s.face != nil {
		caps = append(caps, CapAvatar)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.video != nil {
		caps = append(caps, CapVideo)
	}
	return caps
}

// avatarFor returns the avatar event that goes with a state event.
func (s *session) avatarFor(state string) (api.Event, bool) {
	expr, ok := stateExpression[state]
	if !ok || s.face == nil {
		return api.Event{}, false
	}
	return s.avatar(api.Event{Type: api.TypeAvatar, Expression: expr})
}

// avatar completes an avatar event with the face's digest; false if the
// session has no avatar or the pack lacks the expression.
func (s *session) avatar(e api.Event) (api.Event, bool) {
	if s.face == nil {
		return api.Event{}, false
	}
	if e.Asset == "" {
		e.Asset = s.face(e.Expression)
	}
	return e, e.Asset != ""
}

// mouthAhead returns the mouth event for the frame about to be sent and
// the queued frames after it (up to mouthBatch), stamped with the RTP
// timestamps they will be sent with, or nil when the caller already has
// this frame's mouth. Frames are announced once; a hold makes them due
// again (their timestamps change). Called with s.mu held, before the
// head clip's frame is taken.
func (s *session) mouthAhead() *api.Event {
	if s.noLips || len(s.queue) == 0 {
		return nil
	}
	if q := &s.queue[0]; q.told > q.sent || q.sent >= len(q.mouth) {
		return nil
	}
	var samples []api.MouthSample
	for i := range s.queue {
		q := &s.queue[i]
		from := max(q.told, q.sent)
		take := min(len(q.mouth)-from, mouthBatch-len(samples))
		if take <= 0 {
			break
		}
		samples = append(samples, q.mouth[from:from+take]...)
		q.told = from + take
		if q.told < len(q.mouth) {
			break
		}
	}
	return s.trimMouth(samples)
}

// trimMouth makes the event for samples starting at the frame about to be
// sent, leaving out closed samples at either end: the client shows a
// closed mouth for a frame it has no sample for. Only samples past every
// timestamp announced before are left out, so none can leave a stale
// sample (announced before a hold moved the audio) in place. It returns
// nil when nothing is left to send. Called with s.mu held.
func (s *session) trimMouth(samples []api.MouthSample) *api.Event {
	ts := func(i int) uint32 { return s.rtpTS + uint32(i)*api.MouthFrameTicks }
	fresh := func(i int) bool { return !s.mouthSent || int32(ts(i)-s.mouthUntil) >= 0 }
	end := len(samples)
	until := ts(end)
	for end > 0 && samples[end-1].Open == 0 && fresh(end-1) {
		end--
	}
	start := 0
	for start < end && samples[start].Open == 0 && fresh(start) {
		start++
	}
	if !s.mouthSent || int32(until-s.mouthUntil) > 0 {
		s.mouthUntil, s.mouthSent = until, true
	}
	if start == end {
		return nil
	}
	return &api.Event{Type: api.TypeMouth, RTP: ts(start), Mouth: api.EncodeMouth(samples[start:end])}
}
