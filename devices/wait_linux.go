//go:build linux

package devices

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// sleepCtx waits d or until ctx (which may be nil) ends. The wait is a
// kernel nanosleep in slices of at most a millisecond, ctx looked at
// between them: the t3.5 gap it times is a fraction of a millisecond at
// high baud rates, and Go's timers may fire up to a millisecond late on an
// idle system, which would add that to every exchange on the bus and to
// the wait of a control op queued behind one.
func sleepCtx(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		ts := unix.NsecToTimespec(int64(min(left, time.Millisecond)))
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
	}
}
