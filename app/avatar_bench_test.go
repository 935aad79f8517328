package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-app/parley/app/localagent"
	"github.com/parley-app/parley/cache"
)

// BenchmarkAvatarPreload measures the avatar pack's preload from a local
// agent over HTTP: a cold sync into an empty cache, a warm start (reopen
// the cache, check every asset of the manifest is there, sync: nothing to
// fetch), and verify throughput, next to sha256sum over the same files in
// the same run. Verify and sha256sum both hash the pack's files 20 times
// over, so sha256sum's process start is spread out.
func BenchmarkAvatarPreload(b *testing.B) {
	la, err := localagent.Start(nil, localagent.Options{Echo: true})
	if err != nil {
		b.Fatal(err)
	}
	defer la.Close()
	ctx := context.Background()
	opts := cache.SyncOptions{BaseURL: la.URL, Token: la.Token}
	var cold, warm, check time.Duration
	var dir string
	var rep cache.SyncReport
	for b.Loop() {
		dir = b.TempDir()
		t0 := time.Now()
		s, err := cache.Open(dir, cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rep, err = cache.Sync(ctx, s, opts); err != nil || rep.Fetched == 0 {
			b.Fatalf("cold sync fetched %d: %v", rep.Fetched, err)
		}
		cold += time.Since(t0)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}

		t0 = time.Now()
		s, err = cache.Open(dir, cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range rep.Manifest.Assets {
			if !s.Has(a.Hash) {
				b.Fatalf("%s missing after a sync", a.Name)
			}
		}
		check += time.Since(t0)
		if r, err := cache.Sync(ctx, s, opts); err != nil || r.Fetched != 0 {
			b.Fatalf("warm sync fetched %d: %v", r.Fetched, err)
		}
		warm += time.Since(t0)
		s.Close()
	}
	n := float64(b.N)
	b.ReportMetric(float64(cold.Microseconds())/1000/n, "cold-ms")
	b.ReportMetric(float64(check.Microseconds())/1000/n, "warm-check-ms")
	b.ReportMetric(float64(warm.Microseconds())/1000/n, "warm-sync-ms")

	// Verify vs sha256sum over the same files, 20 passes each.
	const passes = 20
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var bytes int64
	t0 := time.Now()
	for range passes {
		r, err := s.Verify(ctx)
		if err != nil || len(r.Corrupt) > 0 {
			b.Fatalf("verify: %+v %v", r, err)
		}
		bytes += r.Bytes
	}
	verify := time.Since(t0)
	var files []string
	_ = filepath.WalkDir(s.Dir(), func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() && len(filepath.Base(p)) == 64 { // digest-named: not the index or temp files
			files = append(files, p)
		}
		return nil
	})
	if len(files) != len(rep.Manifest.Assets) {
		b.Fatalf("found %d cached files, want %d", len(files), len(rep.Manifest.Assets))
	}
	var args []string
	for range passes {
		args = append(args, files...)
	}
	t0 = time.Now()
	if out, err := exec.Command("sha256sum", args...).CombinedOutput(); err != nil {
		b.Fatalf("sha256sum: %v\n%s", err, out)
	}
	shasum := time.Since(t0)
	mb := float64(bytes) / 1e6
	b.ReportMetric(mb/verify.Seconds(), "verify-MB/s")
	b.ReportMetric(mb/shasum.Seconds(), "sha256sum-MB/s")
	b.Logf("pack %q: %d files, %.0f KB; cold %.1f ms, warm check %.2f ms, warm sync %.1f ms; verify %.0f MB/s vs sha256sum %.0f MB/s (%.2f×)",
		rep.Manifest.Pack, len(files), float64(bytes)/passes/1e3, float64(cold.Microseconds())/1000/n,
		float64(check.Microseconds())/1000/n, float64(warm.Microseconds())/1000/n,
		mb/verify.Seconds(), mb/shasum.Seconds(), shasum.Seconds()/verify.Seconds())
}
