package power

import (
	"fmt"
	"math"
	"time"
)

// SupercapReader returns the hold-up capacitor voltage in volts. IIOVoltage
// builds one on an IIO sysfs ADC channel; an ADC on I2C can supply its own.
type SupercapReader func() (float64, error)

// budgetWindow is how many supercap samples the discharge fit uses.
const budgetWindow = 8

// Budget estimates the hold-up time left during an outage: the configured
// hold-up time counted from the loss, and, when supercap samples are given,
// the time until the capacitor reaches its cut-off voltage. The smaller of
// the two wins. A capacitor feeding a constant-power load loses energy
// linearly, so V² falls linearly in time; the estimate fits a line to V²
// over the last samples. It is owned by one goroutine (the monitor).
type Budget struct {
	holdUp time.Duration
	minV   float64
	cap    Capacitor // its parameters, for an estimate from one sample

	start   time.Time
	samples [budgetWindow]budgetSample
	n       int // samples held, ≤ budgetWindow
	next    int // ring write index
}

type budgetSample struct {
	at time.Time
	v2 float64
}

// NewBudget returns a budget of holdUp from the loss; minV is the capacitor
// voltage at which the supply drops out (0: no capacitor estimate).
func NewBudget(holdUp time.Duration, minV float64) *Budget {
	return &Budget{holdUp: holdUp, minV: minV}
}

// SetCapacitor gives the budget the capacitor's parameters: with them a
// single reading gives an estimate (Capacitor.HoldUp), before the
// discharge fit has the two samples it needs or while the voltage has not
// started falling.
func (b *Budget) SetCapacitor(c Capacitor) { b.cap = c }

// Start begins an outage at the loss time, forgetting earlier samples.
func (b *Budget) Start(at time.Time) {
	b.start = at
	b.n, b.next = 0, 0
}

// AddSample records a capacitor voltage read at the given time.
func (b *Budget) AddSample(at time.Time, volts float64) error {
	if math.IsNaN(volts) || math.IsInf(volts, 0) || volts < 0 {
		return fmt.Errorf("power: supercap reading %v V: %w", volts, ErrBadReading)
	}
	b.samples[b.next] = budgetSample{at: at, v2: volts * volts}
	b.next = (b.next + 1) % budgetWindow
	if b.n < budgetWindow {
		b.n++
	}
	return nil
}

// Left returns the estimated hold-up time left at now and whether the
// capacitor estimate (rather than the configured time) decided it.
func (b *Budget) Left(now time.Time) (time.Duration, bool) {
	left := b.holdUp - now.Sub(b.start)
	if left < 0 {
		left = 0
	}
	capLeft, ok := b.capLeft(now)
	if ok && capLeft < left {
		return capLeft, true
	}
	return left, false
}

// capLeft fits V² = a + s·t over the samples and extrapolates to minV².
func (b *Budget) capLeft(now time.Time) (time.Duration, bool) {
	if b.minV <= 0 || b.n == 0 {
		return 0, false
	}
	last := b.samples[(b.next+budgetWindow-1)%budgetWindow]
	min2 := b.minV * b.minV
	if last.v2 <= min2 {
		return 0, true
	}
	if b.n < 2 {
		return b.modelLeft(last, now)
	}
	// Least squares on (t seconds since start, V²).
	var st, sv, stt, stv float64
	for i := 0; i < b.n; i++ {
		s := b.samples[i]
		t := s.at.Sub(b.start).Seconds()
		st += t
		sv += s.v2
		stt += t * t
		stv += t * s.v2
	}
	n := float64(b.n)
	den := n*stt - st*st
	if den <= 0 {
		return 0, false
	}
	slope := (n*stv - st*sv) / den // V²/s
	if slope >= 0 {
		return b.modelLeft(last, now) // not discharging (yet): no fit
	}
	secs := (last.v2-min2)/(-slope) - now.Sub(last.at).Seconds()
	if secs < 0 {
		secs = 0
	}
	return time.Duration(secs * float64(time.Second)), true
}

// modelLeft is the estimate from the capacitor's parameters and the last
// sample, counted down since it was taken (none without the parameters).
func (b *Budget) modelLeft(last budgetSample, now time.Time) (time.Duration, bool) {
	c := b.cap
	c.EmptyV = b.minV
	full, ok := c.HoldUp(math.Sqrt(last.v2))
	if !ok {
		return 0, false
	}
	return max(full-now.Sub(last.at), 0), true
}

// Capacitor describes the hold-up supercapacitor: the charge curve and the
// energy the terminal draws from it. A capacitor of C farads feeding a
// constant load of P watts from V down to the cut-off voltage lasts
// C·(V² − EmptyV²)/(2P); its charge is the share of the usable energy it
// holds, (V² − EmptyV²)/(FullV² − EmptyV²).
type Capacitor struct {
	// EmptyV is the voltage at which the supply drops out.
	EmptyV float64
	// FullV is the voltage of a fully charged capacitor (0: unknown).
	FullV float64
	// Farads is its capacitance and LoadW the power the terminal draws
	// from it during an outage (either 0: no energy estimate).
	Farads, LoadW float64
}

// HoldUp returns how long the capacitor carries the load from v down to
// EmptyV, and false when the parameters are missing.
func (c Capacitor) HoldUp(v float64) (time.Duration, bool) {
	if !(c.Farads > 0 && c.LoadW > 0 && c.EmptyV > 0) || math.IsNaN(v) {
		return 0, false
	}
	secs := c.Farads * (v*v - c.EmptyV*c.EmptyV) / (2 * c.LoadW)
	if secs <= 0 {
		return 0, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// Charge returns the share of the usable energy (0 empty … 1 full) the
// capacitor holds at v, and false when FullV or EmptyV is unknown.
func (c Capacitor) Charge(v float64) (float64, bool) {
	if !(c.FullV > c.EmptyV && c.EmptyV > 0) || math.IsNaN(v) {
		return 0, false
	}
	e2 := c.EmptyV * c.EmptyV
	f := (v*v - e2) / (c.FullV*c.FullV - e2)
	return min(max(f, 0), 1), true
}
