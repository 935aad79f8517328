package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAgent serves a pack in the agent's wire format:
// GET /v1/assets/manifest and GET /v1/assets/{sha256}, bearer token, JSON
// errors. Hooks let a test make it hostile.
type fakeAgent struct {
	manifest Manifest
	blobs    map[Digest][]byte
	token    string
	delay    time.Duration

	// asset, when set, may take over serving an asset (return true).
	asset func(w http.ResponseWriter, a Asset, b []byte) bool
	// manifestBody, when set, replaces the manifest.
	manifestBody func(w http.ResponseWriter) bool

	mu                    sync.Mutex
	inflight, maxInflight int
	assetGets             int
}

func newFakeAgent(n int) *fakeAgent {
	a := &fakeAgent{manifest: Manifest{Version: ManifestVersion, Pack: "test pack"}, blobs: map[Digest][]byte{}}
	types := []string{"image/png", "image/webp", "image/jpeg", "application/json", "image/svg+xml"}
	for i := range n {
		b := randBytes(2000+37*i, uint64(7000+i))
		d := Sum(b)
		a.blobs[d] = b
		a.manifest.Assets = append(a.manifest.Assets, Asset{Hash: d, Size: int64(len(b)), MediaType: types[i%len(types)], Name: fmt.Sprintf("asset-%02d", i)})
	}
	return a
}

func (f *fakeAgent) start(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/assets/manifest", func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		if f.manifestBody != nil && f.manifestBody(w) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(f.manifest)
	})
	mux.HandleFunc("GET /v1/assets/{hash}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.inflight++
		f.assetGets++
		f.maxInflight = max(f.maxInflight, f.inflight)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.inflight--
			f.mu.Unlock()
		}()
		time.Sleep(f.delay)
		if !f.authorized(w, r) {
			return
		}
		d := Digest(r.PathValue("hash"))
		a, ok := f.find(d)
		if !ok {
			jsonError(w, http.StatusNotFound, "not_found", "no such asset")
			return
		}
		if f.asset != nil && f.asset(w, a, f.blobs[d]) {
			return
		}
		w.Header().Set("Content-Type", a.MediaType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("ETag", `"`+string(d)+`"`)
		w.Write(f.blobs[d])
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeAgent) find(d Digest) (Asset, bool) {
	for _, a := range f.manifest.Assets {
		if a.Hash == d {
			return a, true
		}
	}
	return Asset{}, false
}

func (f *fakeAgent) authorized(w http.ResponseWriter, r *http.Request) bool {
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		jsonError(w, http.StatusUnauthorized, "unauthorized", "missing or bad token")
		return false
	}
	return true
}

func (f *fakeAgent) gets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.assetGets
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}

