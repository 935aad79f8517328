package call

// SetMuted mutes or unmutes the microphone. A muted call keeps sending
// Opus frames, of digital silence (as a browser does for a disabled
// track), so the RTP timeline runs on and the agent's VAD hears no one;
// the echo canceller still sees the microphone, so it stays converged.
func (c *Call) SetMuted(muted bool) { c.muted.Store(muted) }

// Muted reports whether the microphone is muted.
func (c *Call) Muted() bool { return c.muted.Load() }
