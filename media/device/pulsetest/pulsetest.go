// Package pulsetest starts a private, user-mode PulseAudio server for tests:
// a null sink named "speaker" (what is played can be recorded from its
// monitor) and a microphone named "mic" (what Speak says), both 48 kHz
// mono s16le. The microphone is clocked like a real one: Speak's audio goes
// through pacat into a null sink, "voice", whose monitor is remapped into
// the source "mic". Tests that need sound start it rather than skip; it
// needs the Debian packages pulseaudio and pulseaudio-utils (make deps).
//
// The devices' names, as malgo and the settings window show them
// (PulseAudio's device.description), are SpeakerName and MicName.
package pulsetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-app/parley/media/audio"
)

// The names (PulseAudio descriptions) of the test devices, and of the
// decoys StartWithDecoys makes the defaults.
const (
	SpeakerName      = "Test speaker"
	MicName          = "Test microphone"
	DecoySpeakerName = "Other speaker"
	DecoyMicName     = "Other microphone"
)

// Server is a running PulseAudio server.
type Server struct {
	Dir string   // its private runtime directory
	Env []string // environment for clients: PULSE_SERVER, XDG_RUNTIME_DIR, HOME

	cmd   *exec.Cmd
	log   bytes.Buffer
	queue chan utterance
	stop  chan struct{}
	fed   chan struct{}
}

// Start runs pulseaudio for the duration of the test and makes "mic" the
// default source and "speaker" the default sink. It fails the test (never
// skips) when the server cannot start.
func Start(t testing.TB) *Server { return start(t, false, false) }

// StartWithDecoys is Start with two more devices, a silent microphone
// (DecoyMicName, a null source) and a speaker nobody records
// (DecoySpeakerName, a null sink), which are the defaults: only an app
// that was told to use MicName and SpeakerName hears what Speak says and
// is heard by Record.
func StartWithDecoys(t testing.TB) *Server { return start(t, false, true) }

// StartWithEcho is Start with an acoustic echo path, like a laptop's
// speakers and microphone: the microphone is the monitor of a second null
// sink, "room", which gets what Speak says (through pacat) and, through
// module-loopback, everything played to "speaker". The default source is
// "room.monitor".
func StartWithEcho(t testing.TB) *Server { return start(t, true, false) }

// description is a module argument that names a device for people;
// PulseAudio's module arguments take quotes around a value with spaces.
func description(prop, name string) string {
	return fmt.Sprintf(`%s="device.description='%s'"`, prop, name)
}

