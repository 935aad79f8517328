package call

import (
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// RTTSource says which measurement Stats.RTT comes from.
type RTTSource string

// The sources of Stats.RTT, best first.
const (
	// RTTNone: no round trip measured yet.
	RTTNone RTTSource = ""
	// RTTFromRTCP: an RTCP receiver report from the agent about our audio,
	// which echoes our last sender report (LSR) and says how long the agent
	// held it (DLSR), RFC 3550 §6.4.1; W3C webrtc-stats
	// RTCRemoteInboundRtpStreamStats.roundTripTime. It measures the media
	// path itself. It needs an agent whose receiver reads the RTCP that
	// comes in on its receive streams (our sender reports): otherwise its
	// reports carry no LSR.
	RTTFromRTCP RTTSource = "rtcp"
	// RTTFromICE: the latest STUN connectivity check (or consent check)
	// on the nominated candidate pair; W3C webrtc-stats
	// RTCIceCandidatePairStats.currentRoundTripTime.
	RTTFromICE RTTSource = "ice"
	// RTTFromPing: the data channel's ping/pong (Metrics.RTT): the
	// media's path too, plus SCTP and the agent's event loop.
	RTTFromPing RTTSource = "ping"
)

// statsMinInterval is the shortest interval bit rates are averaged over
// (Stats.Interval).
const statsMinInterval = 500 * time.Millisecond

// Stats are a call's connection statistics: what a stats panel shows.
//
// Counters and jitter come from pion's RTP stream statistics, which follow
// the W3C's "Identifiers for WebRTC's Statistics API" (webrtc-stats):
// inbound-rtp for what the agent sends us (PeerConnection.GetStats),
// outbound-rtp for what we send and remote-inbound-rtp for the agent's
// RTCP receiver reports about it (rtc.Factory.StreamStats, which GetStats
// lacks in pion v4.2). Bit rates are deltas of those counters. A value not
// (yet) known is zero.
type Stats struct {
	// At is when these statistics were taken.
	At time.Time
	// Interval is what the bit rates and AudioIn/VideoIn.RecentLoss are
	// averaged over: the time since the Stats call that measured them
	// before, or since the call connected for the first one. A call less
	// than 500 ms after the last measurement returns its rates again (and
	// in the call's first 500 ms, zero rates and a zero Interval), so that
	// two readers, a panel and a log say, do not shrink each other's
	// interval to a packet or two.
	Interval time.Duration
	// Ended says the call has ended or its connection has closed: these
	// are the last values measured while it ran (only ConnectTime if
	// Stats was not called then), and they no longer change.
	Ended bool
	// ConnectTime is Metrics.ConnectTime: SDP offer created → connected.
	ConnectTime time.Duration
	// RTT is the round trip time to the agent from the best source there
	// is (RTTSource, in the order RTCP, ICE, ping); zero until measured.
	RTT       time.Duration
	RTTSource RTTSource
	// AudioIn is the agent's voice as received.
	AudioIn InboundStats
	// AudioOut is our microphone as sent and as the agent received it.
	AudioOut OutboundStats
	// VideoIn is the agent's live video (hybrid mode); zero without.
	VideoIn InboundStats
	// VideoOut is our camera; zero without one.
	VideoOut OutboundStats
}

// InboundStats describe the RTP streams of one kind (audio or video) that
// the agent sends us, as we receive them (webrtc-stats inbound-rtp, RFC
// 3550 §6.4.1 for lost and jitter). Several streams of a kind add up
// (jitter: the largest).
type InboundStats struct {
	// Packets is the RTP packets received (packetsReceived).
	Packets uint64
	// Bytes is the RTP payload bytes received: the codec's output, RTP
	// headers excluded, as webrtc-stats' bytesReceived (pion counts the
	// headers too; they are taken off).
	Bytes uint64
	// Lost is the cumulative number of packets lost (packetsLost, RFC
	// 3550): the packets expected from the sequence numbers seen less the
	// packets received. Duplicates can make it negative.
	Lost int64
	// Loss is Lost as a fraction of the packets expected over the whole
	// call, 0..1.
	Loss float64
	// RecentLoss is the same fraction over Interval.
	RecentLoss float64
	// Jitter is RFC 3550's interarrival jitter estimate (§6.4.1, A.8):
	// the smoothed variation of the packets' transit times.
	Jitter time.Duration
	// BitRate is the payload bit rate in bit/s over Interval.
	BitRate float64
}

// OutboundStats describe the RTP streams of one kind that we send: what
// we sent (webrtc-stats outbound-rtp) and what the agent's RTCP receiver
// reports say it received (remote-inbound-rtp; pion's report interceptor
// sends one a second).
type OutboundStats struct {
	// Packets is the RTP packets sent (packetsSent).
	Packets uint64
	// Bytes is the RTP payload bytes sent, headers excluded (bytesSent).
	Bytes uint64
	// BitRate is the payload bit rate in bit/s over Interval.
	BitRate float64
	// Reported says a receiver report from the agent has come; the
	// fields below are zero until it has.
	Reported bool
	// Lost is the cumulative number of packets lost that the agent's
	// last receiver report gives (RFC 3550 §6.4.1).
	Lost int64
	// Loss is Lost as a fraction of the packets the agent expected by
	// then, 0..1.
	Loss float64
	// RecentLoss is the report's fraction lost: the fraction of packets
	// lost since the agent's report before it (about a second), 0..1 in
	// steps of 1/256.
	RecentLoss float64
	// Jitter is the interarrival jitter the agent's report gives.
	Jitter time.Duration
	// RTT is the round trip from the report's LSR and DLSR (RFC 3550
	// §6.4.1, roundTripTime); zero when the agent does not echo our
	// sender reports.
	RTT time.Duration
}

// statsState is what a call's Stats remembers from one call to the next.
type statsState struct {
	mu     sync.Mutex
	base   Stats     // the counters at baseAt (zero at the connect)
	baseAt time.Time // the last measurement of the rates, or the connect
	last   Stats     // what Stats returned last
}

// Stats returns the call's connection statistics now. Bit rates are
// averaged since the previous call of Stats (see Stats.Interval). It costs
// about as much as pion's GetStats (tens of microseconds here), so calling
// it once a second is fine. It is safe for concurrent use, and after the
// call has ended it returns the last values with Ended set.
func (c *Call) Stats() Stats {
	if c == nil || c.pc == nil || c.ctx == nil {
		return Stats{Ended: true}
	}
	st := &c.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	if c.closing() {
		return st.ended(c)
	}
	s := Stats{At: time.Now(), ConnectTime: c.connectTime}
	report := c.pc.GetStats()
	if c.closing() { // closed while pion collected: the report may be partial
		return st.ended(c)
	}
	iceRTT, iceFirst := c.collect(&s, report)
	switch ping := c.keep.RTT(); {
	case s.AudioOut.RTT > 0:
		s.RTT, s.RTTSource = s.AudioOut.RTT, RTTFromRTCP
	case iceRTT > 0:
		s.RTT, s.RTTSource = iceRTT, RTTFromICE
	case ping > 0:
		s.RTT, s.RTTSource = ping, RTTFromPing
	}
	if st.baseAt.IsZero() {
		st.baseAt = c.connectedAt(iceFirst)
	}
	st.rates(&s)
	st.last = s
	return s
}

// closing reports whether the call is ending or its peer connection is
// closing (pion closes it itself when the agent's DTLS close_notify comes,
// before the call notices). GetStats is not called then: in pion v4.2.20
// it reads the connection's stats getter, and Close clears it, without a
// lock (a data race; this check narrows it to a call in flight).
func (c *Call) closing() bool {
	return c.ctx.Err() != nil || c.pc.SignalingState() == webrtc.SignalingStateClosed
}

// collect fills s's streams from pion's report and our stats
// interceptor's records; it returns the nominated ICE pair's round trip
// and the time of its first STUN response (zero if unknown).
func (c *Call) collect(s *Stats, report webrtc.StatsReport) (iceRTT time.Duration, iceFirst time.Time) {
	var pcID string
	for _, v := range report {
		switch v := v.(type) {
		case webrtc.PeerConnectionStats:
			pcID = v.ID
		case webrtc.InboundRTPStreamStats:
			switch v.Kind {
			case "audio":
				addInbound(&s.AudioIn, v)
			case "video":
				addInbound(&s.VideoIn, v)
			}
		case webrtc.ICECandidatePairStats:
			if v.Nominated && v.State == webrtc.StatsICECandidatePairStateSucceeded {
				iceRTT = max(iceRTT, seconds(v.CurrentRoundTripTime))
				if v.FirstResponseTimestamp > 0 {
					iceFirst = v.FirstResponseTimestamp.Time()
				}
			}
		}
	}
	if g := c.cfg.Factory.StreamStats(pcID); g != nil {
		c.addOutbound(s, g)
	}
	return iceRTT, iceFirst
}

// rates sets s's bit rates and recent inbound loss from the counters'
// change since st.base, and makes s the new base; less than
// statsMinInterval after the base, it gives the last rates again.
func (st *statsState) rates(s *Stats) {
	dt := s.At.Sub(st.baseAt)
	if dt < statsMinInterval {
		if !st.base.At.IsZero() { // measured before
			l := st.last
			s.Interval = l.Interval
			s.AudioIn.BitRate, s.AudioIn.RecentLoss = l.AudioIn.BitRate, l.AudioIn.RecentLoss
			s.VideoIn.BitRate, s.VideoIn.RecentLoss = l.VideoIn.BitRate, l.VideoIn.RecentLoss
			s.AudioOut.BitRate, s.VideoOut.BitRate = l.AudioOut.BitRate, l.VideoOut.BitRate
		}
		return
	}
	b := st.base
	s.Interval = dt
	s.AudioIn.BitRate = bitRate(b.AudioIn.Bytes, s.AudioIn.Bytes, dt)
	s.VideoIn.BitRate = bitRate(b.VideoIn.Bytes, s.VideoIn.Bytes, dt)
	s.AudioOut.BitRate = bitRate(b.AudioOut.Bytes, s.AudioOut.Bytes, dt)
	s.VideoOut.BitRate = bitRate(b.VideoOut.Bytes, s.VideoOut.Bytes, dt)
	s.AudioIn.RecentLoss = lossFraction(s.AudioIn.Lost-b.AudioIn.Lost, delta(b.AudioIn.Packets, s.AudioIn.Packets))
	s.VideoIn.RecentLoss = lossFraction(s.VideoIn.Lost-b.VideoIn.Lost, delta(b.VideoIn.Packets, s.VideoIn.Packets))
	st.base, st.baseAt = *s, s.At
}

// ended returns the last statistics of a call that has ended.
func (st *statsState) ended(c *Call) Stats {
	s := st.last
	if s.At.IsZero() {
		s.ConnectTime = c.connectTime
	}
	s.Ended = true
	return s
}

// connectedAt estimates when the call connected, for the first interval:
// the later of Config.Start + ConnectTime (early when the caller's Start
// came before Dial) and the nominated ICE pair's first STUN response (early
// by the DTLS handshake). Both are at or before the moment itself, so the
// first bit rates are never overstated. (Dial could note the moment.)
func (c *Call) connectedAt(iceFirst time.Time) time.Time {
	t := c.cfg.Start.Add(c.connectTime)
	if iceFirst.After(t) && iceFirst.Before(time.Now()) {
		t = iceFirst
	}
	return t
}

func addInbound(in *InboundStats, v webrtc.InboundRTPStreamStats) {
	in.Packets += uint64(v.PacketsReceived)
	in.Bytes += delta(v.HeaderBytesReceived, v.BytesReceived)
	in.Lost += int64(v.PacketsLost)
	in.Loss = lossFraction(in.Lost, in.Packets)
	in.Jitter = max(in.Jitter, seconds(v.Jitter))
}

// addOutbound fills s.AudioOut and s.VideoOut from our stats
// interceptor's records of the streams our senders send. A sender counts
// whether or not a track is attached now (the camera is switched off by
// detaching its track), so its counters never go back.
func (c *Call) addOutbound(s *Stats, g stats.Getter) {
	received := map[*OutboundStats]uint64{} // packets the agent reports received
	for _, t := range c.pc.GetTransceivers() {
		snd := t.Sender()
		if snd == nil {
			continue
		}
		out := &s.AudioOut
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			out = &s.VideoOut
		}
		for _, enc := range snd.GetParameters().Encodings {
			rs := g.Get(uint32(enc.SSRC))
			if rs == nil {
				continue
			}
			out.Packets += rs.OutboundRTPStreamStats.PacketsSent
			out.Bytes += delta(rs.OutboundRTPStreamStats.HeaderBytesSent, rs.OutboundRTPStreamStats.BytesSent)
			ri := rs.RemoteInboundRTPStreamStats
			if ri.PacketsReceived == 0 && ri.PacketsLost == 0 {
				continue // no receiver report yet
			}
			out.Reported = true
			out.Lost += ri.PacketsLost
			received[out] += ri.PacketsReceived
			out.Loss = lossFraction(out.Lost, received[out])
			out.RecentLoss = max(out.RecentLoss, ri.FractionLost)
			out.Jitter = max(out.Jitter, seconds(ri.Jitter))
			if ri.RoundTripTimeMeasurements > 0 && ri.RoundTripTime > 0 {
				out.RTT = ri.RoundTripTime
			}
		}
	}
}

// bitRate is the bit/s of a byte counter that went from a to b in dt; a
// counter that went back (a stream replaced by a new one) counts from 0.
func bitRate(a, b uint64, dt time.Duration) float64 {
	if b < a {
		a = 0
	}
	return float64(b-a) * 8 / dt.Seconds()
}

// lossFraction is lost / (lost + received), 0..1; 0 when nothing was
// expected or the duplicates outnumber the losses.
func lossFraction(lost int64, received uint64) float64 {
	if lost <= 0 {
		return 0
	}
	return float64(lost) / (float64(lost) + float64(received))
}

// delta is b − a, or 0 if b < a.
func delta(a, b uint64) uint64 {
	if b < a {
		return 0
	}
	return b - a
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
