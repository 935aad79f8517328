package agent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pion/sdp/v3"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/media/rtc"
)

// ErrConfig is returned by NewServer for an incomplete Config.
var ErrConfig = errors.New("agent: invalid config")

// Config is what a Server needs.
type Config struct {
	// Token is the bearer token every request must carry. Required.
	Token string
	// Handler makes the per-session handler. Required.
	Handler HandlerFunc
	// Factory makes the peer connections. Required.
	Factory *rtc.Factory
	// Log receives the server's logs; nil discards them.
	Log *slog.Logger
	// MaxSessions caps concurrent sessions; an offer past the cap gets 503
	// with Retry-After. 0 means no cap.
	MaxSessions int
	// IdleTimeout reclaims a session from which nothing (no RTP, no event)
	// has come for this long. 0 means never.
	IdleTimeout time.Duration
	// Avatar is the avatar pack served under /v1/assets and named by the
	// avatar events; nil serves none (no avatar or mouth events either).
	Avatar *avatar.Pack
	// LoopbackOnly makes the server answer only requests from a loopback
	// address whose Host header names a loopback host (localhost, 127.x,
	// [::1]): a web page cannot reach the local agent through DNS
	// rebinding. Local mode sets it.
	LoopbackOnly bool
}

// RetryAfterSeconds is the Retry-After sent with 503 replies.
const RetryAfterSeconds = 5

// Server is the agent's HTTP signaling endpoint and session manager. It
// implements http.Handler (docs/protocol.md lists the routes).
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	mu      sync.Mutex
	byID    map[string]*session
	pending int // offers being answered: they hold a slot too
	closed  bool
	face    FaceFunc // nil: no avatar pack
	version string   // the build's module version for /v1/info; "" if unknown
}

// NewServer checks cfg and returns a server with no sessions.
func NewServer(cfg Config) (*Server, error) {
	switch {
	case cfg.Token == "":
		return nil, fmt.Errorf("%w: a token is required", ErrConfig)
	case cfg.Handler == nil:
		return nil, fmt.Errorf("%w: a handler is required", ErrConfig)
	case cfg.Factory == nil:
		return nil, fmt.Errorf("%w: a peer connection factory is required", ErrConfig)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log.With("component", "agent"), byID: map[string]*session{}, metrics: newMetrics(), version: buildVersion()}
	mux := http.NewServeMux()
	if cfg.Avatar != nil {
		as, err := newAssetServer(cfg.Avatar)
		if err != nil {
			return nil, fmt.Errorf("%w: avatar pack: %v", ErrConfig, err)
		}
		s.face = as.face
		mux.HandleFunc("GET "+api.ManifestPath, s.authed(as.serveManifest))
		mux.HandleFunc("GET /v1/assets/{digest}", s.authed(as.serveAsset))
	} else {
		mux.HandleFunc("GET /v1/assets/", noAssets)
	}
	mux.HandleFunc("POST "+api.SessionsPath, s.authed(s.createSession))
	mux.HandleFunc("DELETE "+api.SessionsPath+"/{id}", s.authed(s.deleteSession))
	mux.HandleFunc("PATCH "+api.SessionsPath+"/{id}", s.authed(s.restartSession))
	mux.HandleFunc("GET "+api.InfoPath, s.authed(s.serveInfo))
	mux.HandleFunc("GET "+api.HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET "+MetricsPath, s.metrics.handler())
	mux.HandleFunc(api.SessionsPath, methodNotAllowed("POST"))
	mux.HandleFunc(api.SessionsPath+"/{id}", methodNotAllowed("DELETE, PATCH"))
	mux.HandleFunc(api.InfoPath, methodNotAllowed("GET"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint: "+r.URL.Path)
	})
	s.mux = mux
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LoopbackOnly && !fromLoopback(r) {
		writeError(w, http.StatusForbidden, api.CodeForbidden, "this agent only serves this machine (Host and client must be loopback)")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// fromLoopback reports whether both the client address and the Host header
// are loopback.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !rtc.IsLoopback(host) {
		return false
	}
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return rtc.IsLoopback(strings.Trim(h, "[]"))
}

// Sessions returns how many sessions are live.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Close ends every session, each with a bye event, and refuses new ones. It
// waits until every session's goroutines have stopped. It is safe to call
// twice.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.byID))
	for _, ss := range s.byID {
		all = append(all, ss)
	}
	s.byID = map[string]*session{}
	s.metrics.active.Set(0)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, ss := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss.bye("the agent is shutting down")
			ss.close()
		}()
	}
	wg.Wait()
	return nil
}

