package daemon

// The terminal's wall clock as the master station reads (GET 4000) and,
// where the configuration and the unit allow it, sets it (SET 4000, the
// broadcast time setting ACTION 4000 method 127): the system clock on a
// terminal, a simulated one on the rig.

import (
	"runtime/debug"
	"sync"
	"time"
)

// Clock is the wall clock the terminal's 4000 object reads and sets.
type Clock interface {
	// Now returns the clock's time.
	Now() time.Time
	// Set steps the clock to t.
	Set(t time.Time) error
}

// SystemClock is the kernel's CLOCK_REALTIME. Setting it takes
// CAP_SYS_TIME and the clock_settime system call, which the shipped
// systemd unit denies (ProtectClock=yes, no capabilities): a deployment
// that sets uplink.set_clock = true grants both in a drop-in (see
// deploy/holdup.service).
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Set implements Clock with clock_settime(CLOCK_REALTIME); an error
// wrapping fs.ErrPermission when the process may not set the clock,
// errors.ErrUnsupported off Linux.
func (SystemClock) Set(t time.Time) error { return setSystemClock(t) }

// SimClock is a simulated wall clock: the host's time (base) shifted by
// what the master station set, so the simulated terminal's clock can be
// stepped without touching the host's. It is safe for concurrent use.
type SimClock struct {
	base   func() time.Time
	mu     sync.Mutex
	offset time.Duration
	sets   int
}

// NewSimClock returns a SimClock on base (nil: time.Now).
func NewSimClock(base func() time.Time) *SimClock {
	if base == nil {
		base = time.Now
	}
	return &SimClock{base: base}
}

// Now implements Clock.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset)
}

// Set implements Clock.
func (c *SimClock) Set(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = t.Sub(c.base())
	c.sets++
	return nil
}

// Sets returns how many times the clock has been set.
func (c *SimClock) Sets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sets
}

// releaseFloor is the earliest time holdup accepts for its clock when its
// build carries no commit time: before it, a clock is unset (a terminal
// without a battery-backed RTC boots in 1970 or 2000), never right.
func releaseFloor() time.Time { return time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) }

// buildDate is the commit time of holdup's build (Go's vcs.time build
// setting), or releaseFloor when the build does not carry one.
func buildDate() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(releaseFloor()) {
					return t
				}
			}
		}
	}
	return releaseFloor()
}
