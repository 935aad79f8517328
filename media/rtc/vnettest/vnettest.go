// Package vnettest gives tests a two-host virtual network (pion/transport's
// vnet) for real WebRTC peers: a client at ClientIP and an agent at AgentIP
// behind one router, whose filter decides which packets pass (a lossy or a
// broken path).
package vnettest

import (
	"net"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/parley-app/parley/media/rtc"
)

// The hosts' addresses on the virtual network 10.0.0.0/24.
const (
	ClientIP = "10.0.0.1"
	AgentIP  = "10.0.0.2"
)

// Net is the virtual network's two hosts.
type Net struct {
	Client, Agent *vnet.Net
}

// New starts the network for the test; the router passes a packet (a
// vnet.Chunk: its addresses and UDP payload) when pass returns true, or
// always when pass is nil. It stops when the test ends; a failure to
// build it fails the test.
func New(tb testing.TB, pass func(vnet.Chunk) bool) *Net {
	tb.Helper()
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	n := &Net{}
	for _, h := range []struct {
		ip  string
		net **vnet.Net
	}{{ClientIP, &n.Client}, {AgentIP, &n.Agent}} {
		if *h.net, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{h.ip}}); err != nil {
			tb.Fatal(err)
		}
		if err := r.AddNet(*h.net); err != nil {
			tb.Fatal(err)
		}
	}
	if pass != nil {
		r.AddChunkFilter(pass)
	}
	if err := r.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Stop() })
	return n
}

// On makes a loopback factory's peers (rtc.NewLoopback) use the virtual
// host h instead of the machine: the loopback factory's settings, with
// h's address in place of 127.0.0.1.
func On(h *vnet.Net) rtc.Option {
	return func(s *webrtc.SettingEngine) {
		s.SetNet(h)
		s.SetIPFilter(func(ip net.IP) bool { return !ip.IsLoopback() })
	}
}