func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + s.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, "missing or wrong bearer token")
			return
		}
		next(w, r)
	}
}

// readOffer reads and checks the SDP offer of a POST or PATCH: its content
// type, its size and that it is SDP with audio. It writes the error reply
// and returns false when the offer is refused.
func readOffer(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != api.ContentTypeSDP {
		writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupportedType,
			fmt.Sprintf("the offer must be sent as %s, not %q", api.ContentTypeSDP, r.Header.Get("Content-Type")))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxOfferBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge,
				fmt.Sprintf("the offer is larger than %d bytes", api.MaxOfferBytes))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, api.CodeBadSDP, "could not read the offer: "+err.Error())
		return nil, false
	}
	if err := validateOffer(body); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadSDP, err.Error())
		return nil, false
	}
	return body, true
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	body, ok := readOffer(w, r)
	if !ok {
		return
	}
	if ok, why := s.reserve(); !ok {
		s.metrics.refused.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, why)
		return
	}
	slotHeld := true // until the session takes its place in byID
	defer func() {
		if slotHeld {
			s.release()
		}
	}()

	id := uuid.NewString()
	ss, err := newSession(id, s.cfg.Factory, s.cfg.Handler(), s.face, s.log, s.metrics, s.reclaim)
	if err == nil {
		ss.idle = s.cfg.IdleTimeout
	}
	if err != nil {
		s.log.Error("new session", "err", err)
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "could not create a session")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), answerTimeout)
	defer cancel()
	answer, err := ss.answer(ctx, string(body))
	if err != nil {
		ss.close()
		if errors.Is(err, errBadOffer) {
			writeError(w, http.StatusBadRequest, api.CodeBadSDP, err.Error())
			return
		}
		s.log.Error("answer", "err", err)
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "could not answer the offer")
		return
	}
	s.mu.Lock()
	if s.closed { // shut down while this offer was being answered
		s.mu.Unlock()
		ss.close()
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, "the agent is shutting down")
		return
	}
	s.byID[id] = ss
	s.pending--
	slotHeld = false
	s.metrics.active.Set(float64(len(s.byID)))
	s.mu.Unlock()
	s.metrics.started.Inc()
	if err := ss.start(); err != nil {
		s.remove(ss)
		s.log.Error("start session", "err", err)
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "could not start the session")
		return
	}
	s.log.Info("session started", "session", id, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", api.ContentTypeSDP)
	w.Header().Set("Location", fmt.Sprintf(api.SessionPathFmt, id))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// serveInfo answers GET /v1/info (api.Info). It takes no session slot and
// costs one lock to read two counters: a client may ask as often as it likes.
func (s *Server) serveInfo(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	closed, inUse := s.closed, len(s.byID)+s.pending
	s.mu.Unlock()
	if closed {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, "the agent is shutting down")
		return
	}
	info := api.Info{
		Version:      api.ProtocolVersion,
		Capabilities: s.capabilities(),
		Sessions:     inUse,
		MaxSessions:  s.cfg.MaxSessions,
		AgentVersion: s.version,
	}
	if s.cfg.MaxSessions > 0 {
		free := max(0, s.cfg.MaxSessions-inUse)
		info.Free = &free
	}
	w.Header().Set("Content-Type", api.ContentTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(info)
}

// capabilities are what this agent's sessions can have (api.Info): a
// session's hello carries the same words, video only when the caller's
// offer receives video.
func (s *Server) capabilities() []string {
	caps := []string{CapAudio}
	if s.face != nil {
		caps = append(caps, CapAvatar)
	}
	return append(caps, CapVideo)
}

// buildVersion returns the version of the Parley module this binary was
// built from: the main module's when Parley is the program (a tag or a
// pseudo-version from VCS stamping), the dependency's when another program
// embeds the agent; "" when unknown (go run, tests, "(devel)").
func buildVersion() string {
	const module = "github.com/parley-app/parley"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := ""
	if bi.Main.Path == module {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			v = d.Version
		}
	}
	if v == "(devel)" {
		return ""
	}
	return v
}

