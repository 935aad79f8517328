package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/cache"
)

func get(t *testing.T, url, auth string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestAssetEndpoints: the manifest lists every file of the pack with its
// digest, and each asset is served by digest, immutable, with the digest as
// ETag; bad digests, unknown assets and missing tokens get JSON errors.
func TestAssetEndpoints(t *testing.T) {
	pack := avatar.Default()
	_, hs := serve(t, agent.Config{Handler: echo.New(echo.Config{}), Avatar: pack})

	resp, body := get(t, hs.URL+api.ManifestPath, token)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != api.ContentTypeJSON {
		t.Fatalf("manifest: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	m, err := cache.ParseManifest(strings.NewReader(string(body)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != cache.ManifestVersion || m.Pack != pack.Name || len(m.Assets) != len(pack.Files) {
		t.Fatalf("manifest %q v%d with %d assets, want %q with %d", m.Pack, m.Version, len(m.Assets), pack.Name, len(pack.Files))
	}
	etag := resp.Header.Get("ETag")
	if r, _ := get(t, hs.URL+api.ManifestPath, token, "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("manifest revalidation: %d, want 304", r.StatusCode)
	}

	for _, a := range m.Assets {
		resp, b := get(t, hs.URL+"/v1/assets/"+string(a.Hash), token)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", a.Name, resp.StatusCode)
		}
		if cache.Sum(b) != a.Hash || int64(len(b)) != a.Size {
			t.Fatalf("%s: served bytes do not match the manifest", a.Name)
		}
		if got := resp.Header.Get("Content-Type"); got != a.MediaType {
			t.Errorf("%s: Content-Type %q, want %q", a.Name, got, a.MediaType)
		}
		if got := resp.Header.Get("ETag"); got != `"`+string(a.Hash)+`"` {
			t.Errorf("%s: ETag %q", a.Name, got)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", a.Name, cc)
		}
	}
	first := string(m.Assets[0].Hash)
	if r, _ := get(t, hs.URL+"/v1/assets/"+first, token, "If-None-Match", `"`+first+`"`); r.StatusCode != http.StatusNotModified {
		t.Errorf("asset revalidation: %d, want 304", r.StatusCode)
	}

	for _, c := range []struct {
		name, path, auth string
		status           int
		code             string
	}{
		{"malformed digest", "/v1/assets/not-a-digest", token, 400, api.CodeBadDigest},
		{"short digest", "/v1/assets/" + strings.Repeat("a", 63), token, 400, api.CodeBadDigest},
		{"path traversal", "/v1/assets/..%2f..%2fetc%2fpasswd", token, 400, api.CodeBadDigest},
		{"unknown asset", "/v1/assets/" + strings.Repeat("0", 64), token, 404, api.CodeNotFound},
		{"no token", "/v1/assets/" + first, "", 401, api.CodeUnauthorized},
		{"manifest without token", api.ManifestPath, "wrong", 401, api.CodeUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := get(t, hs.URL+c.path, c.auth)
			var e api.Error
			if resp.StatusCode != c.status || json.Unmarshal(b, &e) != nil || e.Code != c.code || e.Message == "" {
				t.Errorf("%s: %d %s, want %d %s", c.path, resp.StatusCode, b, c.status, c.code)
			}
		})
	}
}

// TestNoPack: an agent without a pack says so at /v1/assets.
func TestNoPack(t *testing.T) {
	_, hs := newServer(t)
	resp, b := get(t, hs.URL+api.ManifestPath, token)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "no avatar pack") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
