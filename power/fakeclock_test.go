package power

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// FakeClock is the tests' Clock: its time moves only when Advance is called. Timers
// fire in deadline order inside Advance, each seeing Now equal to its own
// deadline; AfterFunc callbacks run synchronously in the caller of Advance.
// It is safe for concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    uint64
}

// NewFakeClock returns a fake clock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the fake time reaches Now()+d.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &fakeTimer{c: c, fn: f}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// NewTimer returns a timer whose channel receives the fake time when it
// reaches Now()+d.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// Pending returns how many timers are armed.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the earliest armed deadline and whether there is one.
func (c *FakeClock) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Advance moves the fake time forward by d, firing every timer whose
// deadline is reached, in deadline order (ties in creation order).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves the fake time forward to t (never backwards), firing
// timers on the way.
func (c *FakeClock) AdvanceTo(end time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.armed = false
		if t.when.After(c.now) {
			c.now = t.when
		}
		now := c.now
		c.mu.Unlock()
		if t.fn != nil {
			t.fn()
		} else {
			select {
			case t.ch <- now:
			default:
			}
		}
	}
}

// schedule arms t at now+d; c.mu must be held.
func (c *FakeClock) schedule(t *fakeTimer, d time.Duration) {
	c.seq++
	t.when = c.now.Add(d)
	t.seq = c.seq
	t.armed = true
	c.timers = append(c.timers, t)
	sort.SliceStable(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if a.when.Equal(b.when) {
			return a.seq < b.seq
		}
		return a.when.Before(b.when)
	})
}

// unschedule disarms t; c.mu must be held.
func (c *FakeClock) unschedule(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			break
		}
	}
	t.armed = false
	return true
}

type fakeTimer struct {
	c     *FakeClock
	fn    func()
	ch    chan time.Time
	when  time.Time
	seq   uint64
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.unschedule(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.unschedule(t)
	t.c.schedule(t, d)
	return was
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeClockFiresInDeadlineOrder(t *testing.T) {
	c := NewFakeClock(t0)
	var got []string
	var seen []time.Duration
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, "c"); seen = append(seen, c.Now().Sub(t0)) })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "a"); seen = append(seen, c.Now().Sub(t0)) })
	b := c.AfterFunc(20*time.Millisecond, func() { got = append(got, "b") })
	stopped := c.AfterFunc(15*time.Millisecond, func() { got = append(got, "x") })
	if !stopped.Stop() {
		t.Fatal("Stop of an armed timer reported false")
	}
	b.Reset(40 * time.Millisecond)
	ch := c.NewTimer(25 * time.Millisecond)
	c.Advance(35 * time.Millisecond)
	if want := []string{"a", "c"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if seen[0] != 10*time.Millisecond || seen[1] != 30*time.Millisecond {
		t.Fatalf("callbacks saw Now %v, want deadlines 10ms and 30ms", seen)
	}
	select {
	case at := <-ch.C():
		if at.Sub(t0) != 25*time.Millisecond {
			t.Fatalf("channel timer sent %v, want +25ms", at.Sub(t0))
		}
	default:
		t.Fatal("channel timer did not fire")
	}
	if c.Pending() != 1 {
		t.Fatalf("pending %d, want 1 (b re-armed to 40ms)", c.Pending())
	}
	c.Advance(5 * time.Millisecond)
	if len(got) != 3 || got[2] != "b" {
		t.Fatalf("fired %v, want b last", got)
	}
	if c.Now().Sub(t0) != 40*time.Millisecond {
		t.Fatalf("now %v, want +40ms", c.Now().Sub(t0))
	}
}
