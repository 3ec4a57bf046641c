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
		return 0, false
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
		return 0, false // not discharging (yet): no estimate
	}
	secs := (last.v2-min2)/(-slope) - now.Sub(last.at).Seconds()
	if secs < 0 {
		secs = 0
	}
	return time.Duration(secs * float64(time.Second)), true
}
