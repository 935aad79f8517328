package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parley-app/parley/cache"
)

// runCache is `parley cache ls|verify|gc`.
func runCache(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprint(stderr, `Usage:
  parley cache ls [--json]        list the cached avatar assets, most recently used first
  parley cache verify             rehash every asset; corrupt ones are removed (exit 1)
  parley cache gc [--budget SIZE] remove leftovers of interrupted writes and foreign files,
                                  and evict least recently used unpinned assets over SIZE

Assets live in `+cache.DefaultDir()+` (override with --dir).
SIZE is bytes, or a number with KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
`)
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	fs := flag.NewFlagSet("parley cache "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage
	dir := fs.String("dir", cache.DefaultDir(), "asset cache `directory`")
	asJSON := fs.Bool("json", false, "ls: one JSON object per asset")
	budget := fs.String("budget", "0", "gc: evict least recently used unpinned assets until the cache holds at most `SIZE`; 0 evicts nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		usage()
		return 2
	}
	if args[0] != "ls" && args[0] != "verify" && args[0] != "gc" {
		usage()
		return 2
	}
	var budgetBytes int64
	if args[0] == "gc" {
		var err error
		if budgetBytes, err = parseSize(*budget); err != nil {
			fmt.Fprintln(stderr, "parley cache gc:", err)
			return 2
		}
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "parley cache:", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := cache.Open(*dir, cache.Options{Budget: budgetBytes, Log: log})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	switch args[0] {
	case "ls":
		return cacheList(s, *asJSON, stdout)
	case "verify":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		rep, err := s.Verify(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "checked %d assets, %s\n", rep.Files, formatSize(rep.Bytes))
		for _, d := range rep.Missing {
			fmt.Fprintf(stdout, "missing (dropped from the index): %s\n", d)
		}
		if len(rep.Corrupt) > 0 {
			for _, d := range rep.Corrupt {
				fmt.Fprintf(stderr, "corrupt, removed: %s\n", d)
			}
			fmt.Fprintf(stderr, "parley cache: %d corrupt assets removed; they are fetched again at the next connection\n", len(rep.Corrupt))
			return 1
		}
	case "gc":
		rep, err := s.GC()
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "removed %d leftover files (%s)\n", rep.Leftovers, formatSize(rep.LeftoverBytes))
		for _, d := range rep.Evicted {
			fmt.Fprintf(stdout, "evicted %s\n", d)
		}
		fmt.Fprintf(stdout, "evicted %d assets (%s); %d assets, %s left\n", len(rep.Evicted), formatSize(rep.EvictedBytes), len(s.List()), formatSize(s.Size()))
	}
	return 0
}

// cacheList prints the store's assets and a total line.
func cacheList(s *cache.Store, asJSON bool, stdout io.Writer) int {
	es := s.List()
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range es {
			if err := enc.Encode(e); err != nil {
				return 1
			}
		}
		return 0
	}
	pinned := 0
	for _, e := range es {
		mark := ""
		if e.Pinned {
			mark = "pinned"
			pinned++
		}
		fmt.Fprintf(stdout, "%s  %10s  %s  %s\n", e.Digest, formatSize(e.Size), e.LastUsed.Local().Format(time.DateTime), mark)
	}
	fmt.Fprintf(stdout, "total: %d assets, %s (%d pinned)\n", len(es), formatSize(s.Size()), pinned)
	return 0
}

// sizeUnits are the suffixes parseSize accepts, lowercase.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"b", 1},
}

// parseSize reads a byte count: "1048576", "64MiB", "1.5 GB", "512kb".
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("size %q: want bytes, or a number with KB, MB, GB, KiB, MiB or GiB", s)
	}
	return int64(v * float64(mult)), nil
}

// formatSize prints bytes for people: "512 B", "1.5 MiB".
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGT"[i])
}
