package vad

import (
	"log/slog"
)

// Kind names the VAD a Factory makes.
type Kind string

// The kinds of VAD.
const (
	KindSilero Kind = "silero" // Silero VAD v5 through ONNX Runtime
	KindEnergy Kind = "energy" // the energy VAD, the fallback
)

// EnergyNotice is Factory.Notice when Silero could not be loaded: what the
// user should know and do, worded for the UI and logs.
const EnergyNotice = "Silero VAD is not installed (run make deps): using the energy VAD, " +
	"which cannot tell speech from other loud sounds."

// Factory makes a Detector per stream: Silero ones when the Silero VAD
// loaded, else Energy ones. Make one per process with Open and Close it at
// shutdown; New is safe for concurrent use.
type Factory struct {
	// Kind is the kind of Detector New makes.
	Kind Kind
	// Notice is empty when Kind is KindSilero; otherwise it says, for the
	// user, that the fallback is in use and how to get Silero (EnergyNotice).
	Notice string
	// Err is why Silero did not load (nil when Kind is KindSilero); it wraps
	// ErrNotInstalled, ErrRuntime or a model-loading error.
	Err error

	model *SileroModel
	log   *slog.Logger
}

// Open loads the Silero VAD from SileroPaths. If that fails it logs one
// warning with the reason and returns a Factory of Energy detectors whose
// Notice the UI should show: a VAD that cannot load is a worse VAD, not a
// broken call. A nil log discards.
func Open(log *slog.Logger) *Factory {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "vad")
	lib, model := SileroPaths()
	m, err := LoadSilero(lib, model)
	if err != nil {
		log.Warn("Silero VAD unavailable; falling back to the energy VAD", "err", err)
		return &Factory{Kind: KindEnergy, Notice: EnergyNotice, Err: err, log: log}
	}
	log.Debug("Silero VAD loaded", "lib", lib, "model", model)
	return &Factory{Kind: KindSilero, model: m, log: log}
}

// New returns a detector for one stream. A Silero detector holds native
// memory: when the stream ends, Close it (it implements io.Closer; Energy
// does not need closing), or let the Factory's Close release it. If a Silero
// detector cannot be made (the Factory is closed), New logs it and returns
// an Energy detector.
func (f *Factory) New() Detector {
	if f.model == nil {
		return NewEnergy()
	}
	d, err := f.model.NewDetector()
	if err != nil {
		f.log.Warn("Silero detector unavailable; using the energy VAD for this stream", "err", err)
		return NewEnergy()
	}
	return d
}

// Close releases the Silero model and every detector made from it that is
// still open. It is safe to call more than once.
func (f *Factory) Close() error {
	if f.model == nil {
		return nil
	}
	return f.model.Close()
}
