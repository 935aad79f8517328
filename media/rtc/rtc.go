// Package rtc builds pion/webrtc peer connections tuned for the case at hand.
//
// Local mode (NewLoopback) is ICE-free loopback: no STUN or TURN servers, mDNS
// off, UDP4 host candidates on loopback addresses only, full ICE (not
// ICE-lite, which pion paces about 200 ms slower here). Both peers of a local
// call use it, so a call is connected in tens of milliseconds.
//
// Media: Opus (RFC 7587) at payload type 111 for voice, both ways. The
// `parley` data channel carries events (docs/protocol.md).
package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// DataChannelLabel is the label of the reliable, ordered event channel.
const DataChannelLabel = "parley"

// OpusPayloadType is the RTP payload type Parley offers for Opus, the one
// browsers and pion use by convention (dynamic range, RFC 3551 §6).
const OpusPayloadType = 111

// OpusCodec is the Opus RTP codec: 48 kHz clock, two channels in SDP as RFC
// 7587 §7 requires even for mono, in-band FEC allowed.
var OpusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// VP8PayloadType is the RTP payload type Parley offers for VP8 (dynamic
// range, as browsers and pion use by convention).
const VP8PayloadType = 96

// VP8Codec is the VP8 RTP codec (RFC 7741): 90 kHz clock.
var VP8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

// Factory makes peer connections that share one configured pion API.
type Factory struct {
	api          *webrtc.API
	config       webrtc.Configuration
	filterRemote bool // drop non-public candidates from remote descriptions
	streams      *streamStats
}

// StreamStats returns the RTP stream statistics of the factory's peer
// connection whose stats ID is id (the ID of the webrtc.PeerConnectionStats
// in its GetStats report), by SSRC; nil once that connection has closed.
// GetStats itself reports only inbound-rtp; these also have outbound-rtp,
// and remote-inbound-rtp from the peer's RTCP receiver reports (loss,
// jitter, and the round trip when the peer echoes our sender reports).
func (f *Factory) StreamStats(id string) stats.Getter {
	if f == nil || f.streams == nil {
		return nil
	}
	if g, ok := f.streams.byID.Load(id); ok {
		return g.(stats.Getter)
	}
	return nil
}

// streamStats is an interceptor factory: a pion stats interceptor per peer
// connection, kept by the connection's ID until the connection closes.
type streamStats struct {
	log  logging.LoggerFactory // nil: pion's default
	byID sync.Map              // peer connection ID → *stats.Interceptor
}

func (s *streamStats) NewInterceptor(id string) (interceptor.Interceptor, error) {
	var opts []stats.Option
	if s.log != nil {
		opts = append(opts, stats.WithLoggerFactory(s.log))
	}
	f, err := stats.NewInterceptor(opts...)
	if err != nil {
		return nil, err
	}
	i, err := f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	s.byID.Store(id, i)
	return forgetOnClose{i, func() { s.byID.Delete(id) }}, nil
}

type forgetOnClose struct {
	interceptor.Interceptor
	forget func()
}

func (f forgetOnClose) Close() error {
	f.forget()
	return f.Interceptor.Close()
}

// RemoteDescription prepares a peer's SDP for SetRemoteDescription: a remote
// factory drops candidates with private, loopback, link-local or unspecified
// addresses (FilterRemoteCandidates) unless made with AllowPrivate; the
// loopback factory keeps everything. It returns the SDP to use and how many
// candidates it dropped.
func (f *Factory) RemoteDescription(sdp string) (string, int) {
	if !f.filterRemote {
		return sdp, 0
	}
	return FilterRemoteCandidates(sdp)
}

// RemoteOption configures NewRemote beyond the setting engine.
type RemoteOption func(*Factory)

// AllowPrivate keeps private, loopback and link-local candidates from the
// remote peer: for an agent and clients on one LAN.
func AllowPrivate() RemoteOption { return func(f *Factory) { f.filterRemote = false } }

// NewPeerConnection returns a new peer connection from the factory's API and
// configuration. It returns pion's error when the connection cannot be made.
func (f *Factory) NewPeerConnection() (*webrtc.PeerConnection, error) {
	pc, err := f.api.NewPeerConnection(f.config)
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	return pc, nil
}

// Option adjusts a factory's setting engine before it is used.
type Option func(*webrtc.SettingEngine)

