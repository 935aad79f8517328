package vad

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/adrg/xdg"
	ort "github.com/yalue/onnxruntime_go"
)

// Where the Silero VAD's files are. scripts/fetch-silero.sh (run by `make
// deps`) installs both into SileroDir.
const (
	// EnvOnnxRuntimeLib names the ONNX Runtime shared library to use instead
	// of the one in SileroDir. onnxruntime_go v1.27 targets the 1.24 C API.
	EnvOnnxRuntimeLib = "PARLEY_ONNXRUNTIME_LIB"
	// EnvSileroModel names the Silero VAD v5 ONNX model to use instead of the
	// one in SileroDir.
	EnvSileroModel = "PARLEY_SILERO_MODEL"
	// SileroModelFile is the model's file name in SileroDir.
	SileroModelFile = "silero_vad_v5.onnx"
)

// Errors of loading the Silero VAD.
var (
	// ErrNotInstalled is returned (wrapped, with the missing path) when the
	// ONNX Runtime library or the Silero model is not where Parley looks.
	ErrNotInstalled = errors.New("vad: Silero VAD is not installed (run make deps)")
	// ErrRuntime is returned (wrapped) when ONNX Runtime cannot be started
	// from its library. It cannot be retried: ONNX Runtime is started once per
	// process, and the process must be restarted to try another library.
	ErrRuntime = errors.New("vad: cannot start ONNX Runtime")
	// ErrClosed is returned for a SileroModel, or a Silero detector, used
	// after Close.
	ErrClosed = errors.New("vad: Silero VAD closed")
)

// SileroDir is where `make deps` installs the Silero VAD:
// $XDG_DATA_HOME/parley/silero (~/.local/share/parley/silero on Linux).
func SileroDir() string { return filepath.Join(xdg.DataHome, "parley", "silero") }

// OnnxRuntimeLibFile is the ONNX Runtime shared library's file name in
// SileroDir on this system.
func OnnxRuntimeLibFile() string {
	switch runtime.GOOS {
	case "darwin":
		return "libonnxruntime.dylib"
	case "windows":
		return "onnxruntime.dll"
	}
	return "libonnxruntime.so.1"
}

// SileroPaths returns the ONNX Runtime library and the Silero model Parley
// uses: $PARLEY_ONNXRUNTIME_LIB and $PARLEY_SILERO_MODEL when set, else the
// files in SileroDir. It does not check that they exist; LoadSilero does.
func SileroPaths() (lib, model string) {
	lib, model = os.Getenv(EnvOnnxRuntimeLib), os.Getenv(EnvSileroModel)
	if lib == "" {
		lib = filepath.Join(SileroDir(), OnnxRuntimeLibFile())
	}
	if model == "" {
		model = filepath.Join(SileroDir(), SileroModelFile)
	}
	return lib, model
}

// checkInstalled returns ErrNotInstalled, naming the file and the variable
// that overrides it, unless path is a regular file.
func checkInstalled(what, path, env string) error {
	fi, err := os.Stat(path)
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v (or set %s)", ErrNotInstalled, what, err, env)
	}
	return nil
}

// ortRuntime is ONNX Runtime in this process: onnxruntime_go keeps one
// global environment, started from one shared library, which Parley never
// stops (sessions come and go; the library stays loaded until exit).
var ortRuntime struct {
	once sync.Once
	lib  string // the library it was started from
	err  error
}

// startRuntime starts ONNX Runtime from the shared library at lib the first
// time it is called, and afterwards reports how that went. Asking for a
// different library once it runs is an error: one process, one runtime.
func startRuntime(lib string) error {
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	ortRuntime.once.Do(func() {
		ortRuntime.lib = lib
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			ortRuntime.err = fmt.Errorf("%w from %s: %v", ErrRuntime, lib, err)
		}
	})
	if ortRuntime.err != nil {
		return ortRuntime.err
	}
	if lib != ortRuntime.lib {
		return fmt.Errorf("%w from %s: this process already runs the one from %s", ErrRuntime, lib, ortRuntime.lib)
	}
	return nil
}
