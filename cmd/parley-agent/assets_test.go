package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-app/parley/app/load"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/cache"
)

// runAgent starts the real binary with args and returns its URL.
func runAgent(t *testing.T, args ...string) (string, *bytes.Buffer) {
	t.Helper()
	bin := buildAgent(t)
	addr := freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--listen", addr, "--token", "t", "--handler", "echo"}, args...)...)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	if err := load.WaitHealthy(context.Background(), url, 10*time.Second); err != nil {
		t.Fatalf("agent did not come up: %v\n%s", err, logs.String())
	}
	return url, &logs
}

// TestDifferentialSync: a client's cache syncs against the real
// parley-agent over HTTP: the first sync fetches the whole pack, the second
// nothing, and only what was lost (a deleted file, a corrupted one) is
// fetched again.
func TestDifferentialSync(t *testing.T) {
	url, logs := runAgent(t)
	store, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opts := cache.SyncOptions{BaseURL: url, Token: "t"}
	ctx := context.Background()
	pack := avatar.Default()

	rep, err := cache.Sync(ctx, store, opts)
	if err != nil {
		t.Fatalf("first sync: %v\n%s", err, logs)
	}
	if rep.Fetched != len(pack.Files) || rep.Present != 0 || rep.Manifest.Pack != pack.Name {
		t.Fatalf("first sync: fetched %d, present %d of pack %q; want all %d of %q", rep.Fetched, rep.Present, rep.Manifest.Pack, len(pack.Files), pack.Name)
	}
	for _, f := range pack.Files {
		b, err := store.ReadFile(cache.Digest(f.Hash))
		if err != nil || !bytes.Equal(b, f.Data) {
			t.Fatalf("%s: cached copy differs from the pack (%v)", f.Name, err)
		}
	}
	if rep, err = cache.Sync(ctx, store, opts); err != nil || rep.Fetched != 0 || rep.Present != len(pack.Files) {
		t.Fatalf("second sync fetched %d (present %d): %v", rep.Fetched, rep.Present, err)
	}

	// Lose one file and corrupt another (same size, so only its hash tells).
	lost, bad := rep.Manifest.Assets[0], rep.Manifest.Assets[1]
	if err := store.Remove(lost.Hash); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	var path string
	_ = filepath.WalkDir(store.Dir(), func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() && strings.HasSuffix(p, string(bad.Hash)) {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatal("cannot find the cached file to corrupt")
	}
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	store, err = cache.Open(store.Dir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rep, err = cache.Sync(ctx, store, opts)
	if err != nil || rep.Fetched != 2 {
		t.Fatalf("after losing one file and corrupting another: fetched %d, %v", rep.Fetched, err)
	}
	if got, err := store.ReadFile(bad.Hash); err != nil || cache.Sum(got) != bad.Hash {
		t.Fatalf("the corrupted asset was not replaced: %v", err)
	}
}

// TestOperatorPack: --avatar-pack serves another pack folder, and a broken
// one is refused at start with a clear error.
func TestOperatorPack(t *testing.T) {
	dir := t.TempDir()
	pack := avatar.Default()
	idx, err := os.ReadFile(filepath.Join("..", "..", "assets", "avatar", "pack", "pack.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx = bytes.Replace(idx, []byte(`"parley-default"`), []byte(`"operator-pack"`), 1)
	if err := os.WriteFile(filepath.Join(dir, "pack.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range pack.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	url, logs := runAgent(t, "--avatar-pack", dir)
	store, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rep, err := cache.Sync(context.Background(), store, cache.SyncOptions{BaseURL: url, Token: "t"})
	if err != nil || rep.Manifest.Pack != "operator-pack" {
		t.Fatalf("sync: pack %q, %v\n%s", rep.Manifest.Pack, err, logs)
	}

	// A pack missing a face is refused before the agent listens.
	if err := os.Remove(filepath.Join(dir, "face-happy.png")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(buildAgent(t), "--listen", freePort(t), "--token", "t", "--avatar-pack", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--avatar-pack") || !strings.Contains(string(out), "face-happy.png") {
		t.Fatalf("a broken pack: err %v, output:\n%s", err, out)
	}
}
