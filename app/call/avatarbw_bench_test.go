package call_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent"
	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/assets/avatar"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/opus"
	"github.com/parley-app/parley/media/rtc"
	"github.com/parley-app/parley/media/testspeech"
	"github.com/parley-app/parley/media/vp8"
)

// The speech the benchmark's agent says, and the video it is compared with.
const (
	bwSpeech = 60 * time.Second       // of agent speech, clips and gaps
	bwGap    = 300 * time.Millisecond // between two clips, as between TTS sentences
	bwFPS    = 30                     // video frames per second

	// bwMinMouth is the least mouth the call must deliver for the numbers
	// to mean anything: 40 s of 20 ms samples.
	bwMinMouth = 40 * time.Second / audio.FrameDuration
)

// Per-packet overhead for the on-the-wire estimate (assumed, not measured):
// an event message goes in its own SCTP packet (no bundling) of one DTLS
// record over UDP/IPv4; a VP8 frame is cut into RTP packets of at most
// 1200 bytes of payload, each with an RTP header, a 1-byte VP8 payload
// descriptor (RFC 7741 §4.2, no extensions) and an SRTP auth tag (80-bit
// HMAC-SHA1) over UDP/IPv4. RTCP, STUN and retransmissions are left out on
// both sides.
const (
	eventOverhead = 28 + 13 + 28     // IP/UDP + DTLS record + SCTP common header and DATA chunk
	rtpOverhead   = 12 + 1 + 10 + 28 // RTP + VP8 descriptor + SRTP auth + IP/UDP
	rtpPayloadMax = 1200             // bytes of VP8 per RTP packet
	bwBackground  = 0xf4             // the video's opaque background grey (the contact sheet's)
	bwKeyInterval = 3000             // frames between VP8 keyframes, as libwebrtc's default
	bwRecvTimeout = bwSpeech + 30*time.Second
)

// BenchmarkAvatarBandwidth measures what the avatar costs on the wire for
// 60 s of agent speech (real recordings): the avatar and mouth events the
// agent sends on the data channel, counted as they arrive at a raw pion
// client, against the same avatar streamed as VP8 video: the frames the
// client would show (rendered at 30 fps from the mouth samples and faces
// received) encoded by media/vp8 at 640×480 / 500 kbit/s and at 1024×768 /
// 800 kbit/s. The goal is events at least 250× fewer bytes.
//
//	go test -run '^$' -bench AvatarBandwidth -benchtime 1x ./app/call
//
// One iteration takes about two minutes: the speech is sent in real time,
// and the video is encoded in real time too, because media/vp8's encoder
// (mediadevices' vpx) stamps frames with the wall clock and libvpx's rate
// control spends its budget per second of those stamps.
func BenchmarkAvatarBandwidth(b *testing.B) {
	clips := bwClips(b)
	pack := avatar.Default()
	var tap *bwTap
	var v640, v1024 bwVideo
	for b.Loop() {
		tap = bwListen(b, clips, pack)
		frames := tap.frames(b, pack)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); v640 = bwEncode(b, pack, frames, 640, 480, 500_000) }()
		go func() { defer wg.Done(); v1024 = bwEncode(b, pack, frames, 1024, 768, 800_000) }()
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	events := tap.avatarBytes + tap.mouthBytes
	eventsWire := events + (tap.avatars+tap.mouths)*eventOverhead
	secs := bwSpeech.Seconds()
	b.ReportMetric(float64(events), "event-bytes")
	b.ReportMetric(float64(v640.bytes), "vp8-640-bytes")
	b.ReportMetric(float64(v1024.bytes), "vp8-1024-bytes")
	b.ReportMetric(float64(v640.bytes)/float64(events), "x-vs-640")
	b.ReportMetric(float64(v1024.bytes)/float64(events), "x-vs-1024")
	b.ReportMetric(float64(tap.mouths), "mouth-events")
	b.ReportMetric(float64(tap.avatars), "avatar-events")
	b.Logf("%.0f s of speech: events %d B (%d mouth events, %d B; %d avatar events, %d B; %d mouth samples); VP8 640×480 %d B (%.1f×), 1024×768 %d B (%.1f×)",
		secs, events, tap.mouths, tap.mouthBytes, tap.avatars, tap.avatarBytes, tap.samples,
		v640.bytes, float64(v640.bytes)/float64(events), v1024.bytes, float64(v1024.bytes)/float64(events))
	for _, v := range []bwVideo{v640, v1024} {
		b.Logf("VP8 %s: %.1f kbit/s achieved of %d kbit/s asked, %d frames (%d keyframes) in %.1f s of encoder wall clock",
			v.name, float64(v.bytes)*8/secs/1000, v.bitRate/1000, v.frames, v.keyframes, v.wall.Seconds())
	}
	b.Logf("with assumed per-packet overhead: events %d B (%.2f kbit/s); VP8 640×480 %d B in %d packets (%.1f×), 1024×768 %d B in %d packets (%.1f×)",
		eventsWire, float64(eventsWire)*8/secs/1000,
		v640.wire(), v640.packets, float64(v640.wire())/float64(eventsWire),
		v1024.wire(), v1024.packets, float64(v1024.wire())/float64(eventsWire))
	var packBytes int64
	for _, f := range pack.Files {
		packBytes += f.Size
	}
	b.Logf("not counted above: the pack (%d images, %d B) is downloaded once over HTTP and cached across calls", len(pack.Files), packBytes)
}

