package call

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/aec"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/camera"
	"github.com/parley-app/parley/media/jitter"
	"github.com/parley-app/parley/media/opus"
	"github.com/parley-app/parley/media/rtc"
)

// Config is what Dial needs.
type Config struct {
	AgentURL string       // base URL of the agent, e.g. http://127.0.0.1:41234
	Token    string       // bearer token
	Factory  *rtc.Factory // peer connection factory (loopback or remote)
	// Mic is the caller's voice, Speaker where the agent's voice goes; both
	// owned by the caller of Dial. They may be one duplex device
	// (audio.ReferencedSource), whose pairing of played and captured
	// frames the echo canceller then uses.
	Mic     audio.Source
	Speaker audio.Sink
	Log     *slog.Logger  // nil discards
	Timeout time.Duration // connect timeout; 0 means 10 s
	Jitter  int           // jitter buffer depth in 20 ms packets; 0 means jitter.DefaultDepth
	Start   time.Time     // when the person asked for the call; zero means now
	// EchoCancel, if set, cancels the speaker's echo in the microphone
	// before it is encoded (media/aec); nil for headphones or files.
	EchoCancel *aec.Config
	// Camera, if set, is sent to the agent as VP8 from the start; nil
	// starts with the camera off (SetCamera switches it). Owned by the
	// caller of Dial.
	Camera Camera
	// CameraPreset gives the camera's VP8 bit rate (bit/s) and frame rate
	// (the frame size is the source's); the zero value means
	// camera.DefaultPreset.
	CameraPreset camera.Preset
}

// Callbacks receive what happens during a call. Every field may be nil. They
// must not block. OnMicLevel, OnEvent and OnLost run on the call's
// goroutines; OnEnd runs on whichever goroutine ended the call (the one
// calling Hangup, for a hang-up).
type Callbacks struct {
	OnMicLevel func(level float64) // 0..1, once per 20 ms mic frame
	OnEvent    func(e api.Event)   // every event from the agent
	OnEnd      func(err error)     // once, when the call ends; err nil for a hang-up
	// OnLost, if set, is told when the connection is lost mid-call (ICE
	// or DTLS failed, or no pong for api.PongTimeout; err wraps
	// ErrConnectionLost) and the call does not end: it stays up,
	// Reconnecting, until its owner brings it back with RestartICE or
	// hangs up. It is called once per loss. Nil ends the call with
	// ErrConnectionLost instead.
	OnLost func(err error)
}

func (cb *Callbacks) fill() {
	if cb.OnMicLevel == nil {
		cb.OnMicLevel = func(float64) {}
	}
	if cb.OnEvent == nil {
		cb.OnEvent = func(api.Event) {}
	}
	if cb.OnEnd == nil {
		cb.OnEnd = func(error) {}
	}
}

// Metrics are a call's measured timings.
type Metrics struct {
	ConnectTime    time.Duration // SDP offer created → peer connection connected
	FirstAudioTime time.Duration // call start → first agent RTP packet received (0 until then)
	Jitter         jitter.Stats  // the receive jitter buffer's counters
	RTT            time.Duration // data-channel ping round trip (0 until measured)
	// VoiceToVoice is the last spoken turn's end of the caller's speech (the
	// last microphone frame above SpeechLevel) → the first frame of the
	// agent's reply handed to the speaker; 0 until measured.
	VoiceToVoice time.Duration
	// Echo is the echo canceller's state (zero without one).
	Echo EchoStats
	// BargeIn is the last time the agent's voice stopped while the caller
	// spoke over it: start of that speech → the first frame of silence
	// handed to the speaker (a barge-in, or the pause a cough causes).
	BargeIn time.Duration
	// Restarts counts the ICE restarts that brought a lost connection
	// back (RestartICE); RestartTime is how long the last one took, from
	// the RestartICE call (including the wait for an earlier restart's
	// checks to end) to connected.
	Restarts    int
	RestartTime time.Duration
}

