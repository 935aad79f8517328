package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/signal"
)

// ConnectionTimeout bounds TestConnection: connecting, the TLS handshake
// and the agent's answer together.
const ConnectionTimeout = 5 * time.Second

// Errors of CheckAgentURL and TestConnection. The error returned is a
// sentence for a person (what was wrong, at which host:port); it matches
// one of these with errors.Is, and the cause (a net, TLS or
// signal.StatusError) with errors.Is and errors.As.
var (
	// ErrAgentURL: the agent's address is not an http(s) URL with a host.
	ErrAgentURL = errors.New("app: bad agent address")
	// ErrAgentUnreachable: nothing answered (connection refused, no such
	// host, no route) or the connection broke.
	ErrAgentUnreachable = errors.New("app: agent unreachable")
	// ErrAgentTimeout: no connection or no answer within the bound.
	ErrAgentTimeout = errors.New("app: the agent did not answer in time")
	// ErrAgentTLS: the https connection failed (certificate not trusted,
	// for another name, expired; a server that does not speak TLS).
	ErrAgentTLS = errors.New("app: secure connection to the agent failed")
	// ErrAgentToken: the token was refused (401), or cannot be sent.
	ErrAgentToken = errors.New("app: the agent refused the token")
	// ErrNotAgent: a server answered, but not as a Parley agent does.
	ErrNotAgent = errors.New("app: not a Parley agent")
	// ErrOldAgent: a Parley agent that predates GET /v1/info.
	ErrOldAgent = errors.New("app: the agent is too old to report on itself")
	// ErrAgentBusy: the agent takes no calls now (503).
	ErrAgentBusy = errors.New("app: the agent takes no calls now")
	// ErrAgentFailed: the agent answered with another error.
	ErrAgentFailed = errors.New("app: the agent answered with an error")
)

// connError is an error of CheckAgentURL or TestConnection: msg is the
// sentence for a person, kind one of the sentinels above, cause what the
// network, TLS or HTTP layer said (nil if nothing).
type connError struct {
	kind, cause error
	msg         string
}

func (e *connError) Error() string { return e.msg }

