package rtc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pion/webrtc/v4"
)

// ParseICEServer reads turn:user:password@host:port?transport=udp (or a
// plain stun:/turn: URL) into pion's form.
func ParseICEServer(s string) (webrtc.ICEServer, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns") {
		return webrtc.ICEServer{}, fmt.Errorf("ICE server %q: want stun:, stuns:, turn: or turns:", s)
	}
	srv := webrtc.ICEServer{URLs: []string{s}}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, ok := strings.Cut(rest[:at], ":")
		if !ok {
			return webrtc.ICEServer{}, fmt.Errorf("ICE server %q: credentials must be user:password@", redact(s))
		}
		// ':' in a user name (TURN REST credentials are "expiry:user")
		// is written %3A; other escapes work too.
		var err1, err2 error
		user, err1 = url.PathUnescape(user)
		pass, err2 = url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return webrtc.ICEServer{}, fmt.Errorf("ICE server %q: bad %%-escape in the credentials", redact(s))
		}
		srv = webrtc.ICEServer{URLs: []string{scheme + ":" + rest[at+1:]}, Username: user, Credential: pass}
	}
	return srv, nil
}

// ParseICEServers parses each of urls with ParseICEServer.
func ParseICEServers(urls []string) ([]webrtc.ICEServer, error) {
	var out []webrtc.ICEServer
	for _, u := range urls {
		s, err := ParseICEServer(u)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// redact hides the credentials of an ICE server URL in error messages.
func redact(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		scheme, _, _ := strings.Cut(s, ":")
		return scheme + ":***@" + s[at+1:]
	}
	return s
}
