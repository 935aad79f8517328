package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-app/parley/cache"
)

// TestCacheCLI: ls lists the assets with a total, verify finds and removes
// a corrupt file (exit 1), gc removes leftovers and evicts the least
// recently used unpinned assets over the budget; bad input is a usage error.
func TestCacheCLI(t *testing.T) {
	dir := t.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ds []cache.Digest
	for _, b := range []string{strings.Repeat("a", 1000), strings.Repeat("b", 2000), strings.Repeat("c", 3000)} {
		d, err := s.PutBytes([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	s.SetPinned(ds[:1])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"cache"}, append(args[:1], append([]string{"--dir", dir}, args[1:]...)...)...), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := cli("ls")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, string(ds[2])) ||
		!strings.Contains(out, "total: 3 assets, 5.9 KiB (1 pinned)") || !strings.Contains(out, "pinned\n") {
		t.Fatalf("ls: %d %q %q", code, out, errs)
	}
	if code, out, _ := cli("ls", "--json"); code != 0 || strings.Count(out, "\n") != 3 {
		t.Fatalf("ls --json: %d %q", code, out)
	} else {
		var e cache.Entry
		if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &e); err != nil || e.Digest != ds[2] || e.Size != 3000 {
			t.Fatalf("ls --json first line: %+v, %v", e, err)
		}
	}

	if code, out, _ := cli("verify"); code != 0 || !strings.Contains(out, "checked 3 assets") {
		t.Fatalf("verify of a sound cache: %d %q", code, out)
	}
	f, _ := os.OpenFile(filepath.Join(dir, string(ds[1])), os.O_WRONLY, 0)
	f.WriteAt([]byte("X"), 5)
	f.Close()
	if code, _, errs := cli("verify"); code != 1 || !strings.Contains(errs, "corrupt, removed: "+string(ds[1])) {
		t.Fatalf("verify of a corrupt cache: %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, string(ds[1]))); !os.IsNotExist(err) {
		t.Fatal("the corrupt file is still there")
	}

	os.WriteFile(filepath.Join(dir, "tmp-crashed"), []byte("half"), 0o644)
	code, out, errs = cli("gc", "--budget", "1KiB")
	if code != 0 || !strings.Contains(out, "removed 1 leftover files (4 B)") || !strings.Contains(out, "evicted "+string(ds[2])) ||
		!strings.Contains(out, "evicted 1 assets (2.9 KiB); 1 assets, 1000 B left") {
		t.Fatalf("gc: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, string(ds[0]))); err != nil {
		t.Fatalf("the pinned asset was evicted: %v", err)
	}

	for _, args := range [][]string{{"gc", "--budget", "lots"}, {"frobnicate"}, {"ls", "extra"}} {
		if code, _, errs := cli(args...); code != 2 || errs == "" {
			t.Fatalf("%v: exit %d, %q; want a usage error", args, code, errs)
		}
	}
	var errb bytes.Buffer
	if code := run([]string{"cache"}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), "parley cache verify") {
		t.Fatalf("no subcommand: %d %q", code, errb.String())
	}
	// A store that cannot be opened: one clear line, exit 1.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	errb.Reset()
	if code := run([]string{"cache", "ls", "--dir", file}, &bytes.Buffer{}, &errb); code != 1 || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("unopenable dir: %d %q", code, errb.String())
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"64MiB", 64 << 20, true}, {"64 mib", 64 << 20, true},
		{"1.5GB", 1.5e9, true}, {"512kb", 512e3, true}, {"10B", 10, true}, {"2KiB", 2048, true},
		{"", 0, false}, {"-1", 0, false}, {"lots", 0, false}, {"5 TiB", 0, false}, {"1e30", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}
