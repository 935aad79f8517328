package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/parley-app/parley/app/call"
)

// renderStats fills the stats panel from st (nil outside a call: dashes).
func (w *Window) renderStats(st *call.Stats) {
	set := func(l *widget.Label, text string) { setLabel(l, text, l.Importance) }
	if st == nil {
		for _, l := range []*widget.Label{w.RTT, w.Jitter, w.Loss, w.Audio, w.Video} {
			set(l, "—")
		}
		return
	}
	if st.RTT > 0 {
		set(w.RTT, fmt.Sprintf("%s (%s)", msText(st.RTT), rttSource[st.RTTSource]))
	} else {
		set(w.RTT, "measuring…")
	}
	set(w.Jitter, fmt.Sprintf("%s in · %s at the agent", msText(st.AudioIn.Jitter), msText(st.AudioOut.Jitter)))
	set(w.Loss, fmt.Sprintf("%s in · %s at the agent", percent(st.AudioIn.RecentLoss), percent(st.AudioOut.RecentLoss)))
	set(w.Audio, fmt.Sprintf("%s sent · %s received", kbps(st.AudioOut.BitRate), kbps(st.AudioIn.BitRate)))
	if st.VideoOut.Packets == 0 && st.VideoIn.Packets == 0 {
		set(w.Video, "none")
	} else {
		set(w.Video, fmt.Sprintf("%s sent · %s received", kbps(st.VideoOut.BitRate), kbps(st.VideoIn.BitRate)))
	}
}

var rttSource = map[call.RTTSource]string{
	call.RTTFromRTCP: "RTCP",
	call.RTTFromICE:  "ICE",
	call.RTTFromPing: "ping",
}

func msText(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func percent(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }

func kbps(bps float64) string { return fmt.Sprintf("%.0f kbit/s", bps/1000) }
