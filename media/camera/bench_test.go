package camera

import (
	"context"
	"image"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/parley-app/parley/media/vp8"
)

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCameraEncode measures the CPU a camera costs the sender, per
// frame at 640×480 and 15 fps (DefaultPreset, 500 kbit/s VP8): capture
// (the test pattern drawn, paced by the Source's goroutine), conversion
// to the preset's 4:2:0 frame, and libvpx's VP8 encode, as the call does.
// "native" is the test pattern as Open makes it (already a 640×480 4:2:0
// frame: no copy, no scaling); "yuyv720p" is a camera giving 1280×720
// 4:2:2 (YUYV), scaled and letterboxed to 640×480. The loop runs in real
// time (ns/op is about 66.7 ms); cpu-ms/frame is the process's CPU time
// (every goroutine, GC included) over the frames, core-% the share of one
// core that is at 15 fps. Run it with -benchtime=150x for 10 s of video.
func BenchmarkCameraEncode(b *testing.B) {
	p := DefaultPreset
	for _, bc := range []struct {
		name  string
		w, h  int
		ratio image.YCbCrSubsampleRatio
	}{
		{"native", p.Width, p.Height, image.YCbCrSubsampleRatio420},
		{"yuyv720p", 1280, 720, image.YCbCrSubsampleRatio422},
	} {
		b.Run(bc.name, func(b *testing.B) {
			enc, err := vp8.NewEncoder(vp8.Config{Width: p.Width, Height: p.Height, FrameRate: float64(p.FrameRate), BitRate: p.BitRate})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			s := newSource(p)
			s.start(Info{ID: bc.name, Kind: TestPattern}, newPattern(bc.w, bc.h, bc.ratio, p.FrameInterval(), s.stop), slog.New(slog.DiscardHandler))
			defer s.Close()
			ctx := context.Background()
			for range 15 { // warm up: libvpx's first frames, the heap
				img, err := s.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := enc.Encode(img); err != nil {
					b.Fatal(err)
				}
			}
			var bytes int
			var encoding time.Duration
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				img, err := s.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				out, err := enc.Encode(img)
				encoding += time.Since(t)
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(out)
			}
			b.StopTimer()
			cpu := cpuTime(b) - cpu0
			perFrame := float64(cpu) / float64(time.Millisecond) / float64(b.N)
			b.ReportMetric(perFrame, "cpu-ms/frame")
			b.ReportMetric(perFrame*float64(p.FrameRate)/10, "core-%")
			b.ReportMetric(float64(encoding)/float64(time.Millisecond)/float64(b.N), "encode-ms/frame")
			b.ReportMetric(float64(bytes*8*p.FrameRate)/float64(b.N)/1000, "kbit/s")
		})
	}
}
