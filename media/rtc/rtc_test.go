package rtc

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connect runs a full offer/answer between two peers of f and returns them
// connected, with the offerer's SDP.
func connect(t testing.TB, f *Factory) (offerer, answerer *webrtc.PeerConnection, offerSDP string, took time.Duration) {
	t.Helper()
	a, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.NewPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := NewOpusTrack("a", "a")
	if _, err := a.AddTrack(tr); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateDataChannel(DataChannelLabel, nil); err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{}, 2)
	for _, pc := range []*webrtc.PeerConnection{a, b} {
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				up <- struct{}{}
			}
		})
	}
	start := time.Now()
	o, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(a)
	_ = a.SetLocalDescription(o)
	<-g
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	ans, _ := b.CreateAnswer(nil)
	g = webrtc.GatheringCompletePromise(b)
	_ = b.SetLocalDescription(ans)
	<-g
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			t.Fatal("loopback peers did not connect in 10 s")
		}
	}
	return a, b, a.LocalDescription().SDP, time.Since(start)
}

func TestLoopbackPeersConnectOnLoopbackOnly(t *testing.T) {
	f, err := NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	a, b, sdp, took := connect(t, f)
	defer a.Close()
	defer b.Close()
	t.Logf("connected in %v", took)
	var cands int
	for _, l := range strings.Split(sdp, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") {
			continue
		}
		cands++
		if !strings.Contains(l, " udp ") && !strings.Contains(l, " UDP ") {
			t.Errorf("non-UDP candidate: %s", l)
		}
		if !strings.Contains(l, " 127.") || !strings.Contains(l, "typ host") || strings.Contains(l, ".local") {
			t.Errorf("candidate is not a loopback host candidate: %s", l)
		}
	}
	if cands == 0 {
		t.Fatal("no ICE candidates in the offer")
	}
	if strings.Contains(sdp, "a=ice-lite") {
		t.Fatal("the loopback factory must use full ICE, not ICE-lite")
	}
	if !strings.Contains(sdp, "opus/48000/2") {
		t.Fatal("Opus is not offered")
	}
	pair, err := a.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	if !strings.HasPrefix(pair.Local.Address, "127.") || !strings.HasPrefix(pair.Remote.Address, "127.") {
		t.Fatalf("selected pair is not loopback: %s", pair)
	}
}

// BenchmarkConnect measures SDP offer → both peers connected, two pion peers
// in one process: with the tuned loopback factory, and with pion's default
// settings (all interfaces, UDP4 and UDP6, mDNS queries, default host
// acceptance wait) for comparison in the same run.
func BenchmarkConnect(b *testing.B) {
	defaults, err := newFactory(webrtc.SettingEngine{}, webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	loopback, err := NewLoopback()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		f    *Factory
	}{{"loopback", loopback}, {"pion-defaults", defaults}} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				x, y, _, took := connect(b, bc.f)
				total += took
				x.Close()
				y.Close()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/connect")
		})
	}
}

func TestNewForPicksTheTransport(t *testing.T) {
	for host, loop := range map[string]bool{"127.0.0.1": true, "127.8.9.1": true, "::1": true, "localhost": true, "agent.example": false, "192.0.2.7": false, "": false} {
		if IsLoopback(host) != loop {
			t.Errorf("IsLoopback(%q) = %v", host, !loop)
		}
		if _, err := NewFor(host, nil, nil); err != nil {
			t.Errorf("NewFor(%q): %v", host, err)
		}
	}
}

// TestOnLAN: an agent at a LAN address (typed as an IP, an mDNS name or a
// name that resolves to one) gets private candidates through; one on the
// internet, or whose name does not resolve, does not.
func TestOnLAN(t *testing.T) {
	for host, lan := range map[string]bool{
		"192.168.1.20": true, "10.0.0.5": true, "172.16.3.4": true, "fd00::1": true, "fe80::1": true,
		"100.101.102.103": true, // carrier-grade NAT range, as Tailscale uses
		"localhost":       true, // resolves to loopback
		"gpu-box.local":   true, "gpu-box.local.": true,
		"8.8.8.8": false, "198.51.100.1": false, "2001:4860:4860::8888": false,
		"agent.invalid": false, // RFC 6761: never resolves
	} {
		if got := OnLAN(host); got != lan {
			t.Errorf("OnLAN(%q) = %v", host, got)
		}
	}
	for url, filtered := range map[string]bool{"http://192.168.1.20:8443": false, "https://agent.invalid:8443": true} {
		f, err := NewForAgent(url, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if f.filterRemote != filtered {
			t.Errorf("%s: private candidates filtered %v", url, f.filterRemote)
		}
		if f, _ := NewForAgent(url, nil, true); f.filterRemote {
			t.Errorf("%s with allowPrivate: filtered", url)
		}
	}
}
