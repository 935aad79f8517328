// Package signal is the client side of Parley's HTTP signaling
// (docs/protocol.md): it posts the SDP offer to an agent and ends the
// session. Local and remote mode use it alike.
package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-app/parley/agent/api"
)

// ErrUnreachable wraps transport failures: the agent could not be reached.
var ErrUnreachable = errors.New("signal: agent unreachable")

// StatusError is a non-success reply from the agent, with its JSON error.
type StatusError struct {
	Status     int       // HTTP status
	RetryAfter string    // Retry-After header, if any
	API        api.Error // the decoded body; Code is empty if it was not JSON
}

func (e *StatusError) Error() string {
	if e.API.Code != "" {
		return fmt.Sprintf("agent replied %d %s: %s", e.Status, e.API.Code, e.API.Message)
	}
	return fmt.Sprintf("agent replied %d %s", e.Status, http.StatusText(e.Status))
}

// Client talks to one agent.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for the agent at baseURL (e.g. http://127.0.0.1:4321)
// using token as the bearer token. It returns an error for a URL that is not
// absolute http(s).
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("signal: agent URL %q must be an absolute http:// or https:// URL", baseURL)
	}
	return &Client{base: u, token: token, http: &http.Client{Timeout: 15 * time.Second}}, nil
}

// Session is a created session: the SDP answer and where to DELETE it.
type Session struct {
	Answer   string
	Location string // absolute URL of the session resource
}

// CreateSession posts the SDP offer and returns the SDP answer. Errors:
// ErrUnreachable (wrapped) when the agent cannot be reached, *StatusError
// when it refuses.
func (c *Client) CreateSession(ctx context.Context, offer string) (Session, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(api.SessionsPath).String(), strings.NewReader(offer))
	if err != nil {
		return Session{}, fmt.Errorf("signal: %w", err)
	}
	req.Header.Set("Content-Type", api.ContentTypeSDP)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return Session{}, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxOfferBytes+1))
	if err != nil {
		return Session{}, fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return Session{}, statusError(resp, body)
	}
	loc, err := c.base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return Session{}, fmt.Errorf("signal: the agent's answer has no valid Location header")
	}
	return Session{Answer: string(body), Location: loc.String()}, nil
}

// DeleteSession ends the session at location. A 404 (already gone) is not an
// error.
func (c *Client) DeleteSession(ctx context.Context, location string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return statusError(resp, body)
}

func statusError(resp *http.Response, body []byte) *StatusError {
	e := &StatusError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	_ = json.NewDecoder(bytes.NewReader(body)).Decode(&e.API)
	return e
}
