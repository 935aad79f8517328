package agent_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/media/rtc"
)

// mutations turn a real offer into a hostile one.
var mutations = []struct {
	name string
	f    func(sdp string, r *rand.Rand) string
}{
	{"truncated", func(s string, r *rand.Rand) string { return s[:r.IntN(len(s))] }},
	{"huge attribute", func(s string, r *rand.Rand) string {
		return strings.Replace(s, "a=mid:0", "a=mid:0\r\na=x-huge:"+strings.Repeat("A", 30000+r.IntN(30000)), 1)
	}},
	{"thousands of candidates", func(s string, r *rand.Rand) string {
		var b strings.Builder
		for i := 0; i < 1500; i++ {
			fmt.Fprintf(&b, "a=candidate:%d 1 udp 2130706431 10.%d.%d.%d %d typ host\r\n", i, r.IntN(256), r.IntN(256), r.IntN(256), 1024+r.IntN(60000))
		}
		return strings.Replace(s, "a=end-of-candidates", b.String()+"a=end-of-candidates", 1)
	}},
	{"duplicated m-lines", func(s string, _ *rand.Rand) string {
		i := strings.Index(s, "m=audio")
		if i < 0 {
			return s
		}
		return s + s[i:]
	}},
	{"changed fingerprint", func(s string, r *rand.Rand) string {
		i := strings.Index(s, "a=fingerprint:sha-256 ")
		if i < 0 {
			return s
		}
		j := i + len("a=fingerprint:sha-256 ") + r.IntN(90)
		c := "0123456789ABCDEF"[r.IntN(16)]
		return s[:j] + string(c) + s[j+1:]
	}},
	{"random bytes flipped", func(s string, r *rand.Rand) string {
		b := []byte(s)
		for k := 0; k < 1+r.IntN(20); k++ {
			b[r.IntN(len(b))] = byte(r.IntN(256))
		}
		return string(b)
	}},
	{"lines shuffled", func(s string, r *rand.Rand) string {
		lines := strings.Split(s, "\r\n")
		r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
		return strings.Join(lines, "\r\n")
	}},
	{"no ICE credentials", func(s string, _ *rand.Rand) string { return withoutLines(s, "a=ice-ufrag:", "a=ice-pwd:") }},
}

// TestMutatedOffers sends 240 mutated real offers: each gets a 4xx, or a
// 201 whose session then fails (a changed fingerprint cannot complete
// DTLS) and is reclaimed; the agent never panics, and its goroutines return
// to their baseline.
func TestMutatedOffers(t *testing.T) {
	f, _ := rtc.NewLoopback()
	srv, err := agent.NewServer(agent.Config{Token: token, Handler: echo.New(echo.Config{}), Factory: f})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	baseline := runtime.NumGoroutine()
	seeds := realOffers(t)
	r := rand.New(rand.NewPCG(7, 11))
	counts := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 0; i < 240; i++ {
		m := mutations[i%len(mutations)]
		body := m.f(seeds[i%len(seeds)], r)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest("POST", hs.URL+api.SessionsPath, strings.NewReader(body))
			req.Header.Set("Content-Type", api.ContentTypeSDP)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("%s: %v", m.name, err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
			if resp.StatusCode != http.StatusCreated && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
				t.Errorf("%s: status %d", m.name, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	t.Logf("status counts: %v", counts)
	// Sessions from offers that parsed never connect (nobody answers their
	// ICE checks): the agent must reclaim them all.
	for deadline := time.Now().Add(30 * time.Second); srv.Sessions() > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions never reclaimed", srv.Sessions())
		}
	}
	http.DefaultClient.CloseIdleConnections()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > baseline+5; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, baseline %d", runtime.NumGoroutine(), baseline)
		}
	}
}

// realOffers returns the committed seed offers (testdata/offers/*.sdp),
// real SDP offers made by this client's pion peer.
func realOffers(t testing.TB) []string {
	t.Helper()
	paths, _ := filepath.Glob("testdata/offers/*.sdp")
	if len(paths) == 0 {
		t.Fatal("no seed offers in testdata/offers")
	}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}
