package call

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// ICE restart (RFC 8445 §9; JSEP's IceRestart, RFC 8829 §5.2.1): when the
// network path to the agent breaks or changes (another Wi-Fi, a VPN, a new
// address), new ICE credentials and candidates are offered to the same
// agent session (PATCH, docs/protocol.md). The DTLS association goes on
// over the new path, and with it the data channel, the tracks and the
// agent's conversation.

// restartState is the call's liveness: whether its connection is lost, and
// the counters RestartICE waits on.
type restartState struct {
	mu sync.Mutex // serialises RestartICE: held for one restart

	smu      sync.Mutex    // guards the fields below
	lost     bool          // lost (or restarting) and not back yet
	back     chan struct{} // closed when a restart brings the connection back, then replaced
	changed  chan struct{} // closed at each peer connection state change, then replaced
	connects int           // transitions to connected
	restarts int           // restarts that brought the connection back
	last     time.Duration // how long the last of them took
}

func (r *restartState) init() {
	r.back = make(chan struct{})
	r.changed = make(chan struct{})
}

// noteState records a peer connection state change for RestartICE.
func (c *Call) noteState(s webrtc.PeerConnectionState) {
	c.rs.smu.Lock()
	defer c.rs.smu.Unlock()
	if s == webrtc.PeerConnectionStateConnected {
		c.rs.connects++
	}
	close(c.rs.changed)
	c.rs.changed = make(chan struct{})
}

// lose handles a connection lost mid-call (err wraps ErrConnectionLost).
// Without Callbacks.OnLost it ends the call and returns nil. With it, the
// call stays up and OnLost is called, once until a restart brings the
// connection back (not at all while RestartICE runs: it reports its own
// failure); lose returns the channel closed when that happens.
func (c *Call) lose(err error) <-chan struct{} {
	if c.cb.OnLost == nil {
		go c.end(err)
		return nil
	}
	c.rs.smu.Lock()
	if c.ctx.Err() != nil { // hung up
		c.rs.smu.Unlock()
		return nil
	}
	first := !c.rs.lost
	c.rs.lost = true
	back := c.rs.back
	c.rs.smu.Unlock()
	if first {
		c.log.Warn("connection lost: waiting for an ICE restart or a hang-up", "err", err)
		c.cb.OnLost(err)
	}
	return back
}