// bwClips returns real recordings, one per PlayAudio as TTS sentences would
// come, each followed by bwGap of silence, cycling through the recordings
// until they make exactly bwSpeech (the last one cut short). Every clip is a
// whole number of 20 ms frames, so the agent sends exactly bwSpeech of
// frames.
func bwClips(tb testing.TB) [][]int16 {
	tb.Helper()
	recs, _ := librivox(tb)
	recs = append(recs, testspeech.GoForward(tb), testspeech.FrontCenter(tb))
	gap := int(bwGap.Seconds() * audio.SampleRate)
	left := int(bwSpeech.Seconds() * audio.SampleRate)
	var clips [][]int16
	for i := 0; left > 0; i++ {
		src := recs[i%len(recs)]
		n := min(len(src)+gap, left)
		n = min((n+audio.FrameSamples-1)/audio.FrameSamples*audio.FrameSamples, left)
		clip := make([]int16, n) // zeros after the speech: the gap
		copy(clip, src)
		clips = append(clips, clip)
		left -= n
	}
	return clips
}

// bwNarrator is a handler that says its clips once the call is up, one
// PlayAudio each, between the states speaking and listening.
type bwNarrator struct {
	clips [][]int16
	done  chan struct{} // closed when the last frame has been sent
}

func (n *bwNarrator) Start(ctx context.Context, out agent.Output) error {
	go func() {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		_ = out.Send(api.Event{Type: api.TypeState, State: api.StateSpeaking})
		for i, c := range n.clips {
			var done func()
			if i == len(n.clips)-1 {
				done = func() {
					_ = out.Send(api.Event{Type: api.TypeState, State: api.StateListening})
					close(n.done)
				}
			}
			out.PlayAudio(c, done)
		}
	}()
	return nil
}
func (*bwNarrator) OnAudio([]int16)   {}
func (*bwNarrator) OnEvent(api.Event) {}
func (*bwNarrator) Stop()             {}

// bwShown is what one mouth sample puts on screen: the mouth, on the face
// the agent had named when the sample arrived.
type bwShown struct {
	mouth      api.MouthSample
	face, expr string
}

// bwTap counts the avatar and mouth messages a client receives, byte for
// byte as they arrive on the data channel, and keeps what they say.
type bwTap struct {
	mu                      sync.Mutex
	avatars, mouths         int
	avatarBytes, mouthBytes int
	samples                 int
	face, expr              string             // the last avatar event's
	shown                   map[uint32]bwShown // by the RTP timestamp of the sample's frame
	first                   uint32             // the first mouth event's RTP timestamp
	bad                     error
}

