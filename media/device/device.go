// Package device opens the computer's microphone and speaker through malgo
// (miniaudio) as Parley audio sources and sinks: 48 kHz mono int16 in 20 ms
// frames (media/audio). miniaudio converts from whatever the hardware or
// sound server runs at.
package device

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
)

// ErrStuck is returned by Close when the backend did not stop the device in
// time (a device that stopped delivering data, say); the device is abandoned
// rather than freezing the caller.
var ErrStuck = errors.New("device: the audio backend did not stop the device in time")

// stopTimeout bounds how long Close waits for miniaudio to stop a device.
const stopTimeout = 3 * time.Second

// uninit stops and frees dev, giving up after stopTimeout (and then marking
// c stuck).
func (c *Context) uninit(dev *malgo.Device) error {
	c.mu.Lock()
	if end, ok := c.unwatch[dev]; ok {
		end() // a closed device's callbacks stop: not a stall
		delete(c.unwatch, dev)
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		dev.Uninit()
	}()
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
		c.mu.Lock()
		c.stuck = true
		c.mu.Unlock()
		c.log.Error("audio device did not stop; abandoning it", "timeout", stopTimeout)
		return ErrStuck
	}
}

// ErrDeviceLost is returned by ReadFrame and WriteFrame when the backend
// stopped the device on its own (unplugged, or the sound server went away).
var ErrDeviceLost = errors.New("device: the audio device stopped")

// ErrNoDevice is returned when no audio backend could be opened or the chosen
// device does not exist.
var ErrNoDevice = errors.New("device: no audio device")

// Kind is a device direction.
type Kind int

const (
	// Microphone is a capture device.
	Microphone Kind = iota
	// Speaker is a playback device.
	Speaker
)

func (k Kind) String() string {
	if k == Speaker {
		return "speaker"
	}
	return "microphone"
}

func (k Kind) malgo() malgo.DeviceType {
	if k == Speaker {
		return malgo.Playback
	}
	return malgo.Capture
}

// Info describes one device.
type Info struct {
	ID      string // miniaudio's device ID in hex; stable while the device exists
	Name    string // human-readable name from the backend
	Default bool   // the system default for its kind
}

// Context is an open connection to the system's audio backend. Close it when
// done; devices opened from it must be closed first.
type Context struct {
	mu     sync.Mutex
	ctx    *malgo.AllocatedContext
	log    *slog.Logger
	closed bool
	stuck  bool // a device could not be stopped: the backend must not be freed
	// unwatch ends the stall watch of each open device (see open).
	unwatch map[*malgo.Device]func()
}

// backends lists the real backends to try, in order. miniaudio's null
// backend is deliberately left out: a missing sound system must be reported,
// not replaced by silence.
func backends() []malgo.Backend {
	switch runtime.GOOS {
	case "linux":
		return []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa, malgo.BackendJack}
	case "darwin":
		return []malgo.Backend{malgo.BackendCoreaudio}
	case "windows":
		return []malgo.Backend{malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm}
	}
	return []malgo.Backend{malgo.BackendOss, malgo.BackendSndio, malgo.BackendAudio4}
}

// NewContext opens the first audio backend that works (PulseAudio, then ALSA,
// then JACK on Linux). It returns an error wrapping ErrNoDevice when none does.
func NewContext(log *slog.Logger) (*Context, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "audio-device")
	ctx, err := malgo.InitContext(backends(), malgo.ContextConfig{}, func(msg string) {
		log.Debug("miniaudio", "msg", strings.TrimSpace(msg))
	})
	if err != nil {
		return nil, fmt.Errorf("%w: no sound system could be opened: %v", ErrNoDevice, err)
	}
	return &Context{ctx: ctx, log: log}, nil
}

// Devices lists the devices of one kind.
func (c *Context) Devices(kind Kind) ([]Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: context closed", ErrNoDevice)
	}
	infos, err := c.ctx.Devices(kind.malgo())
	if err != nil {
		return nil, fmt.Errorf("device: list %ss: %w", kind, err)
	}
	out := make([]Info, len(infos))
	for i, in := range infos {
		out[i] = Info{ID: in.ID.String(), Name: in.Name(), Default: in.IsDefault != 0}
	}
	return out, nil
}

// find returns the malgo ID of the device whose ID or name is id; "" means
// the default device (nil).
func (c *Context) find(kind Kind, id string) (*malgo.DeviceID, error) {
	if id == "" {
		return nil, nil
	}
	infos, err := c.ctx.Devices(kind.malgo())
	if err != nil {
		return nil, fmt.Errorf("device: list %ss: %w", kind, err)
	}
	for _, in := range infos {
		if in.ID.String() == id || in.Name() == id {
			d := in.ID
			return &d, nil
		}
	}
	return nil, fmt.Errorf("%w: no %s named %q", ErrNoDevice, kind, id)
}

