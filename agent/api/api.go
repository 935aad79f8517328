// Package api holds the wire types that the Parley client and agent share:
// signaling paths and errors, and the events on the `parley` data channel.
// docs/protocol.md describes the protocol; ProtocolVersion names it.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ProtocolVersion is sent in the hello event. Version 1: HTTP signaling with
// non-trickle SDP offer/answer, events hello/state/error/ping/pong/bye.
// Version 2 adds the conversation: transcript, text, interrupt, metrics and
// notice. Version 3 adds the avatar: the asset endpoints and the avatar,
// mouth and media_mode events.
const ProtocolVersion = 3

// Signaling endpoints and limits.
const (
	SessionsPath    = "/v1/sessions"        // POST: SDP offer in, SDP answer out
	SessionPathFmt  = "/v1/sessions/%s"     // DELETE: end the session; PATCH: ICE restart (SDP offer in, SDP answer out)
	HealthPath      = "/healthz"            // GET: 200 "ok"
	ManifestPath    = "/v1/assets/manifest" // GET: the avatar pack's manifest (JSON)
	AssetPathFmt    = "/v1/assets/%s"       // GET: one asset's bytes by SHA-256 digest (lowercase hex)
	InfoPath        = "/v1/info"            // GET: the agent's protocol version, capabilities and free session slots (Info)
	ContentTypeSDP  = "application/sdp"     // the offer's and answer's media type
	ContentTypeJSON = "application/json"    // error bodies
	MaxOfferBytes   = 64 << 10              // 64 KiB: larger offers get 413
)

// Error codes in Error.Code, one per HTTP status the agent returns.
const (
	CodeBadSDP           = "bad_sdp"            // 400
	CodeBadDigest        = "bad_digest"         // 400: an asset path that is not a SHA-256 digest
	CodeUnauthorized     = "unauthorized"       // 401
	CodeForbidden        = "forbidden"          // 403
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeConflict         = "conflict"           // 409: the session is ending, or already renegotiating
	CodeTooLarge         = "too_large"          // 413
	CodeUnsupportedType  = "unsupported_type"   // 415
	CodeUnavailable      = "unavailable"        // 503
	CodeInternal         = "internal"           // 500
)

// Error is the JSON body of every signaling error:
// {"error": "<code>", "message": "<human text>"}.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Info is the JSON body of GET /v1/info: what a client learns about an
// agent before it calls (the settings' "Test connection"). Asking costs the
// agent no session slot. The endpoint came within version 3 without a
// version change: an agent without it answers 404 not_found.
type Info struct {
	// Version is the agent's ProtocolVersion.
	Version int `json:"version"`
	// Capabilities are what the agent's sessions can have, the words of the
	// hello event: audio; avatar when it serves an avatar pack; video when
	// it gives a caller whose offer receives video a live track.
	Capabilities []string `json:"capabilities"`
	// Sessions is how many session slots are in use: calls being served
	// and offers being answered.
	Sessions int `json:"sessions"`
	// MaxSessions is the session cap; 0 means none.
	MaxSessions int `json:"max_sessions"`
	// Free is how many more sessions the agent would start now
	// (MaxSessions − Sessions, at least 0); absent when there is no cap.
	Free *int `json:"free,omitempty"`
	// AgentVersion is the version of the agent's build (a Go module
	// version such as v0.2.0 or a pseudo-version); absent when unknown.
	// For people, not for deciding what the agent can do.
	AgentVersion string `json:"agent_version,omitempty"`
}

// Event types on the data channel.
const (
	TypeHello = "hello"
	TypeState = "state"
	TypeError = "error"
	TypePing  = "ping" // either side, every second: seq and ts
	TypePong  = "pong" // the answer to a ping: its seq and ts echoed
	TypeBye   = "bye"  // the agent ends the session (message says why)

	TypeTranscript = "transcript" // agent → client: words of either side, partial or final
	TypeText       = "text"       // client → agent: a typed user message instead of speech
	TypeInterrupt  = "interrupt"  // agent → client: barge-in; drop queued reply audio
	TypeMetrics    = "metrics"    // agent → client: one turn's latencies
	TypeNotice     = "notice"     // agent → client: something the user should know (code, message)

	TypeAvatar    = "avatar"     // agent → client: show this face (asset hash) with this expression
	TypeMouth     = "mouth"      // agent → client: mouth samples stamped on the agent's audio timeline
	TypeMediaMode = "media_mode" // agent → client: show the preloaded avatar or the live video track
)

