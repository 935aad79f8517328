// Command parley-agent is Parley's headless agent server: HTTP signaling and
// one WebRTC session per caller, no window and no GL. Every flag can also be
// set by an environment variable: --max-sessions is PARLEY_MAX_SESSIONS, and
// so on (repeatable flags take a comma-separated list).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/brain"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/media/rtc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// config is everything the flags set.
type config struct {
	listen       string
	token        string
	tokenFile    string
	maxSessions  int
	idleTimeout  time.Duration
	iceServers   []string
	nat1to1      []string
	udpPortRange string
	tlsCert      string
	tlsKey       string
	allowPrivate bool
	logFormat    string
	logLevel     string
	handler      string
	brain        brain.Config
	avatarPack   string
	pack         *avatar.Pack
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("parley-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: parley-agent [flags]

Serves Parley calls: HTTP signaling (POST /v1/sessions, DELETE /v1/sessions/{id}),
/healthz and /metrics, and one WebRTC session per caller. Listening on a loopback
address serves this machine only, over ICE-free loopback; any other address serves
remote clients with normal ICE.

Every flag can be set from the environment as PARLEY_<FLAG> (dashes become
underscores: --max-sessions is PARLEY_MAX_SESSIONS); flags win over the environment;
repeatable flags take a comma-separated list there.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8443", "`host:port` to serve signaling on")
	fs.StringVar(&c.token, "token", "", "bearer `token` clients must send (this or --token-file is required)")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the bearer token from this `file` (first line)")
	fs.IntVar(&c.maxSessions, "max-sessions", 8, "concurrent calls; more get 503 with Retry-After")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 10*time.Minute, "end a call from which nothing (audio or events) has come for this long; 0 never")
	fs.Func("ice-server", "STUN/TURN `URL`, repeatable (or a comma-separated list); credentials as turn:user:password@host:port, ':' in them as %3A", func(v string) error {
		c.iceServers = append(c.iceServers, splitURLs(v)...)
		return nil
	})
	fs.Func("nat-1to1-ip", "public `IP` to advertise for host candidates (agent behind a 1:1 NAT), repeatable or comma-separated", func(v string) error {
		for _, ip := range strings.Split(v, ",") {
			if ip = strings.TrimSpace(ip); net.ParseIP(ip) == nil {
				return fmt.Errorf("%q is not an IP address", ip)
			}
			c.nat1to1 = append(c.nat1to1, strings.TrimSpace(ip))
		}
		return nil
	})
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "accept ICE candidates with private, loopback or link-local addresses from clients (agent and clients on one LAN)")
	fs.StringVar(&c.udpPortRange, "udp-port-range", "", "UDP `ports` for media, as lo-hi (e.g. 50000-50100); empty for any")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `file` (PEM; needs --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the private key `file` for --tls-cert (PEM)")
	fs.StringVar(&c.avatarPack, "avatar-pack", "", "serve the avatar pack in this `folder` (pack.json and its images) instead of the built-in one")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	handler := c.brain.Flags(fs)
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix("PARLEY")); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.handler = *handler
	if err := c.brain.Check(c.handler); err != nil {
		return c, err
	}
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return c, fmt.Errorf("--token-file: %w", err)
		}
		c.token = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	switch {
	case c.token == "":
		return c, errors.New("a token is required (--token, --token-file or PARLEY_TOKEN)")
	case c.maxSessions < 1:
		return c, fmt.Errorf("--max-sessions %d: want at least 1", c.maxSessions)
	case c.idleTimeout < 0:
		return c, fmt.Errorf("--idle-timeout %v: want 0 or more", c.idleTimeout)
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return c, errors.New("--tls-cert and --tls-key go together")
	case c.logFormat != "text" && c.logFormat != "json":
		return c, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	c.pack = avatar.Default()
	if c.avatarPack != "" {
		p, err := avatar.LoadDir(c.avatarPack)
		if err != nil {
			return c, fmt.Errorf("--avatar-pack: %w", err)
		}
		c.pack = p
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return c, fmt.Errorf("--listen %q: want host:port", c.listen)
	}
	return c, nil
}

// splitURLs splits a comma-separated list of STUN/TURN URLs, keeping commas
// that are part of a password (a piece that does not start with a scheme
// belongs to the one before).
func splitURLs(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if len(out) > 0 && !strings.HasPrefix(p, "stun") && !strings.HasPrefix(p, "turn") {
			out[len(out)-1] += "," + p
			continue
		}
		out = append(out, p)
	}
	return out
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func isLoopbackListen(listen string) bool {
	host, _, _ := net.SplitHostPort(listen)
	return rtc.IsLoopback(host)
}

func newFactory(c config, log *slog.Logger) (*rtc.Factory, error) {
	host, _, _ := net.SplitHostPort(c.listen)
	opts := []rtc.Option{rtc.WithLogger(log)}
	if rtc.IsLoopback(host) {
		return rtc.NewLoopback(opts...)
	}
	servers, err := rtc.ParseICEServers(c.iceServers)
	if err != nil {
		return nil, err
	}
	opts = append(opts, rtc.WithNAT1To1IPs(c.nat1to1...))
	if c.udpPortRange != "" {
		lo, hi, ok := strings.Cut(c.udpPortRange, "-")
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || l == 0 || l > h {
			return nil, fmt.Errorf("--udp-port-range %q: want lo-hi with 1 <= lo <= hi <= 65535", c.udpPortRange)
		}
		opts = append(opts, rtc.WithUDPPortRange(uint16(l), uint16(h)))
	}
	var ropts []rtc.RemoteOption
	if c.allowPrivate {
		ropts = append(ropts, rtc.AllowPrivate())
	}
	return rtc.NewRemote(servers, opts, ropts...)
}

func run(args []string, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "parley-agent:", err)
		return 2
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "parley-agent:", err)
		return 2
	}
	factory, err := newFactory(c, log)
	if err != nil {
		fmt.Fprintln(stderr, "parley-agent:", err)
		return 2
	}
	handler := echo.New(echo.Config{Log: log})
	if c.handler == brain.HandlerConversation {
		c.brain.Log = log
		b, err := brain.Build(context.Background(), c.brain)
		if err != nil {
			log.Error("conversation providers", "err", err)
			return 1
		}
		defer b.Close()
		handler = b.Handler
	}
	srv, err := agent.NewServer(agent.Config{
		Token: c.token, Handler: handler, Factory: factory, Log: log,
		MaxSessions: c.maxSessions, IdleTimeout: c.idleTimeout, Avatar: c.pack,
		// Serving this machine only: also refuse non-loopback Host headers
		// (DNS rebinding), as the app's local agent does.
		LoopbackOnly: isLoopbackListen(c.listen),
	})
	if err != nil {
		log.Error("server", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		log.Error("listen", "addr", c.listen, "err", err)
		return 1
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		if c.tlsCert != "" {
			errc <- hs.ServeTLS(ln, c.tlsCert, c.tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	scheme := "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	log.Info("parley-agent listening", "url", (&url.URL{Scheme: scheme, Host: ln.Addr().String()}).String(),
		"max_sessions", c.maxSessions, "idle_timeout", c.idleTimeout.String(), "ice_servers", len(c.iceServers))
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "err", err)
			return 1
		}
	case <-ctx.Done():
	}
	// Stop taking calls and end each session with a bye, waiting for their
	// goroutines; then let the HTTP server finish what is in flight.
	log.Info("shutting down", "sessions", srv.Sessions())
	_ = srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	log.Info("parley-agent stopped")
	return 0
}