// reserve takes a session slot for an offer being answered; release gives
// it back (the session, if any, then holds its own place in byID).
func (s *Server) reserve() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false, "the agent is shutting down"
	case s.cfg.MaxSessions > 0 && len(s.byID)+s.pending >= s.cfg.MaxSessions:
		return false, fmt.Sprintf("the agent is serving its maximum of %d calls; try again in %d s", s.cfg.MaxSessions, RetryAfterSeconds)
	}
	s.pending++
	return true, ""
}

func (s *Server) release() {
	s.mu.Lock()
	s.pending--
	s.mu.Unlock()
}

// validateOffer checks that body parses as SDP (RFC 8866) and offers audio.
func validateOffer(body []byte) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("the offer is empty")
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(body)); err != nil {
		return fmt.Errorf("the offer is not valid SDP: %v", err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			return nil
		}
	}
	return errors.New("the offer has no audio section")
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ss, ok := s.byID[id]
	delete(s.byID, id)
	s.metrics.active.Set(float64(len(s.byID)))
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no session "+id)
		return
	}
	ss.close()
	w.WriteHeader(http.StatusNoContent)
}

// restartSession answers PATCH /v1/sessions/{id}: an SDP offer that
// restarts ICE on a live session (RFC 8445 §9; JSEP's IceRestart, RFC 8829
// §5.2.1) because the caller's network path changed or broke. The session
// keeps its ID, handler, data channel and tracks; only the ICE credentials
// and candidates change. Checks run in this order: token, session (404),
// content type, size, the SDP's form (400), whether the session can
// renegotiate now (409: closing, or another offer being applied), then
// whether the offer is an ICE restart of this session (400: the same ICE
// credentials, another DTLS fingerprint).
func (s *Server) restartSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ss, ok := s.byID[id]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no session "+id)
		return
	}
	body, ok := readOffer(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), answerTimeout)
	defer cancel()
	start := time.Now()
	answer, err := ss.restart(ctx, string(body))
	switch {
	case errors.Is(err, errRenegotiating), errors.Is(err, errEnding):
		writeError(w, http.StatusConflict, api.CodeConflict, err.Error())
		return
	case errors.Is(err, errBadOffer):
		writeError(w, http.StatusBadRequest, api.CodeBadSDP, err.Error())
		return
	case err != nil:
		s.log.Error("ICE restart", "session", id, "err", err)
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "could not answer the ICE restart")
		return
	}
	s.metrics.iceRestarts.Inc()
	s.log.Info("ICE restart answered", "session", id, "remote", r.RemoteAddr, "ms", time.Since(start).Milliseconds())
	w.Header().Set("Content-Type", api.ContentTypeSDP)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, answer)
}

// remove forgets and closes a session; it reports whether the session was
// still listed.
func (s *Server) remove(ss *session) bool {
	s.mu.Lock()
	listed := s.byID[ss.id] == ss
	if listed {
		delete(s.byID, ss.id)
	}
	s.metrics.active.Set(float64(len(s.byID)))
	s.mu.Unlock()
	ss.close()
	return listed
}

// reclaim ends a session on the agent's initiative: its peer connection
// failed or closed, or its handler failed.
func (s *Server) reclaim(ss *session) {
	if s.remove(ss) {
		s.metrics.reclaimed.Inc()
		s.log.Info("session reclaimed", "session", ss.id)
	}
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, r.Method+" is not allowed here; use "+allow)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", api.ContentTypeJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Error{Code: code, Message: msg})
}
