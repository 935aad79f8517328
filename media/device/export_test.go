package device

import "time"

// SetPeriod opens the devices after it with another period (see period);
// the returned function restores it.
func SetPeriod(d time.Duration) (restore func()) {
	old := period
	period = d
	return func() { period = old }
}
