// Package signal is the client side of Parley's HTTP signaling
// (docs/protocol.md): it posts the SDP offer to an agent, restarts ICE on
// the session and ends it, and asks an agent about itself (Info). Local and remote mode use
// it alike.
package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-app/parley/agent/api"
)

// ErrUnreachable wraps transport failures: the agent could not be reached.
var ErrUnreachable = errors.New("signal: agent unreachable")

// ErrNotAgent wraps a success reply that is not what a Parley agent sends
// (say, a web page from some other server at the agent's address).
var ErrNotAgent = errors.New("signal: the reply is not a Parley agent's")

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

// Option changes a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through h instead of a
// client of the default transport with a 15 s timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for the agent at baseURL (e.g. http://127.0.0.1:4321)
// using token as the bearer token. It returns an error for a URL that is not
// absolute http(s).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("signal: agent URL %q must be an absolute http:// or https:// URL", baseURL)
	}
	c := &Client{base: u, token: token, http: &http.Client{Timeout: 15 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// maxInfoBytes bounds the body Info reads: an info document is a few
// hundred bytes, and a big web page says enough in its first 64 KiB.
const maxInfoBytes = 64 << 10

// Info asks the agent about itself (GET /v1/info): protocol version,
// capabilities, session slots. It starts no session. Errors:
// ErrUnreachable (wrapped) when the agent cannot be reached, *StatusError
// when it replies with an error status (an agent older than /v1/info
// replies 404 with Code api.CodeNotFound), ErrNotAgent (wrapped) when a 200
// reply is not a JSON info document.
func (c *Client) Info(ctx context.Context) (api.Info, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath(api.InfoPath).String(), nil)
	if err != nil {
		return api.Info{}, fmt.Errorf("signal: %w", err)
	}
	req.Header.Set("Accept", api.ContentTypeJSON)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return api.Info{}, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInfoBytes))
	if err != nil {
		return api.Info{}, fmt.Errorf("%w: reading the info: %w", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return api.Info{}, statusError(resp, body)
	}
	var in api.Info
	if err := json.Unmarshal(body, &in); err != nil {
		return api.Info{}, fmt.Errorf("%w: %s %s is not JSON (Content-Type %q): %w",
			ErrNotAgent, req.Method, req.URL.Redacted(), resp.Header.Get("Content-Type"), err)
	}
	if in.Version <= 0 {
		return api.Info{}, fmt.Errorf("%w: %s %s has no protocol version", ErrNotAgent, req.Method, req.URL.Redacted())
	}
	return in, nil
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

// RestartSession sends an offer that restarts ICE to the session at
// location (PATCH, docs/protocol.md) and returns the agent's answer. The
// session keeps its ID, conversation and data channel. Errors:
// ErrUnreachable (wrapped) when the agent cannot be reached, *StatusError
// when it refuses: 404 when the session is gone and 405 from an agent
// without ICE restarts (both mean: make a new session), 409 while the
// session is ending or taking another offer.
//
// A restart follows a lost or changed network path, so a kept-alive
// connection to the agent from before may be dead too (its local address
// gone with a network switch): idle connections are dropped first and the
// request goes on a fresh one.
func (c *Client) RestartSession(ctx context.Context, location, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, location, strings.NewReader(offer))
	if err != nil {
		return "", fmt.Errorf("signal: %w", err)
	}
	req.Header.Set("Content-Type", api.ContentTypeSDP)
	req.Header.Set("Authorization", "Bearer "+c.token)
	c.http.CloseIdleConnections()
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxOfferBytes+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading the answer: %w", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", statusError(resp, body)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != api.ContentTypeSDP {
		return "", fmt.Errorf("%w: the reply to an ICE restart is %q, not an SDP answer", ErrNotAgent, resp.Header.Get("Content-Type"))
	}
	return string(body), nil
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