// Exists reports whether a device of kind has the ID or name id ("" is the
// default device, which always exists); false also when the devices cannot
// be listed.
func (c *Context) Exists(kind Kind, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	_, err := c.find(kind, id)
	return err == nil
}

// Close releases the backend. It is safe to call twice.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.stuck {
		// A device is still stopping inside miniaudio; freeing the backend
		// under it would be undefined behaviour. Leak it instead.
		return ErrStuck
	}
	err := c.ctx.Uninit()
	c.ctx.Free()
	return err
}

// period is the device period miniaudio is asked for. On PulseAudio it is
// also the stream's buffer (miniaudio sets tlength and fragsize to one
// period), so it is how late the sound server may find the next audio
// before it plays silence. Measured under a user-mode PulseAudio on an
// idle 2-core VM, 3 s of a sample counter written to the speaker: 10 ms
// gave 13–65 gaps (2.5–12.5 ms of silence each, some audio lost), 20 ms
// 0–6, 30 ms none in 12 runs, idle or loaded (docs/architecture.md). WebRTC's
// PulseAudio output likewise starts at 20 ms and grows on underflow.
var period = 30 * time.Millisecond // a variable only for BenchmarkPlaybackGaps

// deviceStall is how long a started device may go without a callback before
// it is taken as lost. miniaudio calls the stop callback when a device is
// unplugged, but not when the sound server itself dies (PulseAudio killed
// or restarted): the callbacks just stop, and reads and writes would wait
// for their context forever, a call gone silent with nothing said. The
// callback runs every period (30 ms); 2 s is far beyond a scheduling
// hiccup, and the monotonic clock does not advance while the machine
// sleeps.
const deviceStall = 2 * time.Second

// open initialises and starts a malgo device at 48 kHz mono S16 with a
// 30 ms period: a microphone (typ malgo.Capture, micID), a speaker
// (malgo.Playback, spkID) or both as one duplex device (malgo.Duplex). An ID
// of "" is the default device. The returned channel is closed when the
// backend stops the device (unplugged, the sound server gone, or Uninit),
// or when its callback has not run for deviceStall.
func (c *Context) open(typ malgo.DeviceType, micID, spkID string, data malgo.DataProc) (*malgo.Device, <-chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, fmt.Errorf("%w: context closed", ErrNoDevice)
	}
	cfg := malgo.DefaultDeviceConfig(typ)
	cfg.SampleRate = 48000
	cfg.PeriodSizeInMilliseconds = uint32(period / time.Millisecond)
	var what []string
	sub := func(kind Kind, id string) (malgo.SubConfig, error) {
		devID, err := c.find(kind, id)
		if err != nil {
			return malgo.SubConfig{}, err
		}
		what = append(what, fmt.Sprintf("%s %q", kind, id))
		sc := malgo.SubConfig{Format: malgo.FormatS16, Channels: 1}
		if devID != nil {
			sc.DeviceID = devID.Pointer()
		}
		return sc, nil
	}
	var err error
	if typ == malgo.Capture || typ == malgo.Duplex {
		if cfg.Capture, err = sub(Microphone, micID); err != nil {
			return nil, nil, err
		}
	}
	if typ == malgo.Playback || typ == malgo.Duplex {
		if cfg.Playback, err = sub(Speaker, spkID); err != nil {
			return nil, nil, err
		}
	}
	lost := make(chan struct{})
	stop := sync.OnceFunc(func() { close(lost) })
	start := time.Now()
	var last atomic.Int64 // time.Since(start) at the last callback, ns
	called := func(out, in []byte, frames uint32) {
		last.Store(int64(time.Since(start)))
		data(out, in, frames)
	}
	dev, err := malgo.InitDevice(c.ctx.Context, cfg, malgo.DeviceCallbacks{Data: called, Stop: stop})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: open %s: %v", ErrNoDevice, strings.Join(what, " and "), err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, nil, fmt.Errorf("%w: start %s: %v", ErrNoDevice, strings.Join(what, " and "), err)
	}
	c.log.Info("audio device open", "devices", strings.Join(what, " and "), "rate", dev.SampleRate())
	last.Store(int64(time.Since(start)))
	closing := make(chan struct{})
	if c.unwatch == nil {
		c.unwatch = map[*malgo.Device]func(){}
	}
	c.unwatch[dev] = sync.OnceFunc(func() { close(closing) })
	go func() {
		tick := time.NewTicker(deviceStall / 4)
		defer tick.Stop()
		for {
			select {
			case <-lost:
				return
			case <-closing:
				return
			case <-tick.C:
				if silent := time.Since(start) - time.Duration(last.Load()); silent > deviceStall {
					c.log.Warn("audio device stalled: taken as lost", "devices", strings.Join(what, " and "), "no_callback_for", silent.Round(time.Millisecond))
					stop()
					return
				}
			}
		}
	}()
	return dev, lost, nil
}