// TestSync: the first sync fetches everything, the second nothing; a file
// deleted behind the store's back, or found corrupt by a read, is fetched
// again; the pack is pinned; progress reaches the total.
func TestSync(t *testing.T) {
	agent := newFakeAgent(12)
	agent.token = "s3cret"
	srv := agent.start(t)
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	var progress []Progress
	opts := SyncOptions{BaseURL: srv.URL + "/", Token: "s3cret", Client: srv.Client(), Progress: func(p Progress) { progress = append(progress, p) }}

	rep, err := Sync(t.Context(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, a := range agent.manifest.Assets {
		total += a.Size
	}
	if rep.Fetched != 12 || rep.Present != 0 || rep.FetchedBytes != total || len(rep.Failed) != 0 || rep.Manifest.Pack != "test pack" {
		t.Fatalf("first sync: %+v", rep)
	}
	if len(progress) != 13 || progress[0] != (Progress{0, 12, 0, total}) || progress[12] != (Progress{12, 12, total, total}) {
		t.Fatalf("progress: %+v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Done != i || progress[i].Bytes <= progress[i-1].Bytes {
			t.Fatalf("progress not monotonic: %+v", progress)
		}
	}
	for _, a := range agent.manifest.Assets {
		b, err := s.ReadFile(a.Hash)
		if err != nil || string(b) != string(agent.blobs[a.Hash]) {
			t.Fatalf("%s: %v", a.Name, err)
		}
	}
	for _, e := range s.List() {
		if !e.Pinned {
			t.Fatalf("%s not pinned", e.Digest.Short())
		}
	}

	gets := agent.gets()
	progress = nil
	rep, err = Sync(t.Context(), s, opts)
	if err != nil || rep.Fetched != 0 || rep.Present != 12 || agent.gets() != gets {
		t.Fatalf("second sync: %+v, %v; %d asset requests", rep, err, agent.gets()-gets)
	}
	if len(progress) != 1 || progress[0] != (Progress{}) {
		t.Fatalf("progress of a sync with nothing to do: %+v", progress)
	}

	// Deleted behind the store's back, and corrupted then read.
	deleted, corrupt := agent.manifest.Assets[3], agent.manifest.Assets[7]
	os.Remove(filepath.Join(dir, string(deleted.Hash)))
	flipByte(t, filepath.Join(dir, string(corrupt.Hash)), 10)
	if _, err := s.ReadFile(corrupt.Hash); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of the corrupted file: %v", err)
	}
	rep, err = Sync(t.Context(), s, opts)
	if err != nil || rep.Fetched != 2 || rep.Present != 10 || agent.gets() != gets+2 {
		t.Fatalf("third sync: %+v, %v", rep, err)
	}
	for _, a := range []Asset{deleted, corrupt} {
		if _, err := s.ReadFile(a.Hash); err != nil {
			t.Fatalf("%s not refetched: %v", a.Name, err)
		}
	}
}

// TestFetch refetches one asset.
func TestFetch(t *testing.T) {
	agent := newFakeAgent(2)
	srv := agent.start(t)
	s, _ := openStore(t, t.TempDir(), 0)
	a := agent.manifest.Assets[1]
	if err := Fetch(t.Context(), s, SyncOptions{BaseURL: srv.URL}, a); err != nil {
		t.Fatal(err)
	}
	if !s.Has(a.Hash) || s.Has(agent.manifest.Assets[0].Hash) {
		t.Fatal("Fetch stored the wrong assets")
	}
	bad := a
	bad.Hash = Sum([]byte("unknown"))
	var ae *AssetError
	var he *HTTPError
	if err := Fetch(t.Context(), s, SyncOptions{BaseURL: srv.URL}, bad); !errors.As(err, &ae) || !errors.As(err, &he) || he.StatusCode != 404 {
		t.Fatalf("Fetch of an unknown asset = %v", err)
	}
	bad.Hash = "../../etc/passwd"
	if err := Fetch(t.Context(), s, SyncOptions{BaseURL: srv.URL}, bad); !errors.Is(err, ErrBadDigest) {
		t.Fatalf("Fetch of a bad hash = %v", err)
	}
}

// TestSyncHostile: a server that lies is refused, the lie stores nothing,
// and the honest assets still arrive.
func TestSyncHostile(t *testing.T) {
	const victim = "asset-02"
	asset := func(fn func(w http.ResponseWriter, a Asset, b []byte)) func(http.ResponseWriter, Asset, []byte) bool {
		return func(w http.ResponseWriter, a Asset, b []byte) bool {
			if a.Name != victim {
				return false
			}
			fn(w, a, b)
			return true
		}
	}
	for _, tc := range []struct {
		name     string
		setup    func(f *fakeAgent)
		token    string
		wantErr  error
		errHas   string
		manifest bool // the whole sync fails: nothing stored
	}{
		{"wrong bytes", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				w.Header().Set("Content-Type", a.MediaType)
				w.Write(randBytes(len(b), 1))
			})
		}, "", ErrMismatch, victim, false},
		{"shorter body", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				w.Header().Set("Content-Type", a.MediaType)
				w.Write(b[:len(b)-1])
			})
		}, "", ErrMismatch, victim, false},
		{"longer body, no Content-Length", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				w.Header().Set("Content-Type", a.MediaType)
				w.Write(b)
				w.(http.Flusher).Flush() // chunked: no length up front
				w.Write([]byte("extra"))
			})
		}, "", ErrTooLarge, "more than", false},
		{"longer Content-Length", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				body := append(b, make([]byte, 1<<20)...)
				w.Header().Set("Content-Type", a.MediaType)
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.Write(body)
			})
		}, "", ErrTooLarge, "Content-Length", false},
		{"wrong Content-Type", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				w.Header().Set("Content-Type", "text/html")
				w.Write(b)
			})
		}, "", ErrMediaType, `served as "text/html"`, false},
		{"no Content-Type", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				w.Header()["Content-Type"] = nil // no sniffing either
				w.Write(b)
			})
		}, "", ErrMediaType, `served as ""`, false},
		{"asset 500", func(f *fakeAgent) {
			f.asset = asset(func(w http.ResponseWriter, a Asset, b []byte) {
				jsonError(w, 500, "internal", "disk on fire")
			})
		}, "", nil, "500 Internal Server Error: disk on fire (internal)", false},
		{"malformed manifest", func(f *fakeAgent) {
			f.manifestBody = func(w http.ResponseWriter) bool {
				w.Write([]byte(`{"version":1,"pack":"p","assets":[{"hash":"zz"}]}`))
				return true
			}
		}, "", ErrBadManifest, "hash", true},
		{"manifest with a path name", func(f *fakeAgent) {
			f.manifest.Assets[0].Name = "../../.bashrc"
		}, "", ErrBadManifest, "looks like a path", true},
		{"manifest of another version", func(f *fakeAgent) { f.manifest.Version = 2 }, "", ErrBadManifest, "version 2", true},
		{"401", func(f *fakeAgent) { f.token = "right" }, "wrong", nil, "401 Unauthorized: missing or bad token (unauthorized)", true},
		{"503", func(f *fakeAgent) {
			f.manifestBody = func(w http.ResponseWriter) bool {
				w.Header().Set("Retry-After", "5")
				jsonError(w, 503, "busy", "too many sessions")
				return true
			}
		}, "", nil, "503 Service Unavailable: too many sessions (busy)", true},
		{"error without JSON", func(f *fakeAgent) {
			f.manifestBody = func(w http.ResponseWriter) bool { http.Error(w, "<html>teapot</html>", 418); return true }
		}, "", nil, "418 I'm a teapot", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := newFakeAgent(5)
			tc.setup(agent)
			srv := agent.start(t)
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			rep, err := Sync(t.Context(), s, SyncOptions{BaseURL: srv.URL, Token: tc.token, Client: srv.Client()})
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Sync = %v; want %v saying %q", err, tc.wantErr, tc.errHas)
			}
			var want []string
			if !tc.manifest {
				if len(rep.Failed) != 1 || rep.Failed[0].Asset.Name != victim || rep.Fetched != 4 {
					t.Fatalf("report %+v; want %s failed, 4 fetched", rep, victim)
				}
				if !strings.Contains(err.Error(), `asset "`+victim+`"`) {
					t.Fatalf("error does not name the asset: %v", err)
				}
				for _, a := range agent.manifest.Assets {
					if a.Name != victim {
						want = append(want, string(a.Hash))
					}
				}
				slices.Sort(want)
			}
			if got := assetNames(t, dir); !slices.Equal(got, want) {
				t.Fatalf("store holds %v, want %v", got, want)
			}
			var he *HTTPError
			if strings.Contains(tc.errHas, "Unauthorized") && (!errors.As(err, &he) || he.StatusCode != 401) {
				t.Fatalf("not an *HTTPError 401: %v", err)
			}
		})
	}
}

