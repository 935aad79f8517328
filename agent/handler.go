// Package agent is Parley's AI side: the HTTP signaling server, one isolated
// session per caller (its own peer connection, codecs, buffers and handler),
// and the Handler interface that the per-session logic implements.
package agent

import (
	"context"

	"github.com/parley-app/parley/agent/api"
)

// Handler is the per-session logic: what the agent does with what it hears.
// Its lifecycle follows FastRTC's AsyncStreamHandler: Start once when the
// session begins (make long-lived resources there), then light per-frame
// calls, then Stop once to release everything. A session calls OnAudio and
// OnEvent from one goroutine each; they must not block for long.
type Handler interface {
	// Start is called once with the session's output. ctx ends when the
	// session does.
	Start(ctx context.Context, out Output) error
	// OnAudio receives one 20 ms frame of the caller's voice: 960 samples of
	// 48 kHz mono int16, valid only during the call. Lost packets arrive as
	// silent frames.
	OnAudio(frame []int16)
	// OnEvent receives one event the client sent on the data channel.
	OnEvent(e api.Event)
	// Stop releases the handler's resources; no calls follow it.
	Stop()
}

// VideoHandler is an optional ability of a Handler (found by type
// assertion): a handler that has it also gets the caller's camera. Handlers
// without it cost nothing for video: its packets are read and dropped.
type VideoHandler interface {
	// OnVideo receives one complete VP8 frame (RFC 6386) as the caller
	// encoded it, with its RTP timestamp (90 kHz clock, RFC 7741). It is
	// called from one goroutine, not the audio one; frame is valid only
	// during the call. A keyframe has bit 0 of frame[0] clear.
	OnVideo(frame []byte, rtpTimestamp uint32)
}

// Output is how a handler speaks to its caller.
type Output interface {
	// PlayAudio queues pcm (48 kHz mono int16, any length) after what is
	// already queued; done, if not nil, is called once its last sample has
	// been sent, on the session's send goroutine: it must not block (the
	// caller's audio clock waits for it). Audio is sent in real time, one
	// 20 ms frame at a time.
	PlayAudio(pcm []int16, done func())
	// ClearAudio drops all queued audio (barge-in); pending done callbacks
	// are not called. It also ends a hold.
	ClearAudio()
	// HoldAudio(true) pauses the queued audio where it is (silence is sent
	// meanwhile); HoldAudio(false) resumes it. A handler holds the reply as
	// soon as the caller seems to start speaking, then either drops it
	// (barge-in) or resumes it (a cough).
	HoldAudio(hold bool)
	// Send sends an event on the data channel. Events sent before the
	// channel opens are kept (up to 64) and sent after the hello; it
	// returns an error once the session has ended.
	Send(e api.Event) error
}

// HandlerFunc makes a new Handler for each session.
type HandlerFunc func() Handler
