package agent_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/assets/avatar"
)

// info asks GET /v1/info and returns the decoded body and the raw fields.
func info(t *testing.T, base string) (api.Info, map[string]json.RawMessage) {
	t.Helper()
	resp, _, body := do(t, "GET", base+api.InfoPath, "", "Bearer "+token, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", api.InfoPath, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != api.ContentTypeJSON {
		t.Fatalf("Content-Type %q, want %q", ct, api.ContentTypeJSON)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	var in api.Info
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	return in, raw
}

func TestInfoNeedsToken(t *testing.T) {
	_, hs := newServer(t)
	tests := []struct {
		name, method, auth string
		status             int
		code               string
	}{
		{"no token", "GET", "", 401, api.CodeUnauthorized},
		{"wrong token", "GET", "Bearer nope", 401, api.CodeUnauthorized},
		{"wrong method", "POST", "Bearer " + token, 405, api.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, e, _ := do(t, tt.method, hs.URL+api.InfoPath, "", tt.auth, "")
			if resp.StatusCode != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, e.Code, e.Message, tt.status, tt.code)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

// TestInfoShape: the JSON field names the protocol documents, and no free
// slots field when there is no cap.
func TestInfoShape(t *testing.T) {
	_, hs := serve(t, agent.Config{Handler: echo.New(echo.Config{}), Avatar: avatar.Default()})
	in, raw := info(t, hs.URL)
	if in.Version != api.ProtocolVersion {
		t.Errorf("version %d, want %d", in.Version, api.ProtocolVersion)
	}
	want := []string{agent.CapAudio, agent.CapAvatar, agent.CapVideo}
	if !slices.Equal(in.Capabilities, want) {
		t.Errorf("capabilities %q, want %q", in.Capabilities, want)
	}
	if in.Sessions != 0 || in.MaxSessions != 0 || in.Free != nil {
		t.Errorf("uncapped idle agent: %+v", in)
	}
	for _, k := range []string{"version", "capabilities", "sessions", "max_sessions"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %v", k, raw)
		}
	}
	if _, ok := raw["free"]; ok {
		t.Errorf("an uncapped agent sent free: %s", raw["free"])
	}

	// Without an avatar pack there is no avatar capability.
	_, bare := newServer(t)
	if in, _ := info(t, bare.URL); slices.Contains(in.Capabilities, agent.CapAvatar) {
		t.Errorf("agent without a pack announces %q", in.Capabilities)
	}
}

// TestInfoCountsSessions: real sessions against a cap of 2; asking for the
// info holds no slot.
func TestInfoCountsSessions(t *testing.T) {
	srv, hs := serve(t, agent.Config{Handler: echo.New(echo.Config{}), MaxSessions: 2})
	check := func(sessions, free int) {
		t.Helper()
		in, raw := info(t, hs.URL)
		if in.Sessions != sessions || in.MaxSessions != 2 || in.Free == nil || *in.Free != free {
			t.Fatalf("info %+v (free %s), want sessions %d, max 2, free %d", in, raw["free"], sessions, free)
		}
	}
	check(0, 2)

	// Many info requests at once take no slot: both sessions still start.
	var wg sync.WaitGroup
	for range 20 {
		req := authedGet(t, hs.URL+api.InfoPath)
		wg.Go(func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	var locs []string
	for range 2 {
		resp, _, body := do(t, "POST", hs.URL+api.SessionsPath, api.ContentTypeSDP, "Bearer "+token, offer(t))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("offer: %d %s", resp.StatusCode, body)
		}
		locs = append(locs, resp.Header.Get("Location"))
		check(len(locs), 2-len(locs))
	}
	wg.Wait()
	if n := srv.Sessions(); n != 2 {
		t.Fatalf("Sessions() = %d, want 2 (info must not count)", n)
	}
	resp, e, _ := do(t, "POST", hs.URL+api.SessionsPath, api.ContentTypeSDP, "Bearer "+token, offer(t))
	if resp.StatusCode != http.StatusServiceUnavailable || e.Code != api.CodeUnavailable {
		t.Fatalf("third offer: %d %q, want 503", resp.StatusCode, e.Code)
	}
	check(2, 0)
	if resp, _, _ := do(t, "DELETE", hs.URL+locs[0], "", "Bearer "+token, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	check(1, 1)

	// A closing agent takes no more calls: it says so.
	srv.Close()
	resp, e, _ = do(t, "GET", hs.URL+api.InfoPath, "", "Bearer "+token, "")
	if resp.StatusCode != http.StatusServiceUnavailable || e.Code != api.CodeUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("info from a closed agent: %d %q %q", resp.StatusCode, e.Code, resp.Header.Get("Retry-After"))
	}
}

// TestInfoLoopbackOnly: a local agent's info is refused to a page that
// reached it through DNS rebinding, like every other route.
func TestInfoLoopbackOnly(t *testing.T) {
	_, hs := serve(t, agent.Config{Handler: echo.New(echo.Config{}), LoopbackOnly: true})
	req := authedGet(t, hs.URL+api.InfoPath)
	req.Host = "attacker.example:" + hs.URL[strings.LastIndex(hs.URL, ":")+1:]
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if in, _ := info(t, hs.URL); in.Version != api.ProtocolVersion {
		t.Fatalf("loopback info: %+v", in)
	}
}

func authedGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