// EchoStats describe the echo canceller during a call.
type EchoStats struct {
	On     bool
	ERLE   float64 // dB of echo removed over the last second the speaker played
	Resets int     // times the delay was measured again (the filter diverged or did not converge)
	Moves  int     // times the echo moved to another delay and the canceller followed it
	// Drift counts the times the speaker's and microphone's clocks had
	// drifted 500 ms apart and their frames were paired anew.
	Drift int
	// The canceller's state (media/aec.Stats).
	Delay              time.Duration
	Aligned, Converged bool
}

// SpeechLevel is the microphone level (audio.Level, 0..1) above which a
// frame counts as the caller speaking for the client's own timings: 0.25 is
// -45 dBFS, the energy VAD's threshold.
const SpeechLevel = 0.25

// Call is one connected call. Hang it up with Hangup.
type Call struct {
	cfg    Config
	cb     Callbacks
	log    *slog.Logger
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticSample // the microphone's Opus track
	keep   api.Keepalive                  // ping/pong with the agent
	sig    *signal.Client
	sess   signal.Session
	jb     *jitter.Buffer
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connectTime time.Duration
	firstAudio  atomic.Int64 // ns since start; 0 = none yet
	dc          atomic.Pointer[webrtc.DataChannel]
	dcOpen      chan struct{} // closed when the event channel opens

	// Turn timing, measured at the client: the mic goroutine writes the
	// speech times, the playout goroutine the reply times.
	tmu         sync.Mutex
	lastSpeech  time.Time // last mic frame above SpeechLevel
	speechStart time.Time // first mic frame above SpeechLevel after silence
	replying    bool      // the speaker is getting the agent's voice
	bargeFrom   time.Time // caller's speech began during a reply
	v2v, barge  time.Duration
	v2vTurn     time.Duration // v2v of the reply playing now, for its metrics event
	v2vFrom     time.Time     // armed by the agent's "thinking": the caller's last speech then
	flushing    atomic.Bool   // after an interrupt: drop reply audio until the agent's silence
	muted       atomic.Bool   // the caller muted the microphone: send silence
	stats       statsState    // what Stats measured last

	lips      *mouthTimeline
	video     liveVideo
	cam       camSender      // the caller's camera (camera.go)
	aec       *aec.Canceller // nil without echo cancellation; used by sendMic only
	far       *farEnd
	echoMu    sync.Mutex
	echo      EchoStats
	connected atomic.Bool
	rs        restartState // lost connection and ICE restarts (restart.go)
	endOnce   sync.Once
	endErr    error
	done      chan struct{}

	mu    sync.Mutex // guards ended against wg.Add racing wg.Wait
	ended bool
}

// addWorker registers a goroutine started by a pion callback; it returns
// false once the call is ending.
func (c *Call) addWorker() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.wg.Add(1)
	return true
}

// Dial places a call: it sends an SDP offer to the agent, waits until the
// peer connection is connected, then starts sending the microphone and
// playing the agent. It returns the signaling error (*signal.StatusError,
// signal.ErrUnreachable), ErrConnectTimeout, or ctx's error; on error nothing
// is left running.
func Dial(ctx context.Context, cfg Config, cb Callbacks) (*Call, error) {
	cb.fill()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	sig, err := signal.New(cfg.AgentURL, cfg.Token)
	if err != nil {
		return nil, err
	}
	pc, err := cfg.Factory.NewPeerConnection()
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &Call{
		cfg: cfg, cb: cb, log: cfg.Log.With("component", "call"), pc: pc, sig: sig,
		jb: jitter.New(cfg.Jitter), ctx: cctx, cancel: cancel, done: make(chan struct{}),
		dcOpen: make(chan struct{}), lips: newMouthTimeline(),
	}
	c.rs.init()
	if cfg.EchoCancel != nil {
		if c.aec, err = aec.New(*cfg.EchoCancel); err != nil {
			c.shutdown(err, false)
			return nil, err
		}
		if c.duplex() == nil {
			c.far = newFarEnd() // two devices: pair their frames by count
		}
		c.echo.On = true
	}
	if err := c.connect(ctx); err != nil {
		c.shutdown(err, false)
		return nil, err
	}
	c.connected.Store(true)
	// The connection may have dropped between connect and the line above,
	// when the state callback still took it for a failed connect.
	if st := c.pc.ConnectionState(); st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
		c.shutdown(ErrConnectionLost, false)
		return nil, ErrConnectionLost
	}
	for _, run := range []func(){c.sendMic, c.playout} {
		if c.addWorker() {
			go run()
		}
	}
	if err := c.SetCamera(cfg.Camera); err != nil && !errors.Is(err, ErrCallEnded) {
		c.log.Warn("camera", "err", err) // the call goes on without video
	}
	return c, nil
}

