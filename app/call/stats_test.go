package call_test

import (
	"context"
	"math"
	"net"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/echo"
	"github.com/parley-app/parley/app/call"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/rtc/vnettest"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/testvideo"
)

// dialEcho calls the echo agent at url with a voice the test speaks into
// and an ear that counts the voiced frames of the echo.
func dialEcho(t *testing.T, url, token string, f *rtc.Factory) (*call.Call, *voice, *ear) {
	t.Helper()
	mic, spk := newVoice(), &ear{}
	c, err := call.Dial(context.Background(), call.Config{
		AgentURL: url, Token: token, Factory: f, Mic: mic, Speaker: spk,
	}, call.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Hangup)
	return c, mic, spk
}

// sayAndHearEcho says speech, then waits until the echo of it has played
// for a second, and returns the Stats taken right after the speech and
// then during the echo.
func sayAndHearEcho(t *testing.T, c *call.Call, mic *voice, spk *ear, speech []int16) (said, echoed call.Stats) {
	t.Helper()
	c.Stats() // the next interval starts now (or at the connect)
	mic.Say(speech)
	select {
	case <-mic.said:
	case <-time.After(10 * time.Second):
		t.Fatal("the microphone did not play the speech")
	}
	said = c.Stats()
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := spk.heard(); n < 10; n, _ = spk.heard() {
		if time.Now().After(deadline) {
			t.Fatal("no echo of the speech")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Until(said.At.Add(600 * time.Millisecond))) // Stats measures at most every 500 ms
	c.Stats()                                                   // the echo is playing: the next interval has only the echo
	time.Sleep(time.Second)                                     // the speech is 2.8 s long
	return said, c.Stats()
}

func logStats(t *testing.T, what string, s call.Stats) {
	t.Helper()
	t.Logf("%s: interval %v, RTT %v (%s), connect %v", what, s.Interval.Round(time.Millisecond), s.RTT, s.RTTSource, s.ConnectTime)
	t.Logf("  audio in  %6.0f bit/s, %d packets, %d lost (%.3f, recent %.3f), jitter %v",
		s.AudioIn.BitRate, s.AudioIn.Packets, s.AudioIn.Lost, s.AudioIn.Loss, s.AudioIn.RecentLoss, s.AudioIn.Jitter)
	t.Logf("  audio out %6.0f bit/s, %d packets; agent reports (%v): %d lost (%.3f, recent %.3f), jitter %v, RTT %v",
		s.AudioOut.BitRate, s.AudioOut.Packets, s.AudioOut.Reported, s.AudioOut.Lost, s.AudioOut.Loss, s.AudioOut.RecentLoss, s.AudioOut.Jitter, s.AudioOut.RTT)
	t.Logf("  video in  %6.0f bit/s, %d packets; video out %6.0f bit/s, %d packets",
		s.VideoIn.BitRate, s.VideoIn.Packets, s.VideoOut.BitRate, s.VideoOut.Packets)
}

// TestStatsOverARealCall: real speech into a real loopback call with the
// echo agent. While we speak, our Opus goes out at about the encoder's
// 32 kbit/s; while the echo plays it comes back at about that rate; the
// round trip is short, the jitter small, nothing is lost. Stats is cheap,
// and safe from several goroutines, during and after the hang-up.
func TestStatsOverARealCall(t *testing.T) {
	la := startAgent(t)
	f, err := rtc.NewLoopback()
	if err != nil {
		t.Fatal(err)
	}
	c, mic, spk := dialEcho(t, la.URL, la.Token, f)
	first := c.Stats()
	logStats(t, "first", first)
	if first.Ended || first.Interval != 0 || first.AudioOut.BitRate != 0 || first.ConnectTime <= 0 {
		t.Fatalf("first Stats: %+v", first)
	}

	speech := testspeech.GoForward(t)
	said, echoed := sayAndHearEcho(t, c, mic, spk, speech)
	logStats(t, "after speaking", said)
	logStats(t, "during the echo", echoed)

	// Our Opus: 32 kbit/s VBR target while speaking (the interval is the
	// 2.8 s of speech and the moment before it).
	if r := said.AudioOut.BitRate; r < 16000 || r > 48000 {
		t.Errorf("audio sent at %.0f bit/s while speaking, want 16–48 kbit/s", r)
	}
	if r := echoed.AudioIn.BitRate; r < 16000 || r > 48000 {
		t.Errorf("audio received at %.0f bit/s while the agent speaks, want 16–48 kbit/s", r)
	}
	// 50 packets a second each way.
	elapsed := echoed.At.Sub(first.At) + first.Interval
	for name, n := range map[string]uint64{"sent": echoed.AudioOut.Packets, "received": echoed.AudioIn.Packets} {
		if want := elapsed.Seconds() * 50; math.Abs(float64(n)-want) > 0.1*want+10 {
			t.Errorf("audio packets %s: %d in %v, want about %.0f", name, n, elapsed, want)
		}
	}
	for _, s := range []call.Stats{said, echoed} {
		// The agent reads our sender reports, so its receiver reports
		// give the round trip of the media path itself.
		if s.RTT <= 0 || s.RTT > 50*time.Millisecond || s.RTTSource != call.RTTFromRTCP {
			t.Errorf("RTT %v from %q on loopback, want it from RTCP", s.RTT, s.RTTSource)
		}
		if j := s.AudioIn.Jitter; j < 0 || j > 20*time.Millisecond {
			t.Errorf("jitter of the agent's audio %v on loopback", j)
		}
		if s.AudioIn.Lost != 0 || s.AudioIn.Loss != 0 || s.AudioIn.RecentLoss != 0 {
			t.Errorf("loss on loopback: %+v", s.AudioIn)
		}
		if !s.AudioOut.Reported || s.AudioOut.Lost != 0 || s.AudioOut.Loss != 0 || s.AudioOut.RecentLoss != 0 {
			t.Errorf("the agent's reports on loopback: %+v", s.AudioOut)
		}
		if s.VideoIn.Packets != 0 || s.VideoOut.Packets != 0 {
			t.Errorf("video without video: %+v %+v", s.VideoIn, s.VideoOut)
		}
	}
	if again := c.Stats(); again.AudioIn.BitRate != echoed.AudioIn.BitRate || again.Interval != echoed.Interval {
		t.Errorf("a Stats right after another measured a new interval: %v, then %v", echoed.Interval, again.Interval)
	}

	// Cheap enough for a panel's once a second.
	const n = 20
	start := time.Now()
	for range n {
		c.Stats()
	}
	per := time.Since(start) / n
	t.Logf("Stats takes %v", per)
	if per > 20*time.Millisecond {
		t.Errorf("Stats takes %v", per)
	}

	// Readers in parallel, as a panel and a logger would be, through the
	// hang-up.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					c.Stats()
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	c.Hangup()
	close(stop)
	wg.Wait()
	after := c.Stats()
	if !after.Ended || after.AudioOut.Packets < echoed.AudioOut.Packets || after.ConnectTime != first.ConnectTime {
		t.Fatalf("Stats after the hang-up: %+v", after)
	}
	if again := c.Stats(); again != after {
		t.Fatalf("Stats after the hang-up changed: %+v, then %+v", after, again)
	}
}

// TestStatsAfterHangup: Stats never called during the call still answers
// after it.
func TestStatsAfterHangup(t *testing.T) {
	la := startAgent(t)
	f, _ := rtc.NewLoopback()
	c, _, _ := dialEcho(t, la.URL, la.Token, f)
	c.Hangup()
	s := c.Stats()
	if !s.Ended || s.ConnectTime <= 0 || s.AudioOut.Packets != 0 {
		t.Fatalf("Stats after the hang-up: %+v", s)
	}
	var nilCall *call.Call
	if s := nilCall.Stats(); !s.Ended {
		t.Fatalf("Stats of a nil call: %+v", s)
	}
}

// TestStatsReportLoss: over a path that drops 10% of the RTP packets each
// way, the call reports that loss for the agent's audio as received and,
// from the agent's receiver reports, for ours.
func TestStatsReportLoss(t *testing.T) {
	// The path drops every tenth RTP packet in each direction; RTCP, STUN,
	// DTLS and SCTP pass.
	var toAgent, toClient atomic.Int64 // RTP packets seen
	agentIP := net.ParseIP(vnettest.AgentIP)
	n := vnettest.New(t, func(c vnet.Chunk) bool {
		b := c.UserData()
		// RFC 7983: RTP and RTCP start with 128..191; RTCP's packet type
		// (marker bit included) is 192..223 (RFC 5761 §4).
		if len(b) < 12 || b[0] < 128 || b[0] > 191 || (b[1] >= 192 && b[1] <= 223) {
			return true
		}
		count := &toAgent
		if a, ok := c.SourceAddr().(*net.UDPAddr); ok && a.IP.Equal(agentIP) {
			count = &toClient
		}
		return count.Add(1)%10 != 0
	})
	af, err := rtc.NewLoopback(vnettest.On(n.Agent))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agent.NewServer(agent.Config{Token: "t", Factory: af, Handler: echo.New(echo.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	cf, err := rtc.NewLoopback(vnettest.On(n.Client))
	if err != nil {
		t.Fatal(err)
	}
	c, mic, spk := dialEcho(t, hs.URL, "t", cf)
	said, echoed := sayAndHearEcho(t, c, mic, spk, testspeech.GoForward(t))
	logStats(t, "after speaking", said)
	logStats(t, "during the echo", echoed)
	t.Logf("RTP packets through the lossy path: %d to the agent, %d to the client", toAgent.Load(), toClient.Load())

	near := func(x float64) bool { return x > 0.07 && x < 0.13 }
	in, out := echoed.AudioIn, echoed.AudioOut
	if in.Lost <= 0 || !near(in.Loss) || !near(in.RecentLoss) {
		t.Errorf("the agent's audio as received: %d lost, loss %.3f, recent %.3f; want about 10%%", in.Lost, in.Loss, in.RecentLoss)
	}
	if !out.Reported || out.Lost <= 0 || !near(out.Loss) || out.RecentLoss <= 0 {
		t.Errorf("our audio as the agent reports it: %+v; want about 10%% lost", out)
	}
	// A tenth of the echo is lost on the way, and the agent echoes what
	// reached it: still most of our own rate.
	if r := echoed.AudioIn.BitRate; r < 12000 || r > 48000 {
		t.Errorf("audio received at %.0f bit/s while the agent speaks", r)
	}
}

// TestRTCPRoundTrip shows what Stats needs for an RTTFromRTCP round trip,
// on two bare peers of one loopback factory: the sender's stream
// statistics (rtc.Factory.StreamStats) get a round trip from the
// receiver's reports only when the receiving peer reads the RTCP that
// arrives on its receiver (our sender reports): pion's report interceptor
// sees them only then, and sends no LSR/DLSR without them. The agent's
// session and the call both read it.
func TestRTCPRoundTrip(t *testing.T) {
	for _, readRTCP := range []bool{true, false} {
		t.Run(map[bool]string{true: "receiver reads RTCP", false: "receiver ignores RTCP"}[readRTCP], func(t *testing.T) {
			f, err := rtc.NewLoopback()
			if err != nil {
				t.Fatal(err)
			}
			tx, err := f.NewPeerConnection()
			if err != nil {
				t.Fatal(err)
			}
			rx, err := f.NewPeerConnection()
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			defer rx.Close()
			defer tx.Close()
			track, err := rtc.NewOpusTrack("a", "s")
			if err != nil {
				t.Fatal(err)
			}
			snd, err := tx.AddTrack(track)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { // the sender's RTCP: the receiver reports
				for {
					if _, _, err := snd.ReadRTCP(); err != nil {
						return
					}
				}
			})
			rx.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
				if readRTCP {
					wg.Go(func() {
						for {
							if _, _, err := r.ReadRTCP(); err != nil {
								return
							}
						}
					})
				}
				for {
					if _, _, err := tr.ReadRTP(); err != nil {
						return
					}
				}
			})
			connect(t, tx, rx)
			ssrc := uint32(snd.GetParameters().Encodings[0].SSRC)
			var id string
			for _, v := range tx.GetStats() {
				if p, ok := v.(webrtc.PeerConnectionStats); ok {
					id = p.ID
				}
			}
			pkt := []byte{0xF8, 0xFF, 0xFE} // 20 ms of Opus silence
			// Sender and receiver reports go once a second each: a round
			// trip shows after 1–2 s (up to 6 s seen on a loaded machine).
			wait := map[bool]time.Duration{true: 10 * time.Second, false: 3 * time.Second}[readRTCP]
			var rtt time.Duration
			start := time.Now()
			for time.Since(start) < wait && rtt == 0 {
				if err := track.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
				if rs := f.StreamStats(id).Get(ssrc); rs != nil {
					rtt = rs.RemoteInboundRTPStreamStats.RoundTripTime
				}
			}
			t.Logf("round trip from the receiver reports: %v (after %v)", rtt, time.Since(start).Round(time.Millisecond))
			if readRTCP != (rtt > 0 && rtt < 50*time.Millisecond) {
				t.Fatalf("RTT %v from RTCP", rtt)
			}
			_ = tx.Close()
			if f.StreamStats(id) != nil {
				t.Fatal("the factory keeps the stream statistics of a closed connection")
			}
		})
	}
}

// connect negotiates tx (offerer) with rx, non-trickle, and waits until
// both are connected.
func connect(t *testing.T, tx, rx *webrtc.PeerConnection) {
	t.Helper()
	up := make(chan struct{}, 2)
	for _, pc := range []*webrtc.PeerConnection{tx, rx} {
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				up <- struct{}{}
			}
		})
	}
	describe := func(pc *webrtc.PeerConnection, d webrtc.SessionDescription) webrtc.SessionDescription {
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(d); err != nil {
			t.Fatal(err)
		}
		<-done
		return *pc.LocalDescription()
	}
	offer, err := tx.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.SetRemoteDescription(describe(tx, offer)); err != nil {
		t.Fatal(err)
	}
	answer, err := rx.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.SetRemoteDescription(describe(rx, answer)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-up:
		case <-time.After(5 * time.Second):
			t.Fatal("the peers did not connect")
		}
	}
}

