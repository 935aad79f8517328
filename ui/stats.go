package ui

import (
	"fmt"
	"time"

	"github.com/parley-app/parley/app/call"
)

// renderStats fills the stats panel from st (nil outside a call: dashes).
func (w *Window) renderStats(st *call.Stats) {
	if st == nil {
		for _, l := range []interface{ SetText(string) }{w.RTT, w.Jitter, w.Loss, w.Audio, w.Video} {
			l.SetText("—")
		}
		return
	}
	if st.RTT > 0 {
		w.RTT.SetText(fmt.Sprintf("%s (%s)", msText(st.RTT), rttSource[st.RTTSource]))
	} else {
		w.RTT.SetText("measuring…")
	}
	w.Jitter.SetText(fmt.Sprintf("%s in · %s at the agent", msText(st.AudioIn.Jitter), msText(st.AudioOut.Jitter)))
	w.Loss.SetText(fmt.Sprintf("%s in · %s at the agent", percent(st.AudioIn.RecentLoss), percent(st.AudioOut.RecentLoss)))
	w.Audio.SetText(fmt.Sprintf("%s sent · %s received", kbps(st.AudioOut.BitRate), kbps(st.AudioIn.BitRate)))
	if st.VideoOut.Packets == 0 && st.VideoIn.Packets == 0 {
		w.Video.SetText("none")
	} else {
		w.Video.SetText(fmt.Sprintf("%s sent · %s received", kbps(st.VideoOut.BitRate), kbps(st.VideoIn.BitRate)))
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
