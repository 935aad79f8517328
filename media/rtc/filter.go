package rtc

import (
	"net"
	"strings"
)

// FilterRemoteCandidates returns sdp without the ICE candidates (RFC 8839
// a=candidate lines) whose connection address a remote peer has no business
// offering across the internet: private (RFC 1918, RFC 4193), loopback,
// link-local, unspecified, multicast, carrier-grade NAT (RFC 6598), and mDNS
// .local names. It also returns
// how many it dropped. A remote-mode factory applies it to every remote
// description unless private addresses are allowed (a LAN deployment).
func FilterRemoteCandidates(sdp string) (string, int) {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	dropped := 0
	for _, l := range lines {
		if a, ok := strings.CutPrefix(strings.TrimSpace(l), "a=candidate:"); ok && !publicCandidate(a) {
			dropped++
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, ""), dropped
}

// publicCandidate reports whether a candidate attribute value
// ("foundation component transport priority address port typ …") names a
// routable public IP.
func publicCandidate(attr string) bool {
	f := strings.Fields(attr)
	if len(f) < 6 {
		return false
	}
	ip := net.ParseIP(f[4])
	if ip == nil {
		return false // a host name (mDNS .local) or garbage
	}
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || sharedAddressSpace.Contains(ip))
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), which
// net.IP.IsPrivate does not cover and which is not reachable from outside
// the carrier either.
var sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}
