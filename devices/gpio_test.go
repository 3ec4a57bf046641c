package devices

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/warthog618/go-gpiocdev"
)

func TestGPIOOutput(t *testing.T) {
	chip := NewSimChip("gpiochip0", 8)
	d := Device{Name: "relays", Driver: DriverGPIOOutput, Port: "gpiochip0", Points: []Point{
		{Name: "k1", Class: ClassControl, Kind: KindLine, Register: 2},
		{Name: "k2", Class: ClassControl, Kind: KindLine, Register: 5, ActiveLow: true},
	}}
	g, err := NewGPIOOutput(d, chip)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Both start off: k2 is active-low, so its wire level is high.
	if chip.Level(2) != 0 || chip.Level(5) != 1 {
		t.Fatalf("initial levels %d %d, want 0 1", chip.Level(2), chip.Level(5))
	}
	for _, tc := range []struct {
		p    Point
		v    float64
		wire int
	}{{d.Points[0], 1, 1}, {d.Points[1], 1, 0}, {d.Points[0], 0, 0}, {d.Points[1], 0, 1}} {
		s, err := g.Write(ctx, tc.p, tc.v)
		if err != nil || s.Value != tc.v {
			t.Fatalf("write %s=%v: %v %v", tc.p.Name, tc.v, s, err)
		}
		if got := chip.Level(tc.p.Register); got != tc.wire {
			t.Errorf("%s=%v: wire level %d, want %d", tc.p.Name, tc.v, got, tc.wire)
		}
		if r, err := g.Read(ctx, tc.p); err != nil || r.Value != tc.v {
			t.Errorf("read back %s: %v %v", tc.p.Name, r.Value, err)
		}
	}
	if n := len(chip.History()); n != 6 {
		t.Errorf("%d level changes recorded, want 6 (2 initial + 4)", n)
	}
	// The lines are held: a second claimant is refused by the chip.
	if _, err := NewGPIOOutput(d, chip); !errors.Is(err, syscall.EBUSY) || !strings.Contains(err.Error(), `points[0] "k1"`) {
		t.Errorf("second request: %v, want EBUSY naming the point", err)
	}
	if err := g.Reinit(ctx); err != nil {
		t.Fatalf("reinit: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Write(ctx, d.Points[0], 1); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestGPIOOutputBadOffsetAndClosedLine(t *testing.T) {
	chip := NewSimChip("gpiochip1", 4)
	d := Device{Name: "r", Points: []Point{{Name: "k9", Register: 9}}}
	if _, err := NewGPIOOutput(d, chip); !errors.Is(err, gpiocdev.ErrInvalidOffset) {
		t.Fatalf("offset 9 on a 4-line chip: %v", err)
	}
	d.Points[0].Register = 1
	g, err := NewGPIOOutput(d, chip)
	if err != nil {
		t.Fatal(err)
	}
	_ = g.lines["k9"].Close() // the line goes away underneath the driver
	_, err = g.Write(context.Background(), d.Points[0], 1)
	if Classify(err) != OutcomeLinkDown {
		t.Fatalf("write on released line: %v, want link down", err)
	}
}