// WithLogger routes pion's logs to log at debug level.
func WithLogger(log *slog.Logger) Option {
	return func(s *webrtc.SettingEngine) {
		s.LoggerFactory = slogFactory{log: log}
	}
}

// WithNAT1To1IPs makes host candidates carry these public IPs instead of
// the machine's own addresses: for an agent behind a 1:1 NAT (a cloud VM with
// a floating IP).
func WithNAT1To1IPs(ips ...string) Option {
	return func(s *webrtc.SettingEngine) {
		if len(ips) > 0 {
			s.SetNAT1To1IPs(ips, webrtc.ICECandidateTypeHost)
		}
	}
}

// WithUDPPortRange limits the UDP ports ICE listens on to [lo, hi], for a
// firewall that opens only those. NewRemote checks lo <= hi.
func WithUDPPortRange(lo, hi uint16) Option {
	return func(s *webrtc.SettingEngine) {
		_ = s.SetEphemeralUDPPortRange(lo, hi)
	}
}

// NewLoopback returns the local-mode factory: an empty ICE server list, mDNS
// disabled, UDP4 host candidates on loopback addresses (127.0.0.0/8) only,
// full ICE.
func NewLoopback(opts ...Option) (*Factory, error) {
	var s webrtc.SettingEngine
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// Every candidate is a loopback host candidate: nothing better can
	// arrive later, so nominate at once.
	s.SetHostAcceptanceMinWait(0)
	// A loopback peer that stops answering is gone: on loopback nothing is
	// lost in transit. Disconnected after 2 s without traffic, failed 2 s
	// later; keepalives every 500 ms keep an idle but live call well inside
	// that.
	s.SetICETimeouts(2*time.Second, 2*time.Second, 500*time.Millisecond)
	for _, o := range opts {
		o(&s)
	}
	return newFactory(s, webrtc.Configuration{})
}

// NewRemote returns the remote-mode factory: pion's default ICE (host
// candidates on every interface, UDP4 and UDP6) plus server-reflexive and
// relay candidates from iceServers (STUN/TURN URLs with credentials; nil for
// none). The operator-facing knobs (NAT 1:1, port range, candidate filter)
// come with parley-agent's remote mode.
//
// Host candidates come from the host's addresses at each gathering, not
// at the making of the peer connection as in pion, so that an ICE restart
// after the host changed networks offers its new addresses.
//
// Candidates that the remote peer offers with private, loopback, link-local
// or unspecified addresses are dropped (RemoteDescription) unless ropts
// include AllowPrivate. DTLS fingerprints are checked by pion as usual.
func NewRemote(iceServers []webrtc.ICEServer, opts []Option, ropts ...RemoteOption) (*Factory, error) {
	var s webrtc.SettingEngine
	// Host candidates from the addresses the host has at each gathering,
	// so that an ICE restart after a change of network offers the new ones.
	n, err := newLiveNet()
	if err != nil {
		return nil, err
	}
	s.SetNet(n)
	for _, o := range opts {
		o(&s)
	}
	f, err := newFactory(s, webrtc.Configuration{ICEServers: iceServers})
	if err != nil {
		return nil, err
	}
	f.filterRemote = true
	for _, o := range ropts {
		o(f)
	}
	return f, nil
}

// NewFor picks the factory for a peer reached at host (a host name or IP,
// without port): the loopback factory when host is a loopback address or
// "localhost", the remote factory otherwise.
func NewFor(host string, iceServers []webrtc.ICEServer, opts []Option, ropts ...RemoteOption) (*Factory, error) {
	if IsLoopback(host) {
		return NewLoopback(opts...)
	}
	return NewRemote(iceServers, opts, ropts...)
}

// NewForAgent returns the factory a client uses to call the agent at
// agentURL: NewFor with the URL's host, the STUN/TURN servers in
// iceServers (ParseICEServer syntax) and AllowPrivate if allowPrivate or
// the agent itself is on the LAN (OnLAN): a person who typed a LAN
// address has said where the agent is.
func NewForAgent(agentURL string, iceServers []string, allowPrivate bool, opts ...Option) (*Factory, error) {
	u, err := url.Parse(agentURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("rtc: agent URL %q is not an absolute URL", agentURL)
	}
	servers, err := ParseICEServers(iceServers)
	if err != nil {
		return nil, err
	}
	var ropts []RemoteOption
	if allowPrivate || OnLAN(u.Hostname()) {
		ropts = append(ropts, AllowPrivate())
	}
	return NewFor(u.Hostname(), servers, opts, ropts...)
}

