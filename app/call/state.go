// Package call is the client's call: it connects to an agent over HTTP
// signaling and WebRTC, sends the microphone as Opus and plays the agent's
// voice through a jitter buffer, and reports state, levels and timings.
// Controller adds the explicit state machine the UI drives.
package call

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/device"
)

// State is where a call is in its life.
type State int

const (
	Idle         State = iota // no call yet
	Connecting                // signaling and ICE/DTLS under way
	InCall                    // media flowing
	Ended                     // hung up normally
	Failed                    // could not connect, or the connection was lost
	Reconnecting              // the connection was lost mid-call; connecting again
)

func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case Connecting:
		return "connecting"
	case InCall:
		return "in call"
	case Ended:
		return "ended"
	case Failed:
		return "failed"
	case Reconnecting:
		return "reconnecting"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Errors a call can end with.
var (
	// ErrConnectTimeout: ICE/DTLS did not complete in time.
	ErrConnectTimeout = errors.New("call: connection timed out")
	// ErrConnectionLost: the peer connection failed or closed mid-call.
	ErrConnectionLost = errors.New("call: connection to the agent lost")
	// ErrAgentEnded: the agent ended the session (it sent bye).
	ErrAgentEnded = errors.New("call: the agent ended the call")
	// ErrMicrophone: the microphone stopped delivering audio mid-call.
	ErrMicrophone = errors.New("call: the microphone stopped")
	// ErrSpeaker: the speaker stopped taking audio mid-call.
	ErrSpeaker = errors.New("call: the speaker stopped")
)

// Describe turns a call error into a sentence for a person.
func Describe(err error) string {
	var se *signal.StatusError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "The call was cancelled."
	case errors.Is(err, device.ErrDeviceLost), errors.Is(err, ErrMicrophone):
		return "The microphone stopped working. Check that it is still connected, then call again."
	case errors.Is(err, ErrSpeaker):
		return "The speaker stopped working. Check that it is still connected, then call again."
	case errors.Is(err, device.ErrNoDevice):
		return "No microphone or speaker could be opened. Check that one is connected and that the sound system is running."
	case errors.Is(err, signal.ErrUnreachable):
		return "Could not reach the agent. If it runs on another machine, check its address and that it is running."
	case errors.As(err, &se):
		switch se.Status {
		case http.StatusUnauthorized:
			return "The agent refused the access token. Check the token in the settings."
		case http.StatusServiceUnavailable:
			return "The agent is busy with other calls. Try again in a moment."
		case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
			return "The agent did not accept this app's call request (" + se.API.Message + "). The app and the agent may be different versions."
		}
		return "The agent answered with an error: " + se.Error()
	case errors.Is(err, ErrConnectTimeout), errors.Is(err, context.DeadlineExceeded):
		return "The connection to the agent timed out. A firewall may be blocking it."
	case errors.Is(err, ErrAgentEnded):
		return "The agent ended the call (" + strings.TrimPrefix(err.Error(), ErrAgentEnded.Error()+": ") + ")."
	case errors.Is(err, ErrConnectionLost):
		return "The connection to the agent was lost."
	}
	return "The call failed: " + err.Error()
}
