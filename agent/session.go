package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/agent/lipsync"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/opus"
	"github.com/parley-app/parley/media/rtc"
)

// maxConcealedFrames caps the silent frames fed to the handler for one gap in
// RTP sequence numbers (200 ms); a larger jump either way is a stream restart.
const maxConcealedFrames = 10

// session is one caller: its peer connection, codecs, handler and the
// goroutines that move audio between them. Everything it owns is released
// by close.
type session struct {
	id      string
	log     *slog.Logger
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticSample
	handler Handler
	enc     *opus.Encoder
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	onEnd   func(*session)
	metrics *metrics
	factory *rtc.Factory

	connected chan struct{} // closed when the peer connection is connected
	connOnce  sync.Once
	dcOpen    chan struct{} // closed when the parley data channel is open
	dcOnce    sync.Once
	keep      api.Keepalive
	idle      time.Duration // reclaim after this long without media or events; 0: never
	lastHeard atomic.Int64  // UnixNano of the last RTP packet or event from the caller

	// Liveness for ICE restarts (watch): UnixNano of the caller's last
	// pong, of the keepalive's last "no pong" and of the last ICE restart
	// answered. renego is held while an offer is being applied.
	lastPong    atomic.Int64
	noPongAt    atomic.Int64
	restartedAt atomic.Int64
	renego      sync.Mutex

	mu      sync.Mutex
	queue   []queued // audio waiting to be sent
	held    bool     // HoldAudio: send silence, keep the queue
	dc      *webrtc.DataChannel
	early   []api.Event // sent before the data channel opened, in order
	sendMu  sync.Mutex  // keeps events in order across the opening
	closed  bool
	started bool
	hearing bool // an audio track is being read
	seeing  bool // a video track is being read

	rtpTS  uint32 // RTP timestamp of the next audio frame sent (48 kHz clock)
	env    *lipsync.Envelope
	envMu  sync.Mutex                     // env: PlayAudio may be called from several goroutines
	face   FaceFunc                       // nil: no avatar
	video  *webrtc.TrackLocalStaticSample // hybrid mode's live track; nil if the caller receives no video
	noLips bool                           // no mouth events (no avatar pack)
	// mouthUntil is the RTP timestamp after the last frame whose mouth was
	// announced (mouthSent: any was).
	mouthUntil uint32
	mouthSent  bool
}

type queued struct {
	pcm   []int16
	done  func()
	mouth []api.MouthSample // one per 20 ms frame of the clip as queued
	sent  int               // frames of the clip sent so far
	told  int               // frames of the clip whose mouth the caller has been sent
}

func newSession(id string, f *rtc.Factory, h Handler, face FaceFunc, log *slog.Logger, m *metrics, onEnd func(*session)) (*session, error) {
	pc, err := f.NewPeerConnection()
	if err != nil {
		return nil, err
	}
	// A random first RTP timestamp (RFC 3550 §5.1) that the session knows,
	// so mouth events can name the frames they belong to.
	ts0 := rand.Uint32()
	track, err := rtc.NewOpusTrack("agent-voice", "parley-agent", webrtc.WithRTPTimestamp(ts0))
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	enc, err := opus.NewEncoder(0)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{id: id, log: log.With("session", id), metrics: m, factory: f, pc: pc, track: track, handler: h, enc: enc, ctx: ctx, cancel: cancel, onEnd: onEnd, connected: make(chan struct{}), dcOpen: make(chan struct{}), rtpTS: ts0, env: lipsync.New(), face: face, noLips: face == nil}
	s.keep.Send = s.Send
	s.lastHeard.Store(time.Now().UnixNano())
	pc.OnTrack(s.onTrack)
	pc.OnDataChannel(s.onDataChannel)
	pc.OnConnectionStateChange(s.onConnectionState)
	return s, nil
}

// answer applies the SDP offer and returns the SDP answer with all ICE
// candidates gathered (non-trickle). Errors from a malformed offer wrap
// errBadOffer.
func (s *session) answer(ctx context.Context, offer string) (string, error) {
	offer, dropped := s.factory.RemoteDescription(offer)
	if dropped > 0 {
		s.log.Info("dropped non-public ICE candidates from the offer", "count", dropped)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", errBadOffer, err)
	}
	if _, err := s.pc.AddTrack(s.track); err != nil {
		return "", fmt.Errorf("add track: %w", err)
	}
	if err := s.addVideo(offer); err != nil {
		return "", err
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gathering ICE candidates: %w", ctx.Err())
	}
	return s.pc.LocalDescription().SDP, nil
}