// keepalive pings the agent on the event channel until the call ends. When
// the agent stops answering for api.PongTimeout the connection is lost
// (lose); pinging resumes once a restart has brought it back.
func (c *Call) keepalive() {
	defer c.wg.Done()
	for {
		gen := c.restartCount()
		err := c.keep.Run(c.ctx)
		if err == nil {
			return // hung up
		}
		if c.restartCount() != gen {
			continue // restarted meanwhile: count the silence from the restart
		}
		back := c.lose(fmt.Errorf("%w: %v", ErrConnectionLost, err))
		if back == nil {
			return
		}
		select {
		case <-back:
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Call) restartCount() int {
	c.rs.smu.Lock()
	defer c.rs.smu.Unlock()
	return c.rs.restarts
}

// State returns where the call is: InCall; Reconnecting from a lost
// connection (Callbacks.OnLost) until a restart brings it back, and during
// RestartICE; Ended after a hang-up, Failed after any other end.
func (c *Call) State() State {
	select {
	case <-c.done:
		if c.endErr == nil {
			return Ended
		}
		return Failed
	default:
	}
	c.rs.smu.Lock()
	defer c.rs.smu.Unlock()
	if c.rs.lost {
		return Reconnecting
	}
	return InCall
}

// RestartICE restarts ICE over the same agent session: it makes an offer
// with new ICE credentials (webrtc.OfferOptions.ICERestart), gathers its
// candidates, sends it to the agent (signal.Client.RestartSession), applies
// the answer and waits until the connection is connected again. The call
// is Reconnecting meanwhile. It returns nil once connected, ErrCallEnded
// once the call has ended, the signaling error (a *signal.StatusError 404
// or 405 means the agent has no such session or no ICE restarts: make a
// new session), or ctx's error (wrapped) when the connection is not back
// in time.
//
// pion restarts the ICE agent as soon as the offer is made, so after an
// error the connection is down whatever it was before: restart again, or
// hang up. A restart begun while an earlier one's checks still run first
// waits for them to end (settle). Restarts do not overlap: a second call
// waits for the first.
// It works alike in local mode, where a lost connection means the agent
// has gone (its session with it), so the agent's refusal comes at once.
func (c *Call) RestartICE(ctx context.Context) error {
	c.rs.mu.Lock()
	defer c.rs.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)() // a hang-up ends the restart
	if c.ctx.Err() != nil {
		return ErrCallEnded
	}
	start := time.Now()
	c.rs.smu.Lock()
	c.rs.lost = true // no OnLost for what the restart itself goes through
	c.rs.smu.Unlock()
	back, err := c.settle(ctx)
	if err == nil && !back {
		n0 := c.connections()
		if err = c.renegotiate(ctx); err == nil {
			err = c.waitConnected(ctx, n0)
		}
	}
	if c.ctx.Err() != nil {
		return ErrCallEnded
	}
	if err != nil {
		c.log.Info("ICE restart failed", "err", err, "ms", ms(time.Since(start)))
		return err
	}
	took := time.Since(start)
	c.rs.smu.Lock()
	c.rs.lost = false
	c.rs.restarts++
	c.rs.last = took
	close(c.rs.back)
	c.rs.back = make(chan struct{})
	c.rs.smu.Unlock()
	c.log.Info("connected again by an ICE restart", "ms", ms(took))
	return nil
}

// settle waits while the connection is connecting, that is while the ICE
// checks of an earlier restart still run, and reports whether they
// connected. A restart in the middle of them would inherit their deadline:
// pion's ICE agent (v4.4) starts its checking timer when it enters the
// checking state, and a restart while checking does not enter it anew, so
// the new checks would fail as soon as the old ones' time was up.
func (c *Call) settle(ctx context.Context) (bool, error) {
	waited := false
	for {
		c.rs.smu.Lock()
		st, changed := c.pc.ConnectionState(), c.rs.changed
		c.rs.smu.Unlock()
		if st != webrtc.PeerConnectionStateConnecting {
			return waited && st == webrtc.PeerConnectionStateConnected, nil
		}
		waited = true
		select {
		case <-changed:
		case <-ctx.Done():
			return false, fmt.Errorf("%w: the last restart's checks still run: %w", errNotBack, ctx.Err())
		}
	}
}

func (c *Call) connections() int {
	c.rs.smu.Lock()
	defer c.rs.smu.Unlock()
	return c.rs.connects
}

// renegotiate makes the ICE restart offer, sends it and applies the answer.
func (c *Call) renegotiate(ctx context.Context) error {
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("call: ICE restart offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc) // after CreateOffer: it started gathering anew
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("call: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		c.rollback()
		return fmt.Errorf("call: gathering ICE candidates: %w", ctx.Err())
	}
	answer, err := c.sig.RestartSession(ctx, c.sess.Location, c.pc.LocalDescription().SDP)
	if err != nil {
		c.rollback()
		return err
	}
	answer, dropped := c.cfg.Factory.RemoteDescription(answer)
	if dropped > 0 {
		c.log.Info("dropped non-public ICE candidates from the restart answer", "count", dropped)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.rollback()
		return fmt.Errorf("call: the agent's ICE restart answer: %w", err)
	}
	return nil
}

// rollback drops an offer that got no answer, so the next restart can make
// another.
func (c *Call) rollback() {
	if c.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	if err := c.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
		c.log.Debug("rollback", "err", err)
	}
}

// errNotBack: the restart was answered, but ICE and DTLS did not connect
// again in time.
var errNotBack = errors.New("call: the connection did not come back after the ICE restart")

// waitConnected waits until the peer connection has connected again since
// the restart began (n0 connects before it).
func (c *Call) waitConnected(ctx context.Context, n0 int) error {
	for {
		c.rs.smu.Lock()
		ok := c.rs.connects > n0 && c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
		changed := c.rs.changed
		c.rs.smu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%w (state %s): %w", errNotBack, c.pc.ConnectionState(), ctx.Err())
		}
	}
}