func (c *Call) connect(ctx context.Context) error {
	ctx, cancelTimeout := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancelTimeout()

	track, err := rtc.NewOpusTrack("mic", "parley")
	if err != nil {
		return err
	}
	c.track = track
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("call: add track: %w", err)
	}
	if c.addWorker() {
		go c.drainRTCP(sender)
	}
	if err := c.addVideo(); err != nil {
		return fmt.Errorf("call: video transceiver: %w", err)
	}
	dc, err := c.pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	if err != nil {
		return fmt.Errorf("call: data channel: %w", err)
	}
	c.dc.Store(dc)
	c.keep.Send = func(e api.Event) error { return dc.SendText(string(e.Encode())) }
	var openOnce sync.Once
	dc.OnOpen(func() {
		openOnce.Do(func() { close(c.dcOpen) })
		if c.addWorker() {
			go c.keepalive()
		}
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		e, err := api.DecodeEvent(m.Data)
		if err != nil {
			c.log.Warn("bad event from agent", "err", err)
			return
		}
		if c.keep.Handle(e) {
			return
		}
		switch e.Type {
		case api.TypeMouth:
			c.lips.add(e) // the UI asks for the mouth when it draws (Mouth)
			return
		case api.TypeState:
			if e.State == api.StateThinking {
				c.armVoiceToVoice()
			}
		case api.TypeInterrupt:
			c.flushing.Store(true) // drop what the jitter buffer holds of the reply
		case api.TypeMetrics:
			if e.Metrics != nil && e.Metrics.EndOfTurnMS > 0 {
				c.tmu.Lock()
				if c.v2vTurn > 0 {
					m := *e.Metrics
					m.VoiceToVoiceMS = ms(c.v2vTurn)
					e.Metrics = &m
					c.v2vTurn = 0
				}
				c.tmu.Unlock()
			}
		}
		c.cb.OnEvent(e)
		if e.Type == api.TypeBye {
			go c.end(fmt.Errorf("%w: %s", ErrAgentEnded, e.Message))
		}
	})
	c.pc.OnTrack(c.onTrack)
	connected, failed := make(chan struct{}), make(chan struct{})
	var connOnce, failOnce sync.Once
	c.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection", "state", s.String())
		c.noteState(s)
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			switch {
			case !c.connected.Load():
				failOnce.Do(func() { close(failed) })
			case s == webrtc.PeerConnectionStateFailed: // an ICE restart may bring it back
				go c.lose(fmt.Errorf("%w: ICE or DTLS failed", ErrConnectionLost))
			default: // closed: the agent closed its side (DTLS close_notify)
				go c.end(ErrConnectionLost)
			}
		}
	})

	offerAt := time.Now()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("call: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("call: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("call: gathering ICE candidates: %w", ctx.Err())
	}
	c.sess, err = c.sig.CreateSession(ctx, c.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	answer, dropped := c.cfg.Factory.RemoteDescription(c.sess.Answer)
	if dropped > 0 {
		c.log.Info("dropped non-public ICE candidates from the answer", "count", dropped)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("call: the agent's SDP answer: %w", err)
	}
	select {
	case <-connected:
	case <-failed:
		return fmt.Errorf("%w: ICE or DTLS failed before the call connected", ErrConnectionLost)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ErrConnectTimeout
		}
		return ctx.Err()
	}
	c.connectTime = time.Since(offerAt)
	c.log.Info("connected", "connect_ms", ms(c.connectTime))
	return nil
}