// Why an ICE restart offer cannot be applied now (409).
var (
	errRenegotiating = errors.New("another offer for this session is being applied")
	errEnding        = errors.New("the session is ending")
)

// restart applies an offer that restarts ICE (RFC 8445 §9) to the live
// session and returns the answer with all candidates gathered. The offer
// must change the ICE credentials and keep the DTLS fingerprint: the DTLS
// association, and with it the data channel and the SRTP keys, carries on
// over the new path. Errors: errBadOffer (wrapped) for an offer that is not
// such a restart or that pion refuses, errRenegotiating while another offer
// is being applied, errEnding once the session is closing.
func (s *session) restart(ctx context.Context, offer string) (string, error) {
	if !s.renego.TryLock() {
		return "", errRenegotiating
	}
	defer s.renego.Unlock()
	if s.ending() {
		return "", errEnding
	}
	offer, dropped := s.factory.RemoteDescription(offer)
	if dropped > 0 {
		s.log.Info("dropped non-public ICE candidates from the restart offer", "count", dropped)
	}
	cur := s.pc.RemoteDescription()
	if cur == nil {
		return "", errEnding
	}
	if err := checkRestart(cur.SDP, offer); err != nil {
		return "", fmt.Errorf("%w: %v", errBadOffer, err)
	}
	if err := s.settle(ctx); err != nil {
		return "", err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		if s.ending() {
			return "", errEnding
		}
		return "", fmt.Errorf("%w: %v", errBadOffer, err)
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		s.rollback()
		return "", fmt.Errorf("%w: %v", errBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(ans); err != nil {
		s.rollback()
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gathering ICE candidates: %w", ctx.Err())
	}
	s.restartedAt.Store(time.Now().UnixNano())
	return s.pc.LocalDescription().SDP, nil
}

// settle waits while the ICE checks of an earlier restart still run (not
// the first connection's: a restart offer for a session still connecting
// is answered at once). A
// restart in the middle of them would inherit their deadline: pion's ICE
// agent (v4.4, connectivityChecks) starts its checking timer when it
// enters the checking state, and a restart while checking does not enter
// it anew, so the new checks would fail when the old ones' time is up
// (the client's Call.settle does the same on its side). It returns ctx's
// error if they are still running when ctx ends.
func (s *session) settle(ctx context.Context) error {
	if s.restartedAt.Load() == 0 {
		return nil // the checks, if any, are the first connection's
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.pc.ICEConnectionState() == webrtc.ICEConnectionStateChecking {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("%w: the last restart's checks still run: %w", errRenegotiating, ctx.Err())
		}
	}
	return nil
}

// ending reports whether close has begun.
func (s *session) ending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// rollback undoes a remote offer that could not be answered, so that the
// session can take the next one.
func (s *session) rollback() {
	if s.pc.SignalingState() != webrtc.SignalingStateHaveRemoteOffer {
		return
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
		s.log.Debug("rollback", "err", err)
	}
}

// checkRestart checks that offer restarts ICE on the session whose remote
// description is cur: other ICE credentials, the same DTLS fingerprints.
func checkRestart(cur, offer string) error {
	oldUfrag, oldPwd, oldFP, err := iceIdentity(cur)
	if err != nil {
		return err
	}
	ufrag, pwd, fp, err := iceIdentity(offer)
	switch {
	case err != nil:
		return err
	case ufrag == "" || pwd == "":
		return errors.New("the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
	case ufrag == oldUfrag && pwd == oldPwd:
		return errors.New("the offer does not restart ICE: its ice-ufrag and ice-pwd are the session's (only ICE restarts are accepted)")
	case !slices.Equal(fp, oldFP):
		return errors.New("the offer's DTLS fingerprint is not the session's: an ICE restart keeps the DTLS association")
	}
	return nil
}

// iceIdentity returns an SDP's ICE credentials, from the session level or
// else the first media section that has them, and its DTLS fingerprints
// (sorted, without duplicates).
func iceIdentity(raw string) (ufrag, pwd string, fingerprints []string, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return "", "", nil, fmt.Errorf("the offer is not valid SDP: %v", err)
	}
	ufrag, _ = d.Attribute("ice-ufrag")
	pwd, _ = d.Attribute("ice-pwd")
	if fp, ok := d.Attribute("fingerprint"); ok {
		fingerprints = append(fingerprints, strings.ToLower(fp))
	}
	for _, m := range d.MediaDescriptions {
		if u, ok := m.Attribute("ice-ufrag"); ok && ufrag == "" {
			ufrag = u
		}
		if p, ok := m.Attribute("ice-pwd"); ok && pwd == "" {
			pwd = p
		}
		if fp, ok := m.Attribute("fingerprint"); ok {
			fingerprints = append(fingerprints, strings.ToLower(fp))
		}
	}
	slices.Sort(fingerprints)
	return ufrag, pwd, slices.Compact(fingerprints), nil
}

// start runs the handler and the sender; called once the answer is sent.
func (s *session) start() error {
	s.mu.Lock()
	if s.closed { // ended (shutdown, reclaim) before it could start
		s.mu.Unlock()
		return errors.New("agent: session closed before it started")
	}
	s.started = true
	s.wg.Add(4) // the three loops, and Start itself: close waits for it
	s.mu.Unlock()
	if err := s.guard("Start", func() error { return s.handler.Start(s.ctx, s) }); err != nil {
		s.wg.Add(-3)
		s.wg.Done()
		return fmt.Errorf("handler start: %w", err)
	}
	go s.sendLoop()
	go s.watch()
	go s.keepalive()
	s.wg.Done()
	return nil
}

// disconnectedGrace is how long a peer connection may stay disconnected
// before the caller counts as lost (ICE may recover before that).
const disconnectedGrace = 5 * time.Second

// keepalive pings the caller every second once the data channel is open.
// When no pong comes for api.PongTimeout it notes the time (watch then
// counts the caller as lost) and pings on: a caller that restarts ICE
// answers again.
func (s *session) keepalive() {
	defer s.wg.Done()
	select {
	case <-s.dcOpen:
	case <-s.ctx.Done():
		return
	}
	for {
		err := s.keep.Run(s.ctx)
		if err == nil {
			return // the session ended
		}
		if s.noPongAt.Swap(time.Now().UnixNano()) <= s.lastPong.Load() { // once per silence
			s.log.Info("caller stopped answering pings", "err", err)
		}
	}
}

// hasConnected reports whether the peer connection has been connected.
func (s *session) hasConnected() bool {
	select {
	case <-s.connected:
		return true
	default:
		return false
	}
}

// watch reclaims the session when the caller is gone: lost (lostWhy) and
// not back within api.RestartGrace of the loss or of its last ICE restart,
// or nothing heard (RTP or events) for the idle timeout.
func (s *session) watch() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var disconnectedSince, lostAt time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			st := s.pc.ConnectionState()
			switch {
			case st != webrtc.PeerConnectionStateDisconnected:
				disconnectedSince = time.Time{}
			case disconnectedSince.IsZero():
				disconnectedSince = now
			}
			switch {
			case !s.hasConnected():
			case lostAt.IsZero():
				if why := s.lostWhy(st, disconnectedSince, now); why != "" {
					lostAt = now
					s.log.Info("caller lost: keeping the session for an ICE restart", "why", why, "grace", api.RestartGrace.String())
				}
			case st == webrtc.PeerConnectionStateConnected && s.lastPong.Load() > lostAt.UnixNano():
				s.log.Info("caller back", "after", now.Sub(lostAt).Round(time.Millisecond).String())
				lostAt = time.Time{}
			default:
				if r := time.Unix(0, s.restartedAt.Load()); r.After(lostAt) {
					lostAt = r // a restart offer starts the grace anew
				}
				if now.Sub(lostAt) > api.RestartGrace {
					s.log.Info("caller gone: no ICE restart brought it back", "grace", api.RestartGrace.String())
					go s.onEnd(s)
					return
				}
			}
			if s.idle > 0 && now.Sub(time.Unix(0, s.lastHeard.Load())) > s.idle {
				s.log.Info("session idle", "timeout", s.idle.String())
				go s.onEnd(s)
				return
			}
		}
	}
}

