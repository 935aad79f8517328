package rtc

import (
	"strings"
	"testing"
)

func TestParseICEServer(t *testing.T) {
	s, err := ParseICEServer("turn:alice:s3cret@turn.example.org:3478?transport=udp")
	if err != nil || s.Username != "alice" || s.Credential != "s3cret" || s.URLs[0] != "turn:turn.example.org:3478?transport=udp" {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := ParseICEServer("turn:1700000000%3Aalice:p@ss:w0rd@turn.example.org:3478"); err != nil || s.Username != "1700000000:alice" || s.Credential != "p@ss:w0rd" {
		t.Fatalf("REST credentials: %+v %v", s, err)
	}
	if s, err := ParseICEServer("stun:stun.example.org:3478"); err != nil || s.Username != "" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseICEServer("http://x"); err == nil {
		t.Fatal("http URL accepted")
	}
	if _, err := ParseICEServer("turn:nopass@host:3478"); err == nil || strings.Contains(err.Error(), "nopass") {
		t.Fatalf("bad credentials: %v (must not echo them)", err)
	}
}
