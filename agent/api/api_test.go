package api

import (
	"errors"
	"testing"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		in      string
		want    Event
		wantErr bool
	}{
		{`{"type":"state","state":"speaking"}`, Event{Type: TypeState, State: StateSpeaking}, false},
		{`{"type":"hello","version":1,"capabilities":["audio"]}`, Event{Type: TypeHello, Version: 1, Capabilities: []string{"audio"}}, false},
		{`{"type":"future","x":1}`, Event{Type: "future"}, false},
		{`{"state":"speaking"}`, Event{}, true},
		{`not json`, Event{}, true},
		{`{"type":5}`, Event{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DecodeEvent([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadEvent) {
					t.Fatalf("err = %v, want ErrBadEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.State != tt.want.State || got.Version != tt.want.Version {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			back, err := DecodeEvent(got.Encode())
			if err != nil || back.Type != got.Type {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"state","state":"listening"}`))
	f.Add([]byte(`{"type":"hello","version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			return
		}
		if e.Type == "" {
			t.Fatal("accepted an event without a type")
		}
		if _, err := DecodeEvent(e.Encode()); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
	})
}