func (e *connError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func connErr(kind, cause error, format string, args ...any) error {
	return &connError{kind: kind, cause: cause, msg: fmt.Sprintf(format, args...)}
}

// exampleAgentURL is shown when an address is missing or malformed
// (parley-agent's default port).
const exampleAgentURL = "http://gpu-box:8443"

// CheckAgentURL validates a remote agent's address as a person typed it
// and returns it normalised: spaces around it trimmed, scheme and host in
// lower case, no trailing slash. It must be http:// or https:// with a
// host, an optional port (1–65535) and an optional path (an agent behind a
// reverse proxy), and no user name, query or fragment. The error
// (ErrAgentURL) says what is wrong in words for a person.
func CheckAgentURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", connErr(ErrAgentURL, nil, "Enter the agent's address, such as %s.", exampleAgentURL)
	}
	if !strings.Contains(s, "://") {
		return "", connErr(ErrAgentURL, nil, "The agent's address %q must start with http:// or https://, such as http://%s.", s, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", connErr(ErrAgentURL, err, "The agent's address %q is not a valid web address: %v.", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", connErr(ErrAgentURL, nil, "The agent's address must start with http:// or https://, not %s://.", u.Scheme)
	}
	if u.User != nil {
		return "", connErr(ErrAgentURL, nil, "The agent's address %q must not contain a user name or password; put the agent's token in the token field.", u.Redacted())
	}
	if u.Hostname() == "" {
		return "", connErr(ErrAgentURL, nil, "The agent's address %q has no host name; it should look like %s.", s, exampleAgentURL)
	}
	u.Host = strings.TrimSuffix(u.Host, ":") // "host:" means the default port
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", connErr(ErrAgentURL, nil, "The port %q in the agent's address is not a port number (1 to 65535).", p)
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", connErr(ErrAgentURL, nil, "The agent's address %q must not have a query (the part from \"?\").", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "", connErr(ErrAgentURL, nil, "The agent's address %q must not have a fragment (the part from \"#\").", s)
	}
	if !strings.Contains(u.Host, "%") { // an IPv6 zone names an interface: keep its case
		u.Host = strings.ToLower(u.Host)
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// ConnectionReport is what TestConnection found out about an agent. With
// an error it holds what was learnt before the error: URL and, when an
// HTTP server answered, Reachable and RoundTrip.
type ConnectionReport struct {
	URL       string        // the normalised address (CheckAgentURL)
	HostPort  string        // where it was asked, e.g. gpu-box:8443
	Reachable bool          // an HTTP server answered (perhaps with an error)
	RoundTrip time.Duration // from sending GET /v1/info to its whole reply, connection set-up (TCP, TLS) included
	// SameVersion: the agent speaks this app's protocol version
	// (api.ProtocolVersion). Another version is not an error: the agent is
	// reachable and the token good, and both sides ignore what they do not
	// know; Summary warns that calls may not work.
	SameVersion bool
	// Info is the agent's own report: protocol version, capabilities,
	// sessions in use, the cap and free slots.
	api.Info
}

// FreeSlots returns how many more calls the agent would take now, and
// whether it has a cap at all (without one, n is 0 and capped false).
func (r ConnectionReport) FreeSlots() (n int, capped bool) {
	if r.Free == nil {
		return 0, false
	}
	return *r.Free, true
}

// Summary says what the report means, for a person, in a few sentences.
func (r ConnectionReport) Summary() string {
	if !r.Reachable || r.Version == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Connected to the Parley agent at %s in %s.", r.HostPort, roundTrip(r.RoundTrip))
	if r.SameVersion {
		fmt.Fprintf(&b, " It speaks protocol %d, like this app.", r.Version)
	} else {
		fmt.Fprintf(&b, " It speaks protocol %d but this app speaks %d, so calls may not work: update the older of the two.", r.Version, api.ProtocolVersion)
	}
	switch free, capped := r.FreeSlots(); {
	case !capped:
		fmt.Fprintf(&b, " It has no limit on calls; %d in progress.", r.Sessions)
	case free == 0:
		fmt.Fprintf(&b, " All %d of its call slots are in use: a call now would be refused until one ends.", r.MaxSessions)
	default:
		fmt.Fprintf(&b, " %d of its %d call slots are free.", free, r.MaxSessions)
	}
	if len(r.Capabilities) > 0 {
		fmt.Fprintf(&b, " It offers: %s.", strings.Join(r.Capabilities, ", "))
	}
	if r.AgentVersion != "" {
		fmt.Fprintf(&b, " Agent build %s.", r.AgentVersion)
	}
	return b.String()
}

// TestConnection asks the agent at rawURL about itself (GET /v1/info) with
// token, within ConnectionTimeout or ctx's deadline if sooner, over a
// connection of its own (none is reused or kept). It starts no call. The
// error is a sentence naming the host:port and what went wrong, matching
// one of the Err… values above; an agent of another protocol version is
// not an error (ConnectionReport.SameVersion).
func TestConnection(ctx context.Context, rawURL, token string) (ConnectionReport, error) {
	norm, err := CheckAgentURL(rawURL)
	if err != nil {
		return ConnectionReport{}, err
	}
	u, _ := url.Parse(norm) // CheckAgentURL parsed it
	rep := ConnectionReport{URL: norm, HostPort: hostPort(u)}
	if i := strings.IndexFunc(token, unicode.IsControl); i >= 0 {
		return rep, connErr(ErrAgentToken, nil, "The token contains a line break or another control character (at position %d); paste it again without it.", i+1)
	}

	bound := ConnectionTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < bound {
		bound = max(time.Until(d).Round(10*time.Millisecond), time.Millisecond) // for the message
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectionTimeout)
	defer cancel()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	defer tr.CloseIdleConnections()
	sig, err := signal.New(norm, token, signal.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		return rep, connErr(ErrAgentURL, err, "The agent's address %q cannot be used: %v.", norm, err)
	}
	var p progress
	ctx = httptrace.WithClientTrace(ctx, p.trace())

	start := time.Now()
	info, err := sig.Info(ctx)
	rep.RoundTrip = time.Since(start)
	var se *signal.StatusError
	rep.Reachable = err == nil || errors.As(err, &se) || errors.Is(err, signal.ErrNotAgent)
	if err != nil {
		return rep, explain(err, u, token, bound, &p)
	}
	rep.Info = info
	rep.SameVersion = info.Version == api.ProtocolVersion
	return rep, nil
}

// progress records how far a request got, for saying where it stopped.
type progress struct {
	connected, secured, sent atomic.Bool
}

func (p *progress) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				p.connected.Store(true)
			}
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				p.secured.Store(true)
			}
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				p.sent.Store(true)
			}
		},
	}
}