// lostWhy says why the caller of a connected session counts as lost, or
// "" if it does not: its connection failed, or has been disconnected for
// disconnectedGrace (since disconnectedSince), or it stopped answering
// pings.
func (s *session) lostWhy(st webrtc.PeerConnectionState, disconnectedSince, now time.Time) string {
	switch {
	case st == webrtc.PeerConnectionStateFailed:
		return "connection failed"
	case !disconnectedSince.IsZero() && now.Sub(disconnectedSince) > disconnectedGrace:
		return "disconnected for " + now.Sub(disconnectedSince).Round(time.Second).String()
	case s.noPongAt.Load() > s.lastPong.Load():
		return "no pong for " + api.PongTimeout.String()
	}
	return ""
}

// bye tells the caller why the session ends and gives the event a moment
// to leave before the session is closed.
func (s *session) bye(reason string) {
	if s.Send(api.Event{Type: api.TypeBye, Message: reason}) == nil {
		s.flush(200 * time.Millisecond)
	}
}

func (s *session) onConnectionState(st webrtc.PeerConnectionState) {
	s.log.Debug("peer connection", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connOnce.Do(func() { close(s.connected) })
	case webrtc.PeerConnectionStateFailed:
		// A call that was up may come back by an ICE restart (watch);
		// one that never connected will not.
		if !s.hasConnected() {
			go s.onEnd(s)
		}
	case webrtc.PeerConnectionStateClosed:
		go s.onEnd(s)
	}
}

