package vad

import (
	"testing"

	"go.uber.org/goleak"
)

// ONNX Runtime's threads are native, not goroutines: goleak checks ours.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
