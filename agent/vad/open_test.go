package vad

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestOpenSilero(t *testing.T) {
	testModel(t)
	var logs bytes.Buffer
	f := Open(slog.New(slog.NewTextHandler(&logs, nil)))
	defer f.Close()
	if f.Kind != KindSilero || f.Notice != "" || f.Err != nil {
		t.Fatalf("Open: kind %q, notice %q, err %v; want silero", f.Kind, f.Notice, f.Err)
	}
	d := f.New()
	if _, ok := d.(*Silero); !ok {
		t.Fatalf("New gave %T, want *Silero", d)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %q", logs.String())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A closed Factory still gives a working VAD, and says so once.
	if _, ok := f.New().(*Energy); !ok {
		t.Fatal("New after Close did not fall back to the energy VAD")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
}

// Wrong paths give the energy VAD, one warning and the notice for the user.
func TestOpenFallsBackToEnergy(t *testing.T) {
	lib, model := SileroPaths()
	for _, tc := range []struct {
		name, lib, model string
		want             error
	}{
		{"no library", "/nonexistent/libonnxruntime.so.1", model, ErrNotInstalled},
		{"no model", lib, "/nonexistent/silero_vad_v5.onnx", ErrNotInstalled},
		{"corrupt model", lib, writeFile(t, "bad.onnx", []byte("not a model")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvOnnxRuntimeLib, tc.lib)
			t.Setenv(EnvSileroModel, tc.model)
			var logs bytes.Buffer
			f := Open(slog.New(slog.NewTextHandler(&logs, nil)))
			defer f.Close()
			if f.Kind != KindEnergy || f.Notice != EnergyNotice || f.Err == nil {
				t.Fatalf("Open: kind %q, notice %q, err %v; want the energy fallback", f.Kind, f.Notice, f.Err)
			}
			if tc.want != nil && !errors.Is(f.Err, tc.want) {
				t.Fatalf("err %v, want %v", f.Err, tc.want)
			}
			for range 3 {
				if _, ok := f.New().(*Energy); !ok {
					t.Fatal("New did not give an energy VAD")
				}
			}
			out := logs.String()
			if n := strings.Count(out, "level=WARN"); n != 1 || strings.Count(out, "\n") != 1 {
				t.Fatalf("want exactly one warning, logged:\n%s", out)
			}
			if !strings.Contains(out, "component=vad") {
				t.Fatalf("warning without component: %s", out)
			}
			if tc.want == ErrNotInstalled && !strings.Contains(out, "make deps") {
				t.Fatalf("warning does not say to run make deps: %s", out)
			}
			if !strings.Contains(f.Notice, "make deps") {
				t.Fatalf("notice does not say to run make deps: %q", f.Notice)
			}
		})
	}
}