func (s *session) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() != rtc.DataChannelLabel {
		s.log.Warn("ignoring unknown data channel", "label", dc.Label())
		return
	}
	dc.OnOpen(func() {
		s.sendMu.Lock()
		s.mu.Lock()
		s.dc = dc
		early := s.early
		s.early = nil
		s.mu.Unlock()
		s.dcOnce.Do(func() { close(s.dcOpen) })
		// hello first, then what the handler said before the channel opened
		greeting := []api.Event{
			{Type: api.TypeHello, Version: api.ProtocolVersion, Capabilities: s.capabilities()},
			{Type: api.TypeState, State: api.StateListening},
		}
		if a, ok := s.avatarFor(api.StateListening); ok {
			greeting = append(greeting, a)
		}
		for _, e := range append(greeting, early...) {
			_ = dc.SendText(string(e.Encode()))
		}
		s.sendMu.Unlock()
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		e, err := api.DecodeEvent(m.Data)
		if err != nil {
			s.log.Warn("bad event from client", "err", err)
			return
		}
		if e.Type == api.TypePong {
			s.lastPong.Store(time.Now().UnixNano())
		}
		if s.keep.Handle(e) {
			return
		}
		s.mu.Lock()
		if s.closed { // no handler calls after close began (Stop follows)
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		s.lastHeard.Store(time.Now().UnixNano())
		_ = s.guard("OnEvent", func() error { s.handler.OnEvent(e); return nil })
	})
}

// readRTCP reads the RTCP that comes in on a receiver (the caller's sender
// reports) until the session ends, so pion's interceptors see it: the
// receiver reports the session sends then echo the caller's sender
// reports (LSR, DLSR), from which the caller measures the round trip (RFC
// 3550 §6.4.1).
func (s *session) readRTCP(rcv *webrtc.RTPReceiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			if _, _, err := rcv.ReadRTCP(); err != nil {
				return
			}
		}
	}()
}

