package power

import (
	"errors"
	"testing"
	"time"
)

type edgeRec struct{ evs []Event }

func (r *edgeRec) h(e Event) { r.evs = append(r.evs, e) }

func TestSimLineEdges(t *testing.T) {
	tests := []struct {
		name       string
		activeHigh bool
		initial    int
		levels     []int
		want       []Mains
	}{
		{"active-low fail and restore", false, 1, []int{0, 0, 1}, []Mains{MainsLost, MainsPresent}},
		{"active-high fail and restore", true, 0, []int{1, 0}, []Mains{MainsLost, MainsPresent}},
		{"same level is no edge", false, 1, []int{1, 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewFakeClock(t0)
			var r edgeRec
			l, err := NewSimLine(SimLineConfig{ActiveHigh: tc.activeHigh, Initial: tc.initial}, c, r.h)
			if err != nil {
				t.Fatal(err)
			}
			for _, lv := range tc.levels {
				c.Advance(time.Millisecond)
				if err := l.Set(lv); err != nil {
					t.Fatal(err)
				}
			}
			if len(r.evs) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %v", len(r.evs), r.evs, tc.want)
			}
			for i, e := range r.evs {
				if e.Mains != tc.want[i] || e.Seq != uint32(i+1) {
					t.Errorf("event %d = %+v, want %v seq %d", i, e, tc.want[i], i+1)
				}
				if i > 0 && e.Stamp <= r.evs[i-1].Stamp {
					t.Errorf("event %d stamp %v not after %v", i, e.Stamp, r.evs[i-1].Stamp)
				}
			}
		})
	}
}

func TestSimLineDebounceSwallowsChatter(t *testing.T) {
	c := NewFakeClock(t0)
	var r edgeRec
	l, err := NewSimLine(SimLineConfig{Initial: 1, Debounce: 5 * time.Millisecond}, c, r.h)
	if err != nil {
		t.Fatal(err)
	}
	// 101 toggles 10 µs apart, ending low (mains lost).
	if err := l.Chatter(101, func() { c.Advance(10 * time.Microsecond) }, MainsLost); err != nil {
		t.Fatal(err)
	}
	if len(r.evs) != 0 {
		t.Fatalf("%d events during chatter, want none before the debounce period", len(r.evs))
	}
	if v, _ := l.Value(); v != MainsPresent {
		t.Fatalf("debounced value %v during chatter, want present", v)
	}
	c.Advance(5 * time.Millisecond)
	if len(r.evs) != 1 || r.evs[0].Mains != MainsLost {
		t.Fatalf("events %+v, want one lost edge", r.evs)
	}
	if v, _ := l.Value(); v != MainsLost {
		t.Fatalf("value %v, want lost", v)
	}
	// A pulse shorter than the debounce period vanishes.
	_ = l.Restore()
	c.Advance(time.Millisecond)
	_ = l.Fail()
	c.Advance(10 * time.Millisecond)
	if len(r.evs) != 1 {
		t.Fatalf("short pulse produced events %+v", r.evs[1:])
	}
}

func TestSimLineBadInputAndClose(t *testing.T) {
	if _, err := NewSimLine(SimLineConfig{Initial: 2}, nil, nil); err == nil {
		t.Fatal("initial level 2 accepted")
	}
	l, err := NewSimLine(SimLineConfig{Initial: 1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Set(3); err == nil {
		t.Fatal("level 3 accepted")
	}
	if err := l.Chatter(2, nil, MainsLost); err == nil {
		t.Fatal("2 toggles from present claimed to end lost")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close: %v, want ErrClosed", err)
	}
	if _, err := l.Value(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Value after Close: %v, want ErrClosed", err)
	}
}