// explain turns Info's error into a sentence for a person.
func explain(err error, u *url.URL, token string, bound time.Duration, p *progress) error {
	where := hostPort(u)
	var se *signal.StatusError
	switch {
	case errors.As(err, &se):
		return explainStatus(se, u, token)
	case errors.Is(err, signal.ErrNotAgent):
		return connErr(ErrNotAgent, err, "The server at %s is not a Parley agent: its answer to GET %s is not a Parley agent's JSON. Check the address and the port.", where, api.InfoPath)
	case errors.Is(err, context.Canceled):
		return connErr(context.Canceled, err, "The connection test of %s was cancelled.", where)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return explainTimeout(err, u, bound, p)
	}
	if tlsErr := explainTLS(err, u); tlsErr != nil {
		return tlsErr
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return connErr(ErrAgentUnreachable, err, "The host name %q was not found (DNS). Check the spelling of the agent's address.", u.Hostname())
	case errors.As(err, &dnsErr):
		return connErr(ErrAgentUnreachable, err, "Could not look up the host name %q: %v. Check this machine's network.", u.Hostname(), dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return connErr(ErrAgentUnreachable, err, "Nothing is listening at %s (connection refused). Check the port, and that parley-agent is running there.", where)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return connErr(ErrAgentUnreachable, err, "There is no route to %s (host or network unreachable). Check the address and this machine's network.", where)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return connErr(ErrAgentUnreachable, err, "The server at %s closed the connection before answering. Check that it is a Parley agent, and http:// versus https://.", where)
	}
	return connErr(ErrAgentUnreachable, err, "Could not reach the agent at %s: %v.", where, rootCause(err))
}

func explainTimeout(err error, u *url.URL, bound time.Duration, p *progress) error {
	where, within := hostPort(u), roundTrip(bound)
	switch {
	case !p.connected.Load():
		return connErr(ErrAgentTimeout, err, "Could not connect to %s within %s: it did not answer at all. The machine may be off, or a firewall may be dropping the connection.", where, within)
	case u.Scheme == "https" && !p.secured.Load():
		return connErr(ErrAgentTimeout, err, "Connected to %s, but the secure (TLS) handshake did not finish within %s. Does the agent serve https?", where, within)
	}
	return connErr(ErrAgentTimeout, err, "The server at %s accepted the connection but did not answer within %s. It may not be a Parley agent, or it is overloaded.", where, within)
}

// explainTLS returns the sentence for a TLS failure, nil if err is not one.
func explainTLS(err error, u *url.URL) error {
	where := hostPort(u)
	var (
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		verify  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknown):
		return connErr(ErrAgentTLS, err, "The certificate of %s is not trusted by this machine (signed by an unknown authority, or self-signed). Install its authority's certificate on this machine, or give the agent a certificate from a trusted one.", where)
	case errors.As(err, &host):
		return connErr(ErrAgentTLS, err, "The certificate of %s is not for %q (%v). Use the host name the certificate names.", where, u.Hostname(), err)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return connErr(ErrAgentTLS, err, "The certificate of %s has expired or is not valid yet (check this machine's clock too).", where)
	case errors.As(err, &invalid), errors.As(err, &verify):
		return connErr(ErrAgentTLS, err, "The certificate of %s was refused: %v.", where, rootCause(err))
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		return connErr(ErrAgentTLS, err, "The server at %s does not speak https (TLS). If the agent serves plain http, the address must start with http://.", where)
	case errors.As(err, &alert):
		return connErr(ErrAgentTLS, err, "The secure connection (TLS) to %s failed: the server refused it (%v).", where, alert)
	}
	return nil
}

// explainStatus turns an HTTP error reply into a sentence. A reply with
// the agent's JSON error code is from a Parley agent; one without is from
// some other server (or a proxy in front of the agent).
func explainStatus(se *signal.StatusError, u *url.URL, token string) error {
	where := hostPort(u)
	parley := se.API.Code != ""
	switch {
	case se.Status == http.StatusUnauthorized && parley && token == "":
		return connErr(ErrAgentToken, se, "The agent at %s needs a token, and none is set. Enter the token parley-agent was started with (--token or --token-file).", where)
	case se.Status == http.StatusUnauthorized && parley:
		hint := ""
		if strings.TrimSpace(token) != token {
			hint = " The token has spaces at its start or end: remove them."
		}
		return connErr(ErrAgentToken, se, "The agent at %s refused the token (401 Unauthorized). Check that it is the token parley-agent was started with (--token or --token-file).%s", where, hint)
	case se.Status == http.StatusUnauthorized:
		return connErr(ErrAgentToken, se, "The server at %s refused access (401 Unauthorized), and not the way a Parley agent does: check the token, and whether a proxy in front of the agent wants a login of its own.", where)
	case se.Status == http.StatusServiceUnavailable && parley:
		retry := ""
		if se.RetryAfter != "" {
			retry = " Try again in " + se.RetryAfter + " s."
		}
		return connErr(ErrAgentBusy, se, "The agent at %s takes no calls right now (503: %s).%s", where, se.API.Message, retry)
	case se.Status == http.StatusForbidden && se.API.Code == api.CodeForbidden:
		return connErr(ErrAgentFailed, se, "The agent at %s serves only its own machine (403: %s). Start parley-agent with a --listen address other machines can reach.", where, se.API.Message)
	case se.Status == http.StatusNotFound && se.API.Code == api.CodeNotFound:
		return connErr(ErrOldAgent, se, "The server at %s answers like a Parley agent but does not know GET %s: it is probably an older parley-agent. Calls may still work; update the agent to test the connection.", where, api.InfoPath)
	case parley:
		return connErr(ErrAgentFailed, se, "The agent at %s answered with an error: %d %s (%s).", where, se.Status, se.API.Code, se.API.Message)
	}
	hint := " Check the address and the port."
	if u.Scheme == "http" && se.Status == http.StatusBadRequest {
		hint = " If the agent serves https, the address must start with https://."
	}
	return connErr(ErrNotAgent, se, "The server at %s is not a Parley agent: it answered GET %s with %d %s.%s", where, api.InfoPath, se.Status, http.StatusText(se.Status), hint)
}

// hostPort is u's host:port, the port filled in from the scheme.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rootCause drops the layers that only repeat the URL (url.Error and
// signal's wrapping) and keeps what the network said.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// roundTrip formats a duration for a person: "12 ms", "1.5 s".
func roundTrip(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", max(d.Milliseconds(), 1))
	}
	return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
}
