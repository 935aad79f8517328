package rtc

import (
	"net/netip"
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
	addr, err := netip.ParseAddr(f[4])
	if err != nil {
		return false // a host name (mDNS .local) or garbage
	}
	return PublicAddr(addr)
}

// PublicAddr reports whether addr is a routable public IP: none of the
// ranges FilterRemoteCandidates drops.
func PublicAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.Is6() && nonPublic6in4.Contains(addr) { // IPv4-compatible ::a.b.c.d
		a := addr.As16()
		addr = netip.AddrFrom4([4]byte{a[12], a[13], a[14], a[15]})
	}
	if addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsUnspecified() || addr.IsMulticast() || addr.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// nonPublic lists special-purpose ranges (IANA IPv4 and IPv6
// Special-Purpose Address Registries) that net/netip's predicates do not
// cover and that a peer on the internet cannot be reached at.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", RFC 791
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT, RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments, RFC 6890
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking, RFC 2544
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and 255.255.255.255 broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64, RFC 6052
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64, RFC 8215
	netip.MustParsePrefix("2002::/16"),      // 6to4, RFC 3056 (deprecated)
	netip.MustParsePrefix("fec0::/10"),      // site-local, deprecated by RFC 3879
	netip.MustParsePrefix("100::/64"),       // discard-only, RFC 6666
	netip.MustParsePrefix("2001:2::/48"),    // benchmarking, RFC 5180
}

// nonPublic6in4 is the deprecated IPv4-compatible IPv6 range ::/96.
var nonPublic6in4 = netip.MustParsePrefix("::/96")
