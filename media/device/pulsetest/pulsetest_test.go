package pulsetest_test

import (
	"testing"

	"github.com/parley-app/parley/media/device"
	"github.com/parley-app/parley/media/device/pulsetest"
)

// TestDecoys: the test devices carry their names, and with decoys the
// defaults are the decoys, as malgo sees them.
func TestDecoys(t *testing.T) {
	pa := pulsetest.StartWithDecoys(t)
	pa.Setenv(t)
	ctx, err := device.NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for _, c := range []struct {
		kind            device.Kind
		want, isDefault string
	}{
		{device.Microphone, pulsetest.MicName, pulsetest.DecoyMicName},
		{device.Speaker, pulsetest.SpeakerName, pulsetest.DecoySpeakerName},
	} {
		devs, err := ctx.Devices(c.kind)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %+v", c.kind, devs)
		found, def := false, ""
		for _, d := range devs {
			found = found || d.Name == c.want
			if d.Default {
				def = d.Name
			}
		}
		if !found || def != c.isDefault {
			t.Errorf("%v: %q listed %v, default %q (want %q)", c.kind, c.want, found, def, c.isDefault)
		}
	}
}