// onTrack decodes the caller's Opus into 20 ms frames for the handler. Only
// the first audio track is heard: the handler is fed from one goroutine.
func (s *session) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	s.readRTCP(rcv)
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		s.onVideo(tr)
		return
	}
	if tr.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	s.mu.Lock()
	if s.closed || s.hearing {
		s.mu.Unlock()
		s.log.Warn("ignoring an extra audio track", "track", tr.ID())
		return
	}
	s.hearing = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	dec, err := opus.NewDecoder()
	if err != nil {
		s.log.Error("decoder", "err", err)
		go s.onEnd(s)
		return
	}
	frames := audio.NewFramer()
	var last uint16
	var have bool
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			if rtc.IsClosed(err) || s.ctx.Err() != nil {
				return
			}
			s.log.Warn("dropping a bad RTP packet", "err", err)
			continue
		}
		if have {
			gap := int(int16(pkt.SequenceNumber - last))
			switch {
			case gap <= 0 && gap > -maxConcealedFrames:
				continue // duplicate or late: already concealed
			case gap > 1 && gap <= maxConcealedFrames:
				for i := 1; i < gap; i++ {
					frames.Silence(audio.FrameSamples) // conceal a lost packet
				}
			}
		}
		arrived := time.Now()
		s.metrics.packetsIn.Inc()
		s.lastHeard.Store(arrived.UnixNano())
		last, have = pkt.SequenceNumber, true
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			s.log.Debug("decode", "err", err)
			frames.Silence(audio.FrameSamples)
		} else {
			frames.Write(pcm)
		}
		for f := frames.Next(); f != nil; f = frames.Next() {
			if s.guard("OnAudio", func() error { s.handler.OnAudio(f); return nil }) != nil {
				return
			}
		}
		s.metrics.frameTime.Observe(time.Since(arrived).Seconds())
	}
}

// onVideo hands the caller's first video track to a VideoHandler, one
// reassembled VP8 frame at a time; without one, it drains the track.
func (s *session) onVideo(tr *webrtc.TrackRemote) {
	s.mu.Lock()
	if s.closed || s.seeing {
		s.mu.Unlock()
		return
	}
	s.seeing = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	vh, wants := s.handler.(VideoHandler)
	if !wants || !strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeVP8) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil && (rtc.IsClosed(err) || s.ctx.Err() != nil) {
				return
			}
		}
	}
	// Up to 100 packets of reordering; VP8 at 90 kHz (RFC 7741).
	sb := samplebuilder.New(100, &codecs.VP8Packet{}, 90000)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			if rtc.IsClosed(err) || s.ctx.Err() != nil {
				return
			}
			continue
		}
		s.lastHeard.Store(time.Now().UnixNano())
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			if s.guard("OnVideo", func() error { vh.OnVideo(smp.Data, smp.PacketTimestamp); return nil }) != nil {
				return
			}
		}
	}
}

// sendLoop sends one 20 ms Opus frame every 20 ms: queued audio, or silence
// so the caller's jitter buffer and RTCP timing stay warm. Its clock starts
// when the peer connection connects, so the first frame leaves at once.
func (s *session) sendLoop() {
	defer s.wg.Done()
	select {
	case <-s.connected:
	case <-s.ctx.Done():
		return
	}
	var pacer audio.Pacer
	frame := make([]int16, audio.FrameSamples)
	for {
		if err := pacer.Wait(s.ctx); err != nil {
			return
		}
		done, voiced, mouth := s.nextFrame(frame)
		if mouth != nil {
			_ = s.Send(*mouth)
		}
		pkt := opus.SilenceFrame // idle: no encoder work
		if voiced {
			var err error
			if pkt, err = s.enc.Encode(frame); err != nil {
				s.log.Error("encode: ending the session", "err", err)
				go s.onEnd(s)
				return
			}
		}
		if err := s.track.WriteSample(media.Sample{Data: pkt, Duration: audio.FrameDuration}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			s.log.Debug("write sample", "err", err)
		} else {
			s.metrics.packetsOut.Inc()
		}
		if done != nil {
			done()
		}
	}
}

// nextFrame is called once per frame sent. It fills frame from the queue
// and returns the done callback of a clip whose last sample it took,
// whether there was anything queued (false: frame was left as it was; send
// silence), and the mouth event to send before the frame when the caller
// has not been told its mouth yet.
func (s *session) nextFrame(frame []int16) (func(), bool, *api.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every frame sent, voice or silence, moves the track's packetizer on
	// by 20 ms: the timestamp of the next one.
	defer func() { s.rtpTS += api.MouthFrameTicks }()
	if len(s.queue) == 0 || s.held {
		return nil, false, nil // the caller sends SilenceFrame; frame is unused
	}
	mouth := s.mouthAhead()
	q := &s.queue[0]
	n := copy(frame, q.pcm)
	clear(frame[n:])
	q.pcm = q.pcm[n:]
	q.sent++
	if len(q.pcm) > 0 {
		return nil, true, mouth
	}
	done := q.done
	s.queue = s.queue[1:]
	return done, true, mouth
}