func (t *bwTap) add(e api.Event, size int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Type {
	case api.TypeAvatar:
		t.avatars++
		t.avatarBytes += size
		t.face, t.expr = e.Asset, e.Expression
	case api.TypeMouth:
		samples, err := api.DecodeMouth(e.Mouth)
		if err != nil {
			t.bad = err
			return
		}
		if t.mouths == 0 {
			t.first = e.RTP
		}
		t.mouths++
		t.mouthBytes += size
		t.samples += len(samples)
		for i, s := range samples {
			t.shown[e.RTP+uint32(i)*api.MouthFrameTicks] = bwShown{mouth: s, face: t.face, expr: t.expr}
		}
	}
}

// bwListen places one call to an agent that says clips, through a raw pion
// peer that sends silence, answers pings and drops the agent's audio, and
// returns what the avatar cost once the agent is back to listening.
func bwListen(tb testing.TB, clips [][]int16, pack *avatar.Pack) *bwTap {
	tb.Helper()
	h := &bwNarrator{clips: clips, done: make(chan struct{})}
	url := startSpeaker(tb, h) // serves avatar.Default(), as pack is
	tap := &bwTap{shown: make(map[uint32]bwShown)}

	f, err := rtc.NewLoopback()
	if err != nil {
		tb.Fatal(err)
	}
	pc, err := f.NewPeerConnection()
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	mic, err := rtc.NewOpusTrack("mic", "bench")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTrack(mic); err != nil {
		tb.Fatal(err)
	}
	dc, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	if err != nil {
		tb.Fatal(err)
	}
	// The agent drops a session that stops answering its pings.
	keep := &api.Keepalive{Send: func(e api.Event) error { return dc.SendText(string(e.Encode())) }}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		e, err := api.DecodeEvent(m.Data)
		if err != nil || keep.Handle(e) {
			return
		}
		tap.add(e, len(m.Data))
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return // the connection closed
			}
		}
	})

	o, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	sc, err := signal.New(url, "t")
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	sess, err := sc.CreateSession(ctx, pc.LocalDescription().SDP)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = sc.DeleteSession(ctx, sess.Location) }()
	answer, _ := f.RemoteDescription(sess.Answer)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		tb.Fatal(err)
	}

	// The caller's microphone: a silent Opus frame every 20 ms.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(audio.FrameDuration)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = mic.WriteSample(media.Sample{Data: opus.SilenceFrame, Duration: audio.FrameDuration})
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	select {
	case <-h.done:
	case <-time.After(bwRecvTimeout):
		tb.Fatalf("the agent did not finish %v of speech within %v", bwSpeech, bwRecvTimeout)
	}
	// The last avatar event (back to listening) follows the last frame.
	deadline := time.Now().Add(2 * time.Second)
	for {
		tap.mu.Lock()
		back := tap.mouths > 0 && tap.expr == "listening"
		tap.mu.Unlock()
		if back || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	switch {
	case tap.bad != nil:
		tb.Fatalf("a mouth event did not decode: %v", tap.bad)
	case tap.avatars == 0:
		tb.Fatal("no avatar event arrived")
	case tap.samples < int(bwMinMouth):
		tb.Fatalf("%d mouth samples (%v) arrived for %v of speech, want at least %v",
			tap.samples, time.Duration(tap.samples)*audio.FrameDuration, bwSpeech, bwMinMouth*audio.FrameDuration)
	}
	return tap
}

// bwLayers are the hashes of the face and mouth one video frame shows.
type bwLayers struct{ face, mouth string }