// TestSyncConcurrency: no more than Concurrency assets are fetched at once
// (and more than one is).
func TestSyncConcurrency(t *testing.T) {
	agent := newFakeAgent(20)
	agent.delay = 20 * time.Millisecond
	srv := agent.start(t)
	s, _ := openStore(t, t.TempDir(), 0)
	rep, err := Sync(t.Context(), s, SyncOptions{BaseURL: srv.URL, Concurrency: 3})
	if err != nil || rep.Fetched != 20 {
		t.Fatalf("Sync = %+v, %v", rep, err)
	}
	if agent.maxInflight > 3 || agent.maxInflight < 2 {
		t.Fatalf("%d requests at once, want 2..3", agent.maxInflight)
	}
}

func TestSyncCancelled(t *testing.T) {
	agent := newFakeAgent(8)
	agent.delay = 50 * time.Millisecond
	srv := agent.start(t)
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, err := Sync(ctx, s, SyncOptions{BaseURL: srv.URL, Concurrency: 2})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync = %v", err)
	}
	if tmps := tempNames(t, dir); len(tmps) != 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
}

func TestSyncBadURL(t *testing.T) {
	s, _ := openStore(t, t.TempDir(), 0)
	for _, u := range []string{"", "127.0.0.1:1234", "ftp://x", "http://"} {
		if _, err := Sync(t.Context(), s, SyncOptions{BaseURL: u}); !errors.Is(err, ErrBadURL) {
			t.Fatalf("BaseURL %q: %v", u, err)
		}
	}
}
