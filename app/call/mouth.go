package call

import (
	"sync"
	"time"

	"github.com/parley-app/parley/agent/api"
)

// mouthTimeline keeps the agent's mouth samples by RTP timestamp (they
// arrive ahead of the audio they belong to) and when each frame of the
// agent's voice is heard, so the avatar shows the mouth of the frame the
// speaker is playing now.
type mouthTimeline struct {
	mu      sync.Mutex
	samples map[uint32]api.MouthSample // by the RTP timestamp of their frame
	heard   [heardRing]heardFrame      // the last frames given to the speaker
	n       int                        // frames given to the speaker so far
	bad     int                        // malformed mouth events
}

type heardFrame struct {
	at     time.Time // when the speaker plays it
	ts     uint32    // its RTP timestamp
	voiced bool      // the agent's voice, not its idle silence or concealment
}

const (
	heardRing  = 64  // 1.28 s of played frames
	maxSamples = 512 // 10 s of mouth; older ones are dropped
)

func newMouthTimeline() *mouthTimeline {
	return &mouthTimeline{samples: make(map[uint32]api.MouthSample)}
}

// add stores a mouth event's samples; a newer event for the same frames
// replaces the older (the agent re-announces after a hold).
func (m *mouthTimeline) add(e api.Event) {
	samples, err := api.DecodeMouth(e.Mouth)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.bad++
		return
	}
	for i, s := range samples {
		m.samples[e.RTP+uint32(i)*api.MouthFrameTicks] = s
	}
	if len(m.samples) > maxSamples { // keep what is ahead of the last frame heard
		now := m.heard[(m.n-1+heardRing)%heardRing].ts
		for ts := range m.samples {
			if int32(ts-now) < -int32(2*heardRing*api.MouthFrameTicks) {
				delete(m.samples, ts)
			}
		}
	}
}

// played notes a frame handed to the speaker: its RTP timestamp, whether it
// is the agent's voice, and when it will be heard.
func (m *mouthTimeline) played(ts uint32, voiced bool, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heard[m.n%heardRing] = heardFrame{at: at, ts: ts, voiced: voiced}
	m.n++
}

// at returns the mouth of the frame being heard at t: the latest frame
// heard at or before t, if it is the agent's voice and is at most a frame
// old; a closed mouth otherwise.
func (m *mouthTimeline) at(t time.Time) api.MouthSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 1; i <= min(m.n, heardRing); i++ {
		f := m.heard[(m.n-i)%heardRing]
		if f.at.After(t) {
			continue
		}
		if !f.voiced || t.Sub(f.at) > 2*frameDuration {
			return api.MouthSample{}
		}
		return m.samples[f.ts]
	}
	return api.MouthSample{}
}

const frameDuration = 20 * time.Millisecond