func start(t testing.TB, echo, decoys bool) *Server {
	t.Helper()
	for _, p := range []string{"pulseaudio", "pactl", "parec"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: run `make deps` (Debian packages pulseaudio, pulseaudio-utils)", p)
		}
	}
	dir, err := os.MkdirTemp("", "parley-pulse-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, queue: make(chan utterance), stop: make(chan struct{}), fed: make(chan struct{})}
	sock := filepath.Join(dir, "native")
	s.Env = []string{"PULSE_SERVER=unix:" + sock, "XDG_RUNTIME_DIR=" + dir, "HOME=" + dir}
	args := []string{"-n", "--daemonize=no", "--exit-idle-time=-1",
		"--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr",
		"-L", "module-native-protocol-unix socket=" + sock + " auth-anonymous=1",
		"-L", "module-null-sink sink_name=speaker rate=48000 channels=1 " + description("sink_properties", SpeakerName),
	}
	mic, speaker := "mic", "speaker"
	if decoys {
		mic, speaker = "other_mic", "other_speaker"
		args = append(args,
			"-L", "module-null-source source_name=other_mic rate=48000 channels=1 description='"+DecoyMicName+"'",
			"-L", "module-null-sink sink_name=other_speaker rate=48000 channels=1 "+description("sink_properties", DecoySpeakerName))
	}
	voice := "voice" // the null sink Speak plays into
	if echo {
		voice, mic = "room", "room.monitor"
		// The room is a fixed delay, as air is. At 20 ms the loopback
		// underran on this 2-core machine under a call's load, and each
		// underrun moved the echo later (module-loopback's underrun
		// protection then raises its target latency by 5 ms): the echo
		// crept from 130 to over 210 ms within seconds in 1 call of 12.
		// 60 ms does not underrun; the echo then moves only with the
		// devices under test.
		args = append(args,
			"-L", "module-null-sink sink_name=room rate=48000 channels=1",
			"-L", "module-loopback source=speaker.monitor sink=room latency_msec=60 adjust_time=0 source_dont_move=true sink_dont_move=true")
	} else {
		args = append(args,
			"-L", "module-null-sink sink_name=voice rate=48000 channels=1 "+description("sink_properties", "Test room"),
			"-L", "module-remap-source source_name=mic master=voice.monitor "+description("source_properties", MicName))
	}
	s.cmd = exec.Command("pulseaudio", args...)
	s.cmd.Env = append(os.Environ(), s.Env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start pulseaudio: %v", err)
	}
	t.Cleanup(func() {
		close(s.stop)
		// Kill the server first: a feeder blocked writing into pacat then
		// fails with EPIPE instead of hanging.
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		select {
		case <-s.fed:
		case <-time.After(5 * time.Second):
			t.Error("the microphone feeder did not stop")
		}
		_ = os.RemoveAll(dir)
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := s.pactl("set-default-source", mic); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("pulseaudio did not come up: %v\n%s", err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.pactl("set-default-sink", speaker); err != nil {
		t.Fatal(err)
	}
	sinks := []string{"speaker", voice}
	if decoys {
		sinks = append(sinks, "other_speaker")
	}
	if err := s.keepRunning(t, sinks); err != nil {
		t.Fatal(err)
	}
	// The person's voice enters the microphone's sink through pacat, fed in
	// real time.
	cmd := s.stream("pacat", "--playback", voice, feedLatencyMs)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pacat: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go s.feed(in)
	return s
}

// keepRunning returns once each null sink renders, and keeps a 10 ms
// recorder on its monitor until the server stops. A null sink with no
// low-latency client falls back to its longest latency (2 s), and a stream
// that joins it then gets nothing for up to 2 s: a duplex device would hear
// nothing as long. A sound card's sink adapts at once; the recorders make
// the null sinks behave the same.
func (s *Server) keepRunning(t testing.TB, sinks []string) error {
	errs := make(chan error, len(sinks))
	for _, sink := range sinks {
		cmd := s.stream("parec", "--record", sink+".monitor", 10)
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			return fmt.Errorf("record %s: %v", sink, err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		go func() {
			timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
			_, err := io.ReadFull(out, make([]byte, 2))
			timer.Stop()
			if err != nil {
				err = fmt.Errorf("the null sink %s did not start within 10 s: %v", sink, err)
			}
			errs <- err
			_, _ = io.Copy(io.Discard, out)
		}()
	}
	for range sinks {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// Kill ends the sound server at once (SIGKILL), as a crash would: its
// clients get no goodbye.
func (s *Server) Kill() error { return s.cmd.Process.Kill() }

// Setenv points this test process's PulseAudio clients (malgo) at the
// server, for the rest of the test.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// command runs a PulseAudio client against this server.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), s.Env...)
	return cmd
}

// stream runs pacat or parec (dir --playback or --record) on device with
// raw 48 kHz mono s16le and a latency in ms.
func (s *Server) stream(name, dir, device string, latencyMs int) *exec.Cmd {
	return s.command(name, dir, "-d", device, "--format=s16le", "--rate=48000", "--channels=1", "--raw", fmt.Sprintf("--latency-msec=%d", latencyMs))
}

func (s *Server) pactl(args ...string) error {
	cmd := s.command("pactl", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pactl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// The microphone's feed keeps feedLead of audio written ahead of the
// clock, into a pacat that buffers feedLatencyMs: a feeder or a pacat that
// wakes late on a busy (or idle, slow-waking) machine then does not leave
// the sink without audio. Fed just in time into a 20 ms pacat, the test
// microphone lost 2–9 stretches of 15–2200 samples in 3 s of speech.
const (
	feedLead      = 5 // 20 ms frames
	feedLatencyMs = 60
)

// feed keeps the microphone fed like a real one: 20 ms frames in real time
// (feedLead frames ahead), silence unless Speak has queued speech.
func (s *Server) feed(f io.WriteCloser) {
	defer close(s.fed)
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.stop; cancel() }()
	const frame = 960
	buf := make([]byte, 2*frame)
	var cur []int16
	var curDone chan struct{}
	var pacer audio.Pacer // resynchronises after a stall instead of bursting
	for n := 0; ; n++ {
		if n >= feedLead {
			if err := pacer.Wait(ctx); err != nil {
				return
			}
		}
		if len(cur) == 0 {
			if curDone != nil {
				close(curDone)
				curDone = nil
			}
			select {
			case q := <-s.queue:
				cur, curDone = q.pcm, q.done
			default:
			}
		}
		clear(buf)
		k := min(frame, len(cur))
		for j := 0; j < k; j++ {
			binary.LittleEndian.PutUint16(buf[2*j:], uint16(cur[j]))
		}
		cur = cur[k:]
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

type utterance struct {
	pcm  []int16
	done chan struct{}
}

// Speak queues pcm (48 kHz mono int16) for the microphone and waits until it
// has been written in real time, or ctx ends.
func (s *Server) Speak(ctx context.Context, pcm []int16) error {
	u := utterance{pcm: pcm, done: make(chan struct{})}
	select {
	case s.queue <- u:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recording is what parec captures from the null sink's monitor.
type Recording struct {
	cmd   *exec.Cmd
	start time.Time
	mu    sync.Mutex
	data  []byte
	done  chan struct{}
	once  sync.Once
	pcm   []int16
}

// Record starts capturing what is played to the speaker.
func (s *Server) Record(t testing.TB) *Recording {
	t.Helper()
	cmd := s.stream("parec", "--record", "speaker.monitor", 20)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start parec: %v", err)
	}
	r := &Recording{cmd: cmd, done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			r.mu.Lock()
			r.data = append(r.data, buf[:n]...)
			r.mu.Unlock()
			if err != nil { // io.EOF once parec is stopped
				return
			}
		}
	}()
	t.Cleanup(func() { r.Stop() })
	return r
}

// Stop ends the recording and returns it as 48 kHz mono int16. It first
// waits (up to 3 s) until parec has delivered audio up to now, since it
// buffers.
func (r *Recording) Stop() []int16 {
	r.once.Do(r.stop)
	return r.pcm
}

func (r *Recording) stop() {
	want := time.Since(r.start) - 50*time.Millisecond
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		got := time.Duration(len(r.data)/2) * time.Second / 48000
		r.mu.Unlock()
		if got >= want {
			break
		}
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	_ = r.cmd.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pcm = audio.DecodeS16LE(r.data)
}
