package agent

import (
	"testing"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/lipsync"
	"github.com/parley-app/parley/media/audio"
)

// sendOne runs the send loop's bookkeeping for one frame, as sendLoop
// does: the mouth event (if any) goes out before the frame.
func sendOne(s *session, frame []int16) (voiced bool, ev *api.Event) {
	_, voiced, ev = s.nextFrame(frame)
	return voiced, ev
}

// loud returns n frames of a loud tone, so every mouth sample is open.
func loud(frames int) []int16 {
	pcm := make([]int16, frames*audio.FrameSamples)
	for i := range pcm {
		pcm[i] = int16(8000 * ((i/24)%2*2 - 1))
	}
	return pcm
}

// TestMouthAhead: mouth samples are announced once, ahead, stamped with
// the RTP timestamps their frames are sent with, across clips; a hold
// makes the remaining frames due again at their new timestamps.
func TestMouthAhead(t *testing.T) {
	s := &session{env: lipsync.New(), face: func(string) string { return "x" }, rtpTS: 1000}
	s.PlayAudio(loud(30), nil)
	s.PlayAudio(loud(40), nil)
	frame := make([]int16, audio.FrameSamples)

	told := map[uint32]bool{}
	note := func(ev *api.Event) {
		samples, err := api.DecodeMouth(ev.Mouth)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) == 0 || len(samples) > mouthBatch {
			t.Fatalf("an event of %d samples", len(samples))
		}
		for i := range samples {
			told[ev.RTP+uint32(i)*api.MouthFrameTicks] = true
		}
	}
	events := 0
	for i := 0; i < 10; i++ { // 10 frames of the first clip
		ts := s.rtpTS
		voiced, ev := sendOne(s, frame)
		if !voiced {
			t.Fatalf("frame %d not voiced", i)
		}
		if ev != nil {
			events++
			if ev.RTP != ts {
				t.Fatalf("event stamped %d, its first frame goes out at %d", ev.RTP, ts)
			}
			note(ev)
		}
		if !told[ts] {
			t.Fatalf("frame at %d went out before its mouth was announced", ts)
		}
	}
	if events != 1 {
		t.Fatalf("%d events for the first 10 frames, want 1 (a batch of %d)", events, mouthBatch)
	}
	// Hold for 5 frames: silence goes out, the timestamps move on.
	s.HoldAudio(true)
	for range 5 {
		if voiced, ev := sendOne(s, frame); voiced || ev != nil {
			t.Fatalf("held: voiced %v, event %v", voiced, ev)
		}
	}
	s.HoldAudio(false)
	ts := s.rtpTS
	_, ev := sendOne(s, frame)
	if ev == nil || ev.RTP != ts {
		t.Fatalf("after the hold: event %+v, want one stamped %d", ev, ts)
	}
	// Everything else, to the end of both clips: each frame announced
	// before it is sent, no frame announced twice except after the hold.
	note(ev)
	for n := 0; ; n++ {
		ts := s.rtpTS
		voiced, ev := sendOne(s, frame)
		if !voiced {
			break
		}
		if ev != nil {
			for i := range len(ev.Mouth) {
				if told[ev.RTP+uint32(i)*api.MouthFrameTicks] {
					t.Fatalf("frame at %d announced twice", ev.RTP+uint32(i)*api.MouthFrameTicks)
				}
			}
			note(ev)
		}
		if !told[ts] {
			t.Fatalf("frame at %d sent unannounced", ts)
		}
	}
	// ClearAudio drops the queue: nothing more is announced.
	s.PlayAudio(loud(5), nil)
	s.ClearAudio()
	if _, ev := sendOne(s, frame); ev != nil {
		t.Fatalf("after ClearAudio: %+v", ev)
	}
}

// TestNoPackNoMouth: without an avatar pack no mouth events are sent.
func TestNoPackNoMouth(t *testing.T) {
	s := &session{env: lipsync.New(), noLips: true}
	s.PlayAudio(loud(3), nil)
	if _, ev := sendOne(s, make([]int16, audio.FrameSamples)); ev != nil {
		t.Fatalf("mouth event without a pack: %+v", ev)
	}
}

// TestMouthTrimmed: closed samples at either end of a batch are left out
// (the client shows a closed mouth where it has none), but never where an
// earlier announcement could leave a stale sample.
func TestMouthTrimmed(t *testing.T) {
	s := &session{env: lipsync.New(), face: func(string) string { return "x" }, rtpTS: 5000}
	quiet := make([]int16, 10*audio.FrameSamples)
	clip := append(append(append([]int16(nil), quiet...), loud(5)...), quiet...)
	s.PlayAudio(clip, nil)
	frame := make([]int16, audio.FrameSamples)
	start := s.rtpTS
	_, ev := sendOne(s, frame)
	if ev == nil {
		t.Fatal("no mouth event for a clip with speech in it")
	}
	samples, _ := api.DecodeMouth(ev.Mouth)
	if ev.RTP != start+10*api.MouthFrameTicks || samples[0].Open == 0 || samples[len(samples)-1].Open == 0 {
		t.Fatalf("event at %d (clip starts at %d) with %q: closed ends not trimmed", ev.RTP, start, ev.Mouth)
	}
	if len(samples) > 11 { // 5 loud frames plus the mouth closing over ≤ 6
		t.Fatalf("%d samples for 5 loud frames: %q", len(samples), ev.Mouth)
	}

	// A hold, then the same clip again: its frames now go out at timestamps
	// the first batch may have covered, so nothing there is left out.
	s2 := &session{env: lipsync.New(), face: func(string) string { return "x" }, rtpTS: 0}
	s2.PlayAudio(append(append([]int16(nil), loud(3)...), quiet...), nil)
	s2.PlayAudio(loud(40), nil)
	_, first := sendOne(s2, frame) // announces loud(3), then the second clip's 40 frames
	if first == nil {
		t.Fatal("no first event")
	}
	s2.HoldAudio(true)
	sendOne(s2, frame)
	s2.HoldAudio(false)
	ts := s2.rtpTS
	_, again := sendOne(s2, frame)
	if again == nil || again.RTP != ts {
		t.Fatalf("after the hold: %+v, want an event from %d including the closed frames", again, ts)
	}
}
