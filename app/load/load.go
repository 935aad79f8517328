// Package load places many light echo calls at once against an agent and
// measures what the agent does under that load. It is the engine of
// cmd/parley-load and of the load benchmark.
package load

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-app/parley/agent/api"
	"github.com/parley-app/parley/app/signal"
	"github.com/parley-app/parley/media/audio"
	"github.com/parley-app/parley/media/opus"
	"github.com/parley-app/parley/media/rtc"
)

// goForward is the default speech (Debian package pocketsphinx-testdata).
const goForward = "/usr/share/pocketsphinx/test/data/goforward.raw"

// DefaultSpeech loads "go forward ten meters" at 48 kHz mono.
func DefaultSpeech() ([]int16, error) {
	b, err := os.ReadFile(goForward)
	if err != nil {
		return nil, fmt.Errorf("load: %w (install pocketsphinx-testdata: make deps)", err)
	}
	return audio.Resample(audio.DecodeS16LE(b), 16000, audio.SampleRate)
}

// Config is one load step.
type Config struct {
	AgentURL string
	Token    string
	Calls    int           // concurrent calls
	Duration time.Duration // how long they run once all are connected
	Speech   []int16       // 48 kHz mono, looped by every call (with 1 s of silence between loops)
}

// Result is what one step measured.
type Result struct {
	Calls                int     `json:"calls"`
	Connected            int     `json:"connected"`
	Seconds              float64 `json:"seconds"`
	AgentCPUPercent      float64 `json:"agent_cpu_percent"` // of one core
	AgentRSSMiB          float64 `json:"agent_rss_mib"`
	LossToAgentPercent   float64 `json:"loss_to_agent_percent"`   // packets sent by the calls that the agent did not count
	LossFromAgentPercent float64 `json:"loss_from_agent_percent"` // packets the calls expected (50/s) and did not get
	AgentLatePercent     float64 `json:"agent_late_percent"`      // of those, the share the agent never sent (its 20 ms clocks fell behind)
	FrameP50MS           float64 `json:"frame_p50_ms"`            // time a packet spends in the agent (decode + handler)
	FrameP99MS           float64 `json:"frame_p99_ms"`
}

type call struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticSample
	loc      string
	received atomic.Int64
	keep     api.Keepalive
}

// Step connects cfg.Calls calls, lets them run for cfg.Duration, hangs them
// up and reports. Calls that fail to connect are counted, not fatal.
func Step(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Calls: cfg.Calls}
	sig, err := signal.New(cfg.AgentURL, cfg.Token)
	if err != nil {
		return r, err
	}
	// The load generator usually runs next to the agent (same host or LAN):
	// accept its private candidates.
	f, err := rtc.NewForAgent(cfg.AgentURL, nil, true)
	if err != nil {
		return r, err
	}
	pkts, err := encodeLoop(cfg.Speech)
	if err != nil {
		return r, err
	}
	var mu sync.Mutex
	var calls []*call
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // connect 8 at a time
	for i := 0; i < cfg.Calls; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(ctx, f, sig)
			if err != nil {
				return
			}
			mu.Lock()
			calls = append(calls, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.Connected = len(calls)
	defer func() {
		for _, c := range calls {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = sig.DeleteSession(dctx, c.loc)
			cancel()
			_ = c.pc.Close()
		}
	}()
	if r.Connected == 0 {
		return r, fmt.Errorf("load: none of %d calls connected", cfg.Calls)
	}

	before, err := scrape(cfg.AgentURL)
	if err != nil {
		return r, err
	}
	for _, c := range calls {
		c.received.Store(0)
	}
	start := time.Now()
	var sent int64
	var pacer audio.Pacer
	for i := 0; time.Since(start) < cfg.Duration && ctx.Err() == nil; i++ {
		if err := pacer.Wait(ctx); err != nil {
			break
		}
		pkt := pkts[i%len(pkts)]
		for _, c := range calls {
			if c.track.WriteSample(media.Sample{Data: pkt, Duration: audio.FrameDuration}) == nil {
				sent++
			}
		}
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond) // the last packets arrive
	after, err := scrape(cfg.AgentURL)
	if err != nil {
		return r, err
	}
	r.Seconds = elapsed.Seconds()
	if dt := after.cpu - before.cpu; elapsed > 0 {
		r.AgentCPUPercent = 100 * dt / elapsed.Seconds()
	}
	r.AgentRSSMiB = after.rss / (1 << 20)
	if sent > 0 {
		r.LossToAgentPercent = math.Max(0, 100*(1-(after.packetsIn-before.packetsIn)/float64(sent)))
	}
	var got int64
	for _, c := range calls {
		got += c.received.Load()
	}
	expected := float64(len(calls)) * elapsed.Seconds() * 50
	r.LossFromAgentPercent = math.Max(0, 100*(1-float64(got)/expected))
	r.AgentLatePercent = math.Max(0, 100*(1-(after.packetsOut-before.packetsOut)/expected))
	r.FrameP50MS = 1000 * quantile(before.frames, after.frames, 0.50)
	r.FrameP99MS = 1000 * quantile(before.frames, after.frames, 0.99)
	return r, nil
}

