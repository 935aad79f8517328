package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath serves the agent's metrics in Prometheus text format.
const MetricsPath = "/metrics"

// FrameSecondsMetric is the histogram of per-packet time in the agent.
const FrameSecondsMetric = "parley_frame_seconds"

// metrics are one server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg         *prometheus.Registry
	active      prometheus.Gauge
	started     prometheus.Counter
	refused     prometheus.Counter
	reclaimed   prometheus.Counter
	iceRestarts prometheus.Counter // ICE restarts answered (PATCH)
	packetsIn   prometheus.Counter
	packetsOut  prometheus.Counter
	frameTime   prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_sessions_active", Help: "Sessions (calls) being served now.",
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_sessions_started_total", Help: "Sessions started since the agent started.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_sessions_refused_total", Help: "Offers refused with 503 (session cap reached, or shutting down).",
		}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_sessions_reclaimed_total", Help: "Sessions ended by the agent because the peer was gone or the handler failed, not by DELETE.",
		}),
		iceRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_ice_restarts_total", Help: "ICE restarts answered: offers of PATCH /v1/sessions/{id} applied to a live session.",
		}),
		packetsIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_rtp_packets_received_total", Help: "RTP packets received from callers.",
		}),
		packetsOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_rtp_packets_sent_total", Help: "RTP packets (20 ms Opus frames) sent to callers.",
		}),
		frameTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    FrameSecondsMetric,
			Help:    "Time from an RTP packet's arrival in the agent to the end of its handling (Opus decode and the handler's OnAudio).",
			Buckets: prometheus.ExponentialBuckets(10e-6, 1.5, 24), // 10 µs .. 112 ms in 50 % steps
		}),
	}
	m.reg.MustRegister(m.active, m.started, m.refused, m.reclaimed, m.iceRestarts, m.packetsIn, m.packetsOut, m.frameTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