// Media modes carried by the media_mode event.
const (
	ModeAssets = "assets" // the avatar from preloaded, hash-addressed images (the default)
	ModeVideo  = "video"  // the agent's live VP8 track (hybrid mode)
)

// Transcript roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Notice codes.
const (
	NoticeNoModel     = "no_model"     // no language model: the echo brain answers
	NoticeVADFallback = "vad_fallback" // Silero VAD unavailable: the energy VAD listens
	NoticeProvider    = "provider"     // a provider failed for one turn
	NoticeMemory      = "memory"       // past turns from the caller's history went to the model
)

// TurnMetrics are one turn's latencies in milliseconds, measured by the
// agent from the moment the caller's last speech frame arrived (for a typed
// message: from its arrival). A stage that did not run is 0.
type TurnMetrics struct {
	EndOfTurnMS    float64 `json:"end_of_turn_ms"`              // last speech frame → end of turn decided
	STTMS          float64 `json:"stt_ms"`                      // speech-to-text request time
	TTFTMS         float64 `json:"ttft_ms"`                     // LLM request → first token
	TTSMS          float64 `json:"tts_ms"`                      // first sentence's speech synthesis time
	FirstAudioMS   float64 `json:"first_audio_ms"`              // last speech frame → first reply frame sent
	ReplyMS        float64 `json:"reply_ms"`                    // LLM request → whole reply written
	VoiceToVoiceMS float64 `json:"voice_to_voice_ms,omitempty"` // set by the client: end of speech captured → first reply audio played
}

// Agent states carried by the state event.
const (
	StateListening = "listening"
	StateThinking  = "thinking"
	StateSpeaking  = "speaking"
)

// Event is one JSON message on the `parley` data channel. Type says which of
// the optional fields are set; unknown types are ignored by both sides.
type Event struct {
	Type string `json:"type"`

	// hello
	Version      int      `json:"version,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`

	// state
	State string `json:"state,omitempty"`

	// error, bye
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// ping, pong
	Seq int64 `json:"seq,omitempty"` // the ping's sequence number, from 1
	TS  int64 `json:"ts,omitempty"`  // the pinging side's clock, µs since the Unix epoch

	// transcript, text, interrupt, metrics
	Turn        int64        `json:"turn,omitempty"`        // the turn id, from 1 per session
	Role        string       `json:"role,omitempty"`        // transcript: RoleUser or RoleAssistant
	Text        string       `json:"text,omitempty"`        // transcript (the whole text so far), text
	Final       bool         `json:"final,omitempty"`       // transcript: no more words will come for this turn and role
	Interrupted bool         `json:"interrupted,omitempty"` // final assistant transcript: cut short by barge-in (Text is what was spoken)
	Metrics     *TurnMetrics `json:"metrics,omitempty"`     // metrics

	// avatar
	Asset      string `json:"asset,omitempty"`      // the face image's SHA-256 digest (lowercase hex), from the manifest
	Expression string `json:"expression,omitempty"` // neutral, listening, thinking, happy or surprised

	// mouth: Mouth holds one sample per 20 ms frame (EncodeMouth); the
	// first belongs to the agent's outgoing audio frame whose RTP timestamp
	// (48 kHz clock) is RTP, the next to RTP+960, and so on.
	RTP   uint32 `json:"rtp,omitempty"`
	Mouth string `json:"mouth,omitempty"`

	// media_mode
	Mode string `json:"mode,omitempty"` // ModeAssets or ModeVideo
}

// ErrBadEvent is returned by DecodeEvent for a message that is not a JSON
// object with a string "type".
var ErrBadEvent = errors.New("api: malformed event")

// DecodeEvent parses one data-channel message. It returns ErrBadEvent
// (wrapped) for invalid JSON or a missing type.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if e.Type == "" {
		return Event{}, fmt.Errorf("%w: no type", ErrBadEvent)
	}
	return e, nil
}

// Encode returns the event as JSON.
func (e Event) Encode() []byte {
	b, _ := json.Marshal(e) // a struct of strings and ints cannot fail
	return b
}
