// Command parley-agent is Parley's headless agent server: HTTP signaling and
// one WebRTC session per caller, no window and no GL.
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
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/media/rtc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", envOr("PARLEY_LISTEN", "127.0.0.1:8443"), "address to serve signaling on (env PARLEY_LISTEN)")
	token := fs.String("token", os.Getenv("PARLEY_TOKEN"), "bearer token clients must send (env PARLEY_TOKEN; required)")
	logLevel := fs.String("log-level", envOr("PARLEY_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env PARLEY_LOG_LEVEL)")
	maxSessions := fs.Int("max-sessions", envInt("PARLEY_MAX_SESSIONS", 8), "concurrent calls served; more get 503 with Retry-After (env PARLEY_MAX_SESSIONS)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "parley-agent: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if *token == "" {
		fmt.Fprintln(stderr, "parley-agent: a token is required (--token or PARLEY_TOKEN)")
		return 2
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "parley-agent: --listen %q: want host:port\n", *listen)
		return 2
	}
	// Listening on loopback serves this machine only: use the ICE-free
	// loopback transport. Anything else serves other machines.
	factory, err := rtc.NewFor(host, nil, rtc.WithLogger(log))
	if err != nil {
		log.Error("peer connection factory", "err", err)
		return 1
	}
	if *maxSessions < 1 {
		fmt.Fprintf(stderr, "parley-agent: --max-sessions %d: want at least 1\n", *maxSessions)
		return 2
	}
	srv, err := agent.NewServer(agent.Config{
		Token: *token, Handler: echo.New(echo.Config{Log: log}), Factory: factory, Log: log,
		MaxSessions: *maxSessions,
	})
	if err != nil {
		log.Error("server", "err", err)
		return 1
	}
	hs := &http.Server{Addr: *listen, Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("parley-agent listening", "addr", *listen)
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

// envInt returns the integer in $key, or def when it is unset or not a
// number.
func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
