package rtc

import (
	"strings"
	"testing"
)

func TestFilterRemoteCandidates(t *testing.T) {
	sdp := strings.Join([]string{
		"v=0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"a=candidate:1 1 udp 2130706431 203.0.113.7 50000 typ host",
		"a=candidate:2 1 udp 2130706431 192.168.1.20 50001 typ host",
		"a=candidate:3 1 udp 2130706431 10.0.0.5 50002 typ host",
		"a=candidate:4 1 udp 2130706431 127.0.0.1 50003 typ host",
		"a=candidate:5 1 udp 2130706431 169.254.3.4 50004 typ host",
		"a=candidate:6 1 udp 2130706431 fe80::1 50005 typ host",
		"a=candidate:7 1 udp 2130706431 0.0.0.0 50006 typ host",
		"a=candidate:8 1 udp 2130706431 3c8f1f0e-8a55-4d0e.local 50007 typ host",
		"a=candidate:9 1 udp 1694498815 198.51.100.9 40000 typ srflx raddr 0.0.0.0 rport 0",
		"a=candidate:10 1 udp 2130706431 2001:db8::7 50008 typ host",
		"a=candidate:11 1 udp 2130706431 100.72.1.2 50009 typ host",
		"a=candidate:12 1 udp 2130706431 fd12:3456::1 50010 typ host",
		"a=candidate:13 1 udp 2130706431 ::ffff:192.168.0.9 50011 typ host",
		"a=candidate:14 1 udp 2130706431 255.255.255.255 50012 typ host",
		"a=candidate:15 1 udp 2130706431 198.18.0.7 50013 typ host",
		"a=candidate:16 1 udp 2130706431 ::10.0.0.1 50014 typ host",
		"a=candidate:17 1 udp 2130706431 64:ff9b::a00:1 50015 typ host",
		"a=candidate:broken",
		"a=end-of-candidates",
		"",
	}, "\r\n")
	out, dropped := FilterRemoteCandidates(sdp)
	for _, keep := range []string{"203.0.113.7", "198.51.100.9", "2001:db8::7", "a=end-of-candidates", "m=audio"} {
		if !strings.Contains(out, keep) {
			t.Errorf("dropped %s", keep)
		}
	}
	for _, drop := range []string{"192.168.", "10.0.0.5", "127.0.0.1 ", "169.254.", "fe80::", "0.0.0.0 50006", ".local", "candidate:broken", "100.72.", "fd12:", "::ffff:", "255.255.255.255", "198.18.", "::10.0.0.1", "64:ff9b"} {
		if strings.Contains(out, drop) {
			t.Errorf("kept %s", drop)
		}
	}
	if dropped != 15 {
		t.Errorf("dropped %d, want 15", dropped)
	}
	f, _ := NewRemote(nil, nil)
	if _, n := f.RemoteDescription(sdp); n != 15 {
		t.Errorf("remote factory dropped %d", n)
	}
	lan, _ := NewRemote(nil, nil, AllowPrivate())
	if _, n := lan.RemoteDescription(sdp); n != 0 {
		t.Errorf("AllowPrivate still dropped %d", n)
	}
	loop, _ := NewLoopback()
	if _, n := loop.RemoteDescription(sdp); n != 0 {
		t.Errorf("loopback factory dropped %d", n)
	}
}

func FuzzFilterRemoteCandidates(f *testing.F) {
	f.Add("a=candidate:1 1 udp 2130706431 203.0.113.7 50000 typ host\r\n")
	f.Add("a=candidate:1 1 udp 1 ::ffff:0:0 1 typ host\r\na=candidate:x")
	f.Fuzz(func(t *testing.T, sdp string) {
		out, dropped := FilterRemoteCandidates(sdp)
		if dropped < 0 || len(out) > len(sdp) {
			t.Fatalf("dropped %d, %d bytes out of %d", dropped, len(out), len(sdp))
		}
	})
}