// readRTCP reads the RTCP that comes in on a receiver (the agent's sender
// reports) until the call ends, so that our receiver reports echo them
// and the agent can measure the round trip (RFC 3550 §6.4.1).
func (c *Call) readRTCP(rcv *webrtc.RTPReceiver) {
	defer c.wg.Done()
	for {
		if _, _, err := rcv.ReadRTCP(); err != nil {
			return
		}
	}
}

// drainRTCP reads RTCP for the sender so pion's interceptors (reports, NACK)
// run.
func (c *Call) drainRTCP(s *webrtc.RTPSender) {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

func (c *Call) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if !c.addWorker() {
		return
	}
	defer c.wg.Done()
	if c.addWorker() {
		go c.readRTCP(rcv)
	}
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		c.readVideo(tr)
		return
	}
	if tr.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			if rtc.IsClosed(err) || c.ctx.Err() != nil {
				return
			}
			c.log.Warn("dropping a bad RTP packet", "err", err)
			continue
		}
		if c.firstAudio.Load() == 0 {
			c.firstAudio.CompareAndSwap(0, int64(time.Since(c.cfg.Start)))
		}
		c.jb.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload)
	}
}

// duplex returns the microphone as a source of frames paired with what the
// speaker played, when the microphone and the speaker are one duplex
// device (media/device.Duplex); nil otherwise.
func (c *Call) duplex() audio.ReferencedSource {
	if r, ok := c.cfg.Mic.(audio.ReferencedSource); ok && any(c.cfg.Mic) == any(c.cfg.Speaker) {
		return r
	}
	return nil
}

// sendMic encodes the microphone and writes it to the Opus track, paced by
// the source.
func (c *Call) sendMic() {
	defer c.wg.Done()
	enc, err := opus.NewEncoder(0)
	if err != nil {
		go c.end(err)
		return
	}
	defer enc.Close()
	far := make([]int16, audio.FrameSamples)
	frames := 0
	var last aec.Stats // the echo canceller's state last logged
	track := c.track
	f := make([]int16, audio.FrameSamples)
	duplex := c.duplex()
	for {
		var err error
		switch {
		case c.aec != nil && duplex != nil:
			err = duplex.ReadFrameRef(c.ctx, f, far) // paired by the device
		case c.aec != nil:
			if err = c.cfg.Mic.ReadFrame(c.ctx, f); err == nil {
				c.far.pop(far)
			}
		default:
			err = c.cfg.Mic.ReadFrame(c.ctx, f)
		}
		if err != nil {
			if c.ctx.Err() != nil || errors.Is(err, io.EOF) {
				return // hung up, or a file source that has ended
			}
			c.log.Warn("microphone stopped", "err", err)
			go c.end(fmt.Errorf("%w: %v", ErrMicrophone, err))
			return
		}
		if c.aec != nil {
			if err := c.aec.Process(f, far, f); err != nil {
				go c.end(err)
				return
			}
			st := c.aec.Stats()
			if st.Resets != last.Resets || st.Moves != last.Moves || st.Aligned != last.Aligned || st.Converged != last.Converged {
				// Each change of the canceller's state, for the log: when
				// the person was muted with the echo, and why.
				c.log.Info("echo canceller", "aligned", st.Aligned, "converged", st.Converged, "delay_ms", st.Delay.Milliseconds(),
					"moves", st.Moves, "resets", st.Resets, "erle_db", math.Round(st.ERLE))
				last = st
			}
			if frames++; frames%50 == 0 { // once a second
				c.echoMu.Lock()
				c.echo = EchoStats{On: true, ERLE: st.ERLE, Resets: st.Resets, Moves: st.Moves, Drift: c.far.realigned(), Delay: st.Delay, Aligned: st.Aligned, Converged: st.Converged}
				c.echoMu.Unlock()
			}
		}
		if c.muted.Load() {
			clear(f) // silence keeps the RTP timeline and the agent's VAD quiet
		}
		level := audio.Level(f)
		c.cb.OnMicLevel(level)
		c.heard(level >= SpeechLevel)
		pkt, err := enc.Encode(f)
		if err != nil {
			go c.end(err)
			return
		}
		if err := track.WriteSample(media.Sample{Data: pkt, Duration: audio.FrameDuration}); err != nil && c.ctx.Err() == nil {
			c.log.Debug("write sample", "err", err)
		}
	}
}

