package power

import (
	"testing"
	"time"
)

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