// lanLookupTimeout bounds OnLAN's name lookup.
const lanLookupTimeout = 2 * time.Second

// OnLAN reports whether host (a name or IP, without port) is on a local
// network rather than the internet: an IP that is not public (PublicAddr:
// RFC 1918, RFC 4193, link-local, CGNAT…), an mDNS ".local" name, or a
// name whose addresses (looked up within lanLookupTimeout) are all not
// public. A failed lookup is false: the agent is treated as remote. A
// name's answer is kept for the process (lanNames).
func OnLAN(host string) bool {
	if addr, err := netip.ParseAddr(host); err == nil {
		return !PublicAddr(addr)
	}
	if strings.HasSuffix(strings.TrimSuffix(host, "."), ".local") {
		return true
	}
	if lan, ok := lanNames.Load(host); ok {
		return lan.(bool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lanLookupTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	lan := !slices.ContainsFunc(addrs, PublicAddr)
	lanNames.Store(host, lan)
	return lan
}

// lanNames remembers OnLAN's answers for names that resolved, so that
// reconnecting after a change of network (when DNS may be slow or down for
// a moment) neither waits for the lookup again nor loses the answer.
var lanNames sync.Map // host name → bool

// IsLoopback reports whether host (a name or IP, without port) is this
// machine's loopback: "localhost", 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newFactory(s webrtc.SettingEngine, cfg webrtc.Configuration) (*Factory, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: OpusCodec,
		PayloadType:        OpusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtc: register Opus: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: VP8Codec,
		PayloadType:        VP8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("rtc: register VP8: %w", err)
	}
	// RTCP sender/receiver reports, NACK and TWCC, for stats and repair.
	// Our stats interceptor comes first, innermost in the chain, so that it
	// sees the sender reports that the report interceptor writes below it:
	// without them a receiver report's round trip cannot be matched. (pion's
	// own, registered by RegisterDefaultInterceptors after the report
	// interceptor, feeds GetStats' inbound-rtp.)
	streams := &streamStats{log: s.LoggerFactory}
	ir := &interceptor.Registry{}
	ir.Add(streams)
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("rtc: interceptors: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(s), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	return &Factory{api: api, config: cfg, streams: streams}, nil
}

// NewOpusTrack returns a local Opus track to write 20 ms samples to.
// streamID groups it with the peer's other tracks (for RTP/RTCP
// synchronisation); opts are pion's track options (webrtc.WithRTPTimestamp).
func NewOpusTrack(id, streamID string, opts ...func(*webrtc.TrackLocalStaticRTP)) (*webrtc.TrackLocalStaticSample, error) {
	t, err := webrtc.NewTrackLocalStaticSample(OpusCodec, id, streamID, opts...)
	if err != nil {
		return nil, fmt.Errorf("rtc: new Opus track: %w", err)
	}
	return t, nil
}

// IsClosed reports whether err from ReadRTP or ReadRTCP means the track or
// connection is gone for good (as opposed to one bad packet).
func IsClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

// slogFactory adapts *slog.Logger to pion's logging.LoggerFactory.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.log.With("component", "pion", "scope", scope)}
}

type slogLogger struct{ l *slog.Logger }

func (l slogLogger) Trace(string)              {}
func (l slogLogger) Tracef(string, ...any)     {}
func (l slogLogger) Debug(msg string)          { l.l.Debug(msg) }
func (l slogLogger) Debugf(f string, a ...any) { l.l.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Info(msg string)           { l.l.Debug(msg) }
func (l slogLogger) Infof(f string, a ...any)  { l.l.Debug(fmt.Sprintf(f, a...)) }
func (l slogLogger) Warn(msg string)           { l.l.Warn(msg) }
func (l slogLogger) Warnf(f string, a ...any)  { l.l.Warn(fmt.Sprintf(f, a...)) }
func (l slogLogger) Error(msg string)          { l.l.Error(msg) }
func (l slogLogger) Errorf(f string, a ...any) { l.l.Error(fmt.Sprintf(f, a...)) }
