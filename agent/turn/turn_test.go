package turn

import (
	"testing"
	"time"
)

func TestDetector(t *testing.T) {
	const f = 20 * time.Millisecond
	run := func(pattern string) []Event {
		d := NewDetector(f)
		var evs []Event
		for _, c := range pattern {
			if e := d.Push(c == 'S'); e != None {
				evs = append(evs, e)
			}
		}
		return evs
	}
	tests := []struct {
		name, pattern string
		want          []Event
	}{
		{"speech then pause", "SSSSSSSSSS" + "..........................", []Event{Start, EndOfTurn}},
		{"pause shorter than end silence keeps the turn", "SSSSSSSSSS" + "..........SSS" + "..........................", []Event{Start, EndOfTurn}},
		{"cough-length blip", "SSS" + "..........................", []Event{Discarded}},
		{"no end without enough silence", "SSSSSSSSSS" + "........", []Event{Start}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.pattern)
			if len(got) != len(tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("events %v, want %v", got, tt.want)
				}
			}
		})
	}
}