// encodeLoop encodes speech plus 1 s of silence once, as 20 ms Opus packets.
func encodeLoop(speech []int16) ([][]byte, error) {
	enc, err := opus.NewEncoder(0)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	pcm := append(append([]int16{}, speech...), make([]int16, audio.SampleRate)...)
	var pkts [][]byte
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		p, err := enc.Encode(pcm[i : i+audio.FrameSamples])
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}

func dial(ctx context.Context, f *rtc.Factory, sig *signal.Client) (*call, error) {
	pc, err := f.NewPeerConnection()
	if err != nil {
		return nil, err
	}
	c := &call{pc: pc}
	fail := func(err error) (*call, error) { _ = pc.Close(); return nil, err }
	if c.track, err = rtc.NewOpusTrack("mic", "load"); err != nil {
		return fail(err)
	}
	if _, err := pc.AddTrack(c.track); err != nil {
		return fail(err)
	}
	dc, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	if err != nil {
		return fail(err)
	}
	c.keep.Send = func(e api.Event) error { return dc.SendText(string(e.Encode())) }
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if e, err := api.DecodeEvent(m.Data); err == nil {
			c.keep.Handle(e) // answer the agent's pings, or it reclaims the call
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				if rtc.IsClosed(err) {
					return
				}
				continue
			}
			c.received.Add(1)
		}
	})
	up := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(up) })
		}
	})
	o, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		return fail(err)
	}
	<-g
	s, err := sig.CreateSession(ctx, pc.LocalDescription().SDP)
	if err != nil {
		return fail(err)
	}
	c.loc = s.Location
	fail = func(err error) (*call, error) {
		_ = pc.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = sig.DeleteSession(dctx, c.loc) // give the agent its slot back now
		cancel()
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.Answer}); err != nil {
		return fail(err)
	}
	select {
	case <-up:
		return c, nil
	case <-time.After(10 * time.Second):
		return fail(fmt.Errorf("load: call did not connect in 10 s"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// WaitHealthy polls the agent's /healthz until it answers 200 or within
// passes; it returns an error naming the URL otherwise.
func WaitHealthy(ctx context.Context, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(strings.TrimSuffix(base, "/") + api.HealthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("load: the agent at %s is not healthy after %v: %v", base, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// snapshot is what scrape reads from the agent's /metrics.
type snapshot struct {
	cpu, rss, packetsIn, packetsOut float64
	frames                          map[float64]float64 // histogram: upper bound (s) -> cumulative count
}

// scrape reads the few series the load step needs from the Prometheus text
// format (a line per sample: name{labels} value).
func scrape(base string) (snapshot, error) {
	s := snapshot{frames: map[float64]float64{}}
	resp, err := http.Get(strings.TrimSuffix(base, "/") + "/metrics")
	if err != nil {
		return s, fmt.Errorf("load: scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name, v := line[:i], line[i+1:]
		val, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch {
		case name == "process_cpu_seconds_total":
			s.cpu = val
		case name == "process_resident_memory_bytes":
			s.rss = val
		case name == "parley_rtp_packets_received_total":
			s.packetsIn = val
		case name == "parley_rtp_packets_sent_total":
			s.packetsOut = val
		case strings.HasPrefix(name, "parley_frame_seconds_bucket{le=\""):
			le := strings.TrimSuffix(strings.TrimPrefix(name, "parley_frame_seconds_bucket{le=\""), "\"}")
			if b, err := strconv.ParseFloat(le, 64); err == nil {
				s.frames[b] = val
			}
		}
	}
	return s, sc.Err()
}

// quantile estimates quantile q (0..1) of the observations made between two
// scrapes of a cumulative histogram, by linear interpolation inside the
// bucket (as Prometheus' histogram_quantile does).
func quantile(before, after map[float64]float64, q float64) float64 {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, b := range bounds {
		c := after[b] - before[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}
