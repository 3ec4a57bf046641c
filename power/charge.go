package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChargeWait holds back the start of non-critical IO until the hold-up
// capacitor has charged: after a cold start the capacitor is (nearly)
// empty, and an outage right then would find no budget for the protection
// steps. It reads the capacitor every Every until its charge
// (Capacitor.Charge: the share of the usable energy between EmptyV and
// FullV, which is also the share of the full hold-up time) reaches Min, or
// Timeout passes. The replay of a cold start does not wait for it: the
// daemon holds back only collection.
type ChargeWait struct {
	// Read reads the capacitor voltage.
	Read SupercapReader
	// Cap gives the charge curve: EmptyV and FullV are required.
	Cap Capacitor
	// Min is the charge (0 < Min ≤ 1) to wait for.
	Min float64
	// Timeout ends the wait, charged or not.
	Timeout time.Duration
	// Every is the reading interval.
	Every time.Duration
	// Clock is the time source; nil is the real clock.
	Clock Clock
}

// ChargeStatus is the state of a charge wait.
type ChargeStatus struct {
	// Volts and Charge are the last good reading (Charge −1: none yet).
	Volts, Charge float64
	// Waited is the time since the wait began.
	Waited time.Duration
	// Done: the wait is over; Charged says whether Min was reached,
	// TimedOut whether Timeout ended it.
	Done, Charged, TimedOut bool
	// Err is the last reading's error (nil when it succeeded).
	Err error
}

// String says what the wait found, for logs and status.
func (s ChargeStatus) String() string {
	var b string
	if s.Charge >= 0 {
		b = fmt.Sprintf("supercap %.2f V, charge %.0f %%", s.Volts, 100*s.Charge)
	} else {
		b = "supercap not read yet"
	}
	if s.Err != nil {
		b += fmt.Sprintf(" (last reading failed: %v)", s.Err)
	}
	switch {
	case s.Charged:
		return fmt.Sprintf("%s after %v", b, s.Waited)
	case s.TimedOut:
		return fmt.Sprintf("%s: not charged after %v, released by the timeout", b, s.Waited)
	}
	return fmt.Sprintf("%s, waiting (%v so far)", b, s.Waited)
}

// Validate checks the wait's parameters.
func (w ChargeWait) Validate() error {
	switch {
	case w.Read == nil:
		return errors.New("power: charge wait: no supercap reader")
	case !(w.Cap.FullV > w.Cap.EmptyV && w.Cap.EmptyV > 0):
		return fmt.Errorf("power: charge wait: needs the empty (%v V) and full (%v V) voltages of the capacitor", w.Cap.EmptyV, w.Cap.FullV)
	case !(w.Min > 0 && w.Min <= 1):
		return fmt.Errorf("power: charge wait: minimum charge %v must be in (0, 1]", w.Min)
	case w.Timeout <= 0 || w.Every <= 0:
		return fmt.Errorf("power: charge wait: timeout %v and interval %v must be positive", w.Timeout, w.Every)
	}
	return nil
}

// Wait reads the capacitor until it is charged, the timeout passes or ctx
// ends (the status then is not Done). progress, if set, is called after
// each reading that does not end the wait, once the next reading's timer
// is armed; it must not block for long.
func (w ChargeWait) Wait(ctx context.Context, progress func(ChargeStatus)) ChargeStatus {
	clk := w.Clock
	if clk == nil {
		clk = RealClock{}
	}
	start := clk.Now()
	st := ChargeStatus{Charge: -1}
	for {
		v, err := w.Read()
		st.Err = err
		if err == nil {
			if c, ok := w.Cap.Charge(v); ok {
				st.Volts, st.Charge = v, c
			}
		}
		st.Waited = clk.Now().Sub(start)
		if st.Charge >= w.Min {
			st.Done, st.Charged = true, true
			return st
		}
		left := w.Timeout - st.Waited
		if left <= 0 {
			st.Done, st.TimedOut = true, true
			return st
		}
		t := clk.NewTimer(min(w.Every, left))
		if progress != nil {
			progress(st)
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return st
		case <-t.C():
		}
	}
}