// frames returns what the client shows at each of the bwSpeech×bwFPS video
// frames, the first at the first mouth sample: frame k shows the sample of
// the 20 ms frame at k/bwFPS s, its mouth on the face the agent named, the
// rest mouth when it is shut, no blinks (a blinking avatar would only cost
// the video more).
func (t *bwTap) frames(tb testing.TB, pack *avatar.Pack) []bwLayers {
	tb.Helper()
	rig, err := avatar.NewRig(pack.Entries())
	if err != nil {
		tb.Fatal(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(bwSpeech.Seconds() * bwFPS)
	out := make([]bwLayers, n)
	var missing int
	for k := range out {
		at := time.Duration(k) * time.Second / bwFPS
		ts := t.first + uint32(at/audio.FrameDuration)*api.MouthFrameTicks
		s, ok := t.shown[ts]
		if !ok {
			missing++
			s = bwShown{face: t.face, expr: t.expr} // shut, on the current face
		}
		face := s.face
		if _, ok := pack.File(face); !ok {
			face = rig.Face(s.expr, false)
		}
		lips := rig.Rest(s.expr)
		if s.mouth.Open > 0 {
			lips = rig.Mouth(s.mouth.Open, s.mouth.Rounded)
		}
		out[k] = bwLayers{face: face, mouth: lips}
	}
	if missing > n/10 {
		tb.Fatalf("%d of %d video frames have no mouth sample", missing, n)
	}
	return out
}

// bwVideo is what encoding the avatar as VP8 cost.
type bwVideo struct {
	name                       string
	bitRate                    int // asked, bit/s
	frames, keyframes, packets int
	bytes                      int // VP8 bitstream
	overhead                   int // bytes of packet headers, assumed
	wall                       time.Duration
}

// wire is the video's estimated bytes with per-packet overhead.
func (v bwVideo) wire() int { return v.bytes + v.overhead }

// bwEncode renders frames at w×h on an opaque background and encodes them
// as VP8 at bitRate, one frame every 1/bwFPS s of wall clock (the
// encoder's timestamps are the wall clock's). Distinct frames are composed
// once, before the encoder starts, so the pacing holds.
func bwEncode(tb testing.TB, pack *avatar.Pack, frames []bwLayers, w, h, bitRate int) bwVideo {
	v := bwVideo{name: fmt.Sprintf("%d×%d", w, h), bitRate: bitRate}
	decoded := map[string]image.Image{}
	layer := func(hash string) (image.Image, error) {
		if img, ok := decoded[hash]; ok {
			return img, nil
		}
		f, ok := pack.File(hash)
		if !ok {
			return nil, fmt.Errorf("no layer %s in the pack", hash)
		}
		img, err := avatar.Decode(f)
		decoded[hash] = img
		return img, err
	}
	bg := image.NewUniform(color.RGBA{bwBackground, bwBackground, bwBackground + 2, 0xff})
	composed := map[bwLayers]*image.RGBA{}
	for _, l := range frames {
		if composed[l] != nil {
			continue
		}
		face, err := layer(l.face)
		if err != nil {
			tb.Error(err)
			return v
		}
		mouth, err := layer(l.mouth)
		if err != nil {
			tb.Error(err)
			return v
		}
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		avatar.Compose(dst, bg, face, mouth)
		composed[l] = dst
	}

	enc, err := vp8.NewEncoder(vp8.Config{Width: w, Height: h, FrameRate: bwFPS, BitRate: bitRate, KeyFrameInterval: bwKeyInterval})
	if err != nil {
		tb.Error(err)
		return v
	}
	defer enc.Close()
	start := time.Now()
	tick := time.NewTicker(time.Second / bwFPS)
	defer tick.Stop()
	for _, l := range frames {
		<-tick.C
		b, err := enc.Encode(composed[l])
		if err != nil {
			tb.Errorf("VP8 %s, frame %d: %v", v.name, v.frames, err)
			return v
		}
		v.frames++
		v.bytes += len(b)
		if vp8.IsKeyFrame(b) {
			v.keyframes++
		}
		packets := (len(b) + rtpPayloadMax - 1) / rtpPayloadMax
		v.packets += packets
		v.overhead += packets * rtpOverhead
	}
	v.wall = time.Since(start)
	return v
}