// playout pulls packets from the jitter buffer until it has 20 ms of audio,
// decodes them and writes the frame to the speaker, whose WriteFrame paces
// the loop. A lost packet is concealed by repeating the last packet at half
// amplitude once, then silence (packet loss concealment, PLC); when nothing
// is due the speaker gets silence.
func (c *Call) playout() {
	defer c.wg.Done()
	dec, err := opus.NewDecoder()
	if err != nil {
		go c.end(err)
		return
	}
	out := audio.NewFramer()
	var last []int16
	concealed := false
	latency := func() time.Duration { return 0 }
	if l, ok := c.cfg.Speaker.(audio.Latencer); ok {
		latency = l.Latency
	}
	// The RTP timestamp of the packet in the frame about to be played and
	// whether it is the agent's voice, for the avatar's mouth.
	var ts uint32
	var voice bool
	for {
		for out.Len() < audio.FrameSamples {
			payload, pts, st := c.jb.Pop()
			switch st {
			case jitter.Packet:
				voiced := !bytes.Equal(payload, opus.SilenceFrame)
				ts, voice = pts, false
				if voiced && c.flushing.Load() {
					out.Silence(audio.FrameSamples) // interrupted: drop the rest of the reply
					c.played(false)
					continue
				}
				c.flushing.Store(false)
				c.played(voiced)
				voice = voiced
				pcm, err := dec.Decode(payload)
				if err != nil {
					c.log.Debug("decode", "err", err)
					out.Silence(audio.FrameSamples)
					continue
				}
				out.Write(pcm)
				last = append(last[:0], pcm...)
				concealed = false
			case jitter.Lost:
				ts += api.MouthFrameTicks
				if concealed || len(last) == 0 {
					out.Silence(max(len(last), audio.FrameSamples))
					voice = false
					continue
				}
				for i := range last {
					last[i] /= 2
				}
				out.Write(last)
				concealed = true
			default:
				out.Silence(audio.FrameSamples - out.Len())
				voice = false
			}
		}
		frame := out.Next()
		if c.far != nil {
			c.far.push(frame)
		}
		if err := c.cfg.Speaker.WriteFrame(c.ctx, frame); err != nil {
			if c.ctx.Err() == nil {
				c.log.Warn("speaker stopped", "err", err)
				go c.end(fmt.Errorf("%w: %v", ErrSpeaker, err))
			}
			return
		}
		c.lips.played(ts, voice, time.Now().Add(latency()))
	}
}

// Mouth returns the agent's mouth for the audio heard at t (time.Now() when
// the UI draws a frame): its openness and lip rounding as the agent's mouth
// events gave them for the frame the speaker plays then, or a closed mouth
// when the agent is silent.
func (c *Call) Mouth(t time.Time) api.MouthSample { return c.lips.at(t) }

// heard notes whether the caller is speaking in the mic frame just
// captured.
func (c *Call) heard(speech bool) {
	if !speech {
		return
	}
	now := time.Now()
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if now.Sub(c.lastSpeech) > 200*time.Millisecond {
		c.speechStart = now
		if c.replying {
			c.bargeFrom = now
		}
	}
	c.lastSpeech = now
}

