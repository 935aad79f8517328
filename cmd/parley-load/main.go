// Command parley-load opens many concurrent echo calls against a running
// parley-agent and reports, for each load step, the agent's CPU and memory,
// packet loss both ways and the time a frame spends in the agent (from the
// agent's /metrics). Each call sends real speech (pocketsphinx-testdata's
// "go forward ten meters", Opus-encoded once and looped) and answers the
// agent's pings; received audio is only counted, not decoded, so the load
// tool itself stays light.
//
//	parley-load --agent http://127.0.0.1:8443 --token T --steps 10,25,50 --duration 10s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/parley-app/parley/app/load"
	"github.com/parley-app/parley/media/wavfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	agentURL := fs.String("agent", "http://127.0.0.1:8443", "agent base `URL`")
	token := fs.String("token", "", "bearer `token` (env PARLEY_TOKEN)")
	steps := fs.String("steps", "10,25,50,100,200", "concurrent calls per step, comma-separated")
	duration := fs.Duration("duration", 10*time.Second, "how long each step holds its calls after they connect")
	input := fs.String("input", "", "WAV file each call sends in a loop (default: goforward.raw from pocketsphinx-testdata)")
	asJSON := fs.Bool("json", false, "print one JSON object per step instead of a table")
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix("PARLEY")); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var ns []int
	for _, s := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "parley-load: --steps %q: want positive numbers\n", *steps)
			return 2
		}
		ns = append(ns, n)
	}
	pcm, err := speech(*input)
	if err != nil {
		fmt.Fprintln(stderr, "parley-load:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := load.WaitHealthy(ctx, *agentURL, 10*time.Second); err != nil {
		fmt.Fprintln(stderr, "parley-load:", err)
		return 1
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "| calls | connected | agent CPU | agent RSS | loss to agent | loss from agent | of which never sent | frame p50 | frame p99 |")
		fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	}
	for _, n := range ns {
		r, err := load.Step(ctx, load.Config{AgentURL: *agentURL, Token: *token, Calls: n, Duration: *duration, Speech: pcm})
		if err != nil {
			fmt.Fprintln(stderr, "parley-load:", err)
			return 1
		}
		if *asJSON {
			_ = json.NewEncoder(stdout).Encode(r)
			continue
		}
		fmt.Fprintf(stdout, "| %d | %d | %.0f %% | %.0f MiB | %.2f %% | %.2f %% | %.2f %% | %.2f ms | %.2f ms |\n",
			r.Calls, r.Connected, r.AgentCPUPercent, r.AgentRSSMiB, r.LossToAgentPercent, r.LossFromAgentPercent, r.AgentLatePercent, r.FrameP50MS, r.FrameP99MS)
	}
	return 0
}

func speech(path string) ([]int16, error) {
	if path != "" {
		return wavfile.Load(path)
	}
	return load.DefaultSpeech()
}
