//go:build linux

package daemon

import (
	"fmt"
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setSystemClock steps CLOCK_REALTIME to t.
func setSystemClock(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if unsafe.Sizeof(ts.Sec) == 4 && t.Unix() > math.MaxInt32 {
		// 32-bit ARM: the clock_settime call holdup makes takes a 32-bit
		// time_t.
		return fmt.Errorf("daemon: set the system clock to %s: beyond 2038 for a 32-bit time_t: %w", t.Format(time.RFC3339), unix.EOVERFLOW)
	}
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("daemon: clock_settime(CLOCK_REALTIME, %s): %w", t.Format(time.RFC3339), err)
	}
	return nil
}