// armVoiceToVoice starts timing a reply when the agent starts answering
// a turn: from the caller's last speech to the reply's first frame played.
// A reply resumed after a hold, or the next sentence after a gap, is not
// timed.
func (c *Call) armVoiceToVoice() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	c.v2vTurn = 0
	c.v2vFrom = time.Time{}
	if !c.lastSpeech.IsZero() && time.Since(c.lastSpeech) < 30*time.Second {
		c.v2vFrom = c.lastSpeech
	}
}

// played notes whether the frame about to go to the speaker is the agent's
// voice (voiced) or its idle silence, and times replies and barge-ins.
func (c *Call) played(voiced bool) {
	now := time.Now()
	c.tmu.Lock()
	defer c.tmu.Unlock()
	switch {
	case voiced && !c.replying:
		c.replying = true
		if !c.v2vFrom.IsZero() { // the first reply audio of a turn
			c.v2v = now.Sub(c.v2vFrom)
			c.v2vTurn = c.v2v
			c.v2vFrom = time.Time{}
		}
	case !voiced && c.replying:
		c.replying = false
		if !c.bargeFrom.IsZero() {
			c.barge = now.Sub(c.bargeFrom)
			c.bargeFrom = time.Time{}
		}
	}
}

// Send sends an event to the agent on the data channel, e.g. a typed
// message (api.TypeText). Right after connecting it waits (up to 2 s) for
// the channel to open; it returns an error if it does not, or once the
// call has ended.
func (c *Call) Send(e api.Event) error {
	select {
	case <-c.dcOpen:
	case <-c.ctx.Done():
	case <-time.After(2 * time.Second):
	}
	dc := c.dc.Load()
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return errors.New("call: the event channel to the agent is not open")
	}
	return dc.SendText(string(e.Encode()))
}

// Metrics returns the call's timings so far.
func (c *Call) Metrics() Metrics {
	c.tmu.Lock()
	v2v, barge := c.v2v, c.barge
	c.tmu.Unlock()
	c.echoMu.Lock()
	echo := c.echo
	c.echoMu.Unlock()
	c.rs.smu.Lock()
	restarts, restartTime := c.rs.restarts, c.rs.last
	c.rs.smu.Unlock()
	return Metrics{
		Restarts:       restarts,
		RestartTime:    restartTime,
		Echo:           echo,
		ConnectTime:    c.connectTime,
		FirstAudioTime: time.Duration(c.firstAudio.Load()),
		Jitter:         c.jb.Stats(),
		RTT:            c.keep.RTT(),
		VoiceToVoice:   v2v,
		BargeIn:        barge,
	}
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err returns why the call ended (nil for a hang-up or while it runs).
func (c *Call) Err() error {
	select {
	case <-c.done:
		return c.endErr
	default:
		return nil
	}
}

// Hangup ends the call: it tells the agent (DELETE), closes the peer
// connection and waits for the call's goroutines. It is safe to call twice.
func (c *Call) Hangup() {
	c.end(nil)
}

func (c *Call) end(err error) { c.shutdown(err, true) }

// shutdown ends the session at the agent, closes the peer connection and
// waits for every goroutine; notify says whether OnEnd is called (not for a
// Dial that failed, which returns its error instead).
func (c *Call) shutdown(err error, notify bool) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		c.mu.Unlock()
		c.endErr = err
		if c.sess.Location != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if derr := c.sig.DeleteSession(ctx, c.sess.Location); derr != nil {
				c.log.Debug("delete session", "err", derr)
			}
			cancel()
		}
		c.teardown()
		close(c.done)
		if notify {
			c.cb.OnEnd(err)
		}
	})
}

func (c *Call) teardown() {
	c.cancel()
	if err := c.pc.Close(); err != nil {
		c.log.Debug("close peer connection", "err", err)
	}
	c.wg.Wait()
	if c.aec != nil {
		c.aec.Close() // sendMic has stopped
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
