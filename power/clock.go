package power

import "time"

// Clock is the time source of the power package. The monitor, the hold-up
// budget and the simulated line take one so that tests drive time with a
// fake clock (FakeClock in fakeclock_test.go) and never sleep.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (real clock) or in the
	// goroutine that advances time (fake clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a timer that sends the time on its channel once d
	// has elapsed.
	NewTimer(d time.Duration) Timer
}

// Timer is a single-shot timer created by a Clock.
type Timer interface {
	// C is the channel the timer fires on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// still active.
	Stop() bool
	// Reset re-arms the timer to fire after d; it reports whether it was
	// still active.
	Reset(d time.Duration) bool
}

// RealClock is the wall/monotonic clock of the running system.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{t: time.AfterFunc(d, f)}
}

// NewTimer wraps time.NewTimer.
func (RealClock) NewTimer(d time.Duration) Timer {
	return realTimer{t: time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
