//go:build linux

package power

import (
	"log/slog"
	"testing"
	"time"

	"github.com/warthog618/go-gpiocdev"
)

func TestGPIOLineMapsEventsAndResyncsOnGaps(t *testing.T) {
	var r edgeRec
	pin := 1 // physical level the "kernel" reports now (active-low: 1 = present)
	g := &GPIOLine{chip: "gpiochip0", offset: 3, h: r.h, log: slog.New(slog.DiscardHandler),
		read: func() (int, error) { return 1 - pin, nil }} // library reports active state
	ev := func(typ gpiocdev.LineEventType, seq uint32) gpiocdev.LineEvent {
		return gpiocdev.LineEvent{Offset: 3, Timestamp: time.Duration(seq) * time.Millisecond, Type: typ, LineSeqno: seq}
	}
	g.onEvent(ev(gpiocdev.LineEventRisingEdge, 1))  // active = asserted = lost
	g.onEvent(ev(gpiocdev.LineEventFallingEdge, 2)) // present
	// Seqs 3 and 4 were dropped; 5 says lost, but the line is back high.
	pin = 1
	g.onEvent(ev(gpiocdev.LineEventRisingEdge, 5))
	want := []Event{
		{Mains: MainsLost, Stamp: time.Millisecond, Seq: 1},
		{Mains: MainsPresent, Stamp: 2 * time.Millisecond, Seq: 2},
		{Mains: MainsPresent, Stamp: 5 * time.Millisecond, Seq: 5},
	}
	if len(r.evs) != len(want) {
		t.Fatalf("events %+v, want %+v", r.evs, want)
	}
	for i := range want {
		if r.evs[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, r.evs[i], want[i])
		}
	}
	if g.gaps != 1 {
		t.Fatalf("gaps %d, want 1", g.gaps)
	}
	if v, err := g.Value(); err != nil || v != MainsPresent {
		t.Fatalf("Value %v %v", v, err)
	}
}
