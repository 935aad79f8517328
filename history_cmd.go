package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parley-app/parley/app/history"
)

// runHistory is `parley history search|export|reindex|delete`.
func runHistory(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprint(stderr, `Usage:
  parley history search [--role user|agent] [--from DATE] [--to DATE] [--json] "words"
  parley history export [--format md|json] ID
  parley history reindex
  parley history delete ID

Conversations live in `+history.DefaultDir()+` (override with --dir).
DATE is 2006-01-02 or RFC 3339.
`)
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	fs := flag.NewFlagSet("parley history "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage
	dir := fs.String("dir", history.DefaultDir(), "history `directory`")
	role := fs.String("role", "", "search: only turns of this speaker (user or agent)")
	from := fs.String("from", "", "search: only turns from this `DATE` on")
	to := fs.String("to", "", "search: only turns before this `DATE`")
	asJSON := fs.Bool("json", false, "search: print hits as JSON lines")
	format := fs.String("format", "md", "export: md or json")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "parley history:", err)
		return 1
	}
	s, err := history.Open(*dir, nil)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	switch args[0] {
	case "search":
		q := history.Query{Words: strings.Join(fs.Args(), " "), Role: *role}
		if q.From, err = parseDate(*from); err != nil {
			return fail(err)
		}
		if q.To, err = parseDate(*to); err != nil {
			return fail(err)
		}
		hits, err := s.Search(q)
		if errors.Is(err, history.ErrEmptyQuery) {
			usage()
			return 2
		}
		if err != nil {
			return fail(err)
		}
		for _, h := range hits {
			if *asJSON {
				_ = json.NewEncoder(stdout).Encode(h)
				continue
			}
			frag := h.Text
			if len(h.Fragments) > 0 {
				frag = strings.NewReplacer("<mark>", "[", "</mark>", "]").Replace(h.Fragments[0])
			}
			fmt.Fprintf(stdout, "%s  %s  %-5s  %s\n", h.Conversation, h.Start.Local().Format("2006-01-02 15:04"), h.Role, frag)
		}
		if len(hits) == 0 && !*asJSON {
			fmt.Fprintln(stderr, "no matches")
		}
	case "export":
		if fs.NArg() != 1 {
			usage()
			return 2
		}
		if err := s.Export(fs.Arg(0), *format, stdout); err != nil {
			return fail(err)
		}
	case "reindex":
		if err := s.Reindex(); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "index rebuilt")
	case "delete":
		if fs.NArg() != 1 {
			usage()
			return 2
		}
		if err := s.Delete(fs.Arg(0)); err != nil {
			return fail(err)
		}
	default:
		usage()
		return 2
	}
	return 0
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want 2006-01-02 or RFC 3339", s)
	}
	return t, nil
}