// PlayAudio implements Output.
func (s *session) PlayAudio(pcm []int16, done func()) {
	var mouth []api.MouthSample
	if !s.noLips {
		s.envMu.Lock()
		mouth = s.env.Samples(pcm)
		s.envMu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, queued{pcm: pcm, done: done, mouth: mouth})
}

// ClearAudio implements Output.
func (s *session) ClearAudio() {
	s.mu.Lock()
	s.queue = nil
	s.held = false
	s.mu.Unlock()
	s.envMu.Lock()
	s.env.Reset()
	s.envMu.Unlock()
}

// HoldAudio implements Output. The mouth already announced for the held
// frames named timestamps that will carry silence instead, so it is
// announced again when the audio resumes.
func (s *session) HoldAudio(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = hold
	for i := range s.queue {
		s.queue[i].told = s.queue[i].sent
	}
}

// maxEarlyEvents caps the events kept for a data channel that has not
// opened yet.
const maxEarlyEvents = 64

// Send implements Output. Events sent before the data channel opens (a
// handler's Start runs as soon as the answer is sent) are kept, up to
// maxEarlyEvents, and sent right after the hello.
func (s *session) Send(e api.Event) error {
	switch e.Type {
	case api.TypeAvatar:
		a, ok := s.avatar(e)
		if !ok {
			return nil // no avatar pack, or no face for that expression
		}
		return s.send(a)
	case api.TypeState:
		if err := s.send(e); err != nil {
			return err
		}
		if a, ok := s.avatarFor(e.State); ok {
			return s.send(a)
		}
		return nil
	}
	return s.send(e)
}

func (s *session) send(e api.Event) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	dc := s.dc
	if dc == nil && !s.closed && len(s.early) < maxEarlyEvents {
		s.early = append(s.early, e)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if dc == nil {
		return errors.New("agent: data channel not open")
	}
	return dc.SendText(string(e.Encode()))
}

// flush waits (at most timeout) until the data channel's buffered amount
// drains, and a moment more, so an event sent just before closing is not
// lost. pion counts bytes until the peer acknowledges them, so on a live
// connection this often runs to the timeout: keep it short.
func (s *session) flush(timeout time.Duration) {
	s.mu.Lock()
	dc := s.dc
	s.mu.Unlock()
	if dc == nil {
		return
	}
	for deadline := time.Now().Add(timeout); dc.BufferedAmount() > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
}

// close ends the session: stops the handler's inputs, closes the peer
// connection, waits for the goroutines and releases the codecs. It is safe
// to call twice.
func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	s.cancel()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("close peer connection", "err", err)
	}
	s.wg.Wait()
	if started {
		_ = s.guard("Stop", func() error { s.handler.Stop(); return nil })
	}
	_ = s.enc.Close()
	s.log.Info("session ended")
}

var errBadOffer = errors.New("bad SDP offer")

// ErrHandlerPanic is what a session ends with when its handler panicked.
var ErrHandlerPanic = errors.New("agent: handler panicked")

// guard runs one handler call. A panic in it ends this session only (other
// sessions go on): it is logged with its stack, the caller is told with an
// error event, and the session is closed.
func (s *session) guard(what string, call func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err = fmt.Errorf("%w in %s: %v", ErrHandlerPanic, what, r)
		s.log.Error("handler panicked; ending the session", "call", what, "panic", r, "stack", string(debug.Stack()))
		if what == "Stop" {
			return
		}
		go func() {
			// Tell the caller first; the data channel may still be opening.
			select {
			case <-s.dcOpen:
				_ = s.Send(api.Event{Type: api.TypeError, Code: "handler_panic", Message: "the agent hit an internal error and ended this call"})
				s.flush(200 * time.Millisecond)
			case <-time.After(time.Second):
			case <-s.ctx.Done():
			}
			s.onEnd(s)
		}()
	}()
	return call()
}

// answerTimeout bounds ICE gathering for one offer.
const answerTimeout = 10 * time.Second