// TestStatsVideo: with the camera on (the test pattern, 320×240 at
// 250 kbit/s) and the agent showing live video (hybrid mode), both video
// directions have their bit rates and packets; the camera's bit rate is of
// the order of its preset.
func TestStatsVideo(t *testing.T) {
	src, p := openPattern(t, "320x240")
	h := &speaker{pcm: make([]int16, audio.FrameSamples), video: testvideo.VP8Frames(t, 30), done: make(chan struct{}), err: make(chan error, 1)}
	url := startSpeaker(t, h)
	c := dialCamera(t, url, "t", src, p)
	select {
	case err := <-h.err:
		if err != nil {
			t.Fatalf("the agent could not send video: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never finished its video")
	}
	time.Sleep(500 * time.Millisecond) // the camera runs on
	s := c.Stats()
	logStats(t, "camera and live video", s)
	if s.VideoIn.Packets < 30 || s.VideoIn.BitRate <= 0 || s.VideoIn.Lost != 0 {
		t.Errorf("the agent's video as received: %+v", s.VideoIn)
	}
	if r := s.VideoOut.BitRate; s.VideoOut.Packets == 0 || r < 0.1*float64(p.BitRate) || r > 2*float64(p.BitRate) {
		t.Errorf("the camera sent at %.0f bit/s (%d packets), preset %d bit/s", r, s.VideoOut.Packets, p.BitRate)
	}
}
