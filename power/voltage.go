package power

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Voltmeter reads the three phase voltages. The DL/T 698.45 AC-sampling
// client implements it.
type Voltmeter interface {
	// ReadVoltages returns the RMS voltages of phases A, B and C in volts.
	ReadVoltages(ctx context.Context) ([3]float64, error)
}

// Verdict is what a set of phase voltages says about the mains. Which phases
// decide depends on the PhaseRule (see Thresholds.Classify).
type Verdict uint8

const (
	// VerdictFailed: no usable reading (timeout, error, garbage).
	VerdictFailed Verdict = iota
	// VerdictLost: the mains is lost. PhasesAll: some phase is below the
	// loss threshold. PhasesAny: every phase is.
	VerdictLost
	// VerdictBand: neither lost nor present; the phases that decide lie
	// in the hysteresis band between the loss and the restore thresholds,
	// and the monitor keeps the state it is in (an outage goes on; a loss
	// edge is decided from the GPIO line, unconfirmed).
	VerdictBand
	// VerdictPresent: the mains is present. PhasesAll: every phase is at
	// or above the restore threshold. PhasesAny: at least one is.
	VerdictPresent
)

// String names the verdict.
func (v Verdict) String() string {
	switch v {
	case VerdictLost:
		return "lost"
	case VerdictBand:
		return "band"
	case VerdictPresent:
		return "present"
	default:
		return "failed"
	}
}

// ErrBadReading is wrapped by Classify when a phase reading is not a
// plausible voltage (NaN, infinite, negative or above the valid maximum).
var ErrBadReading = errors.New("implausible phase voltage")

// ErrVoltmeterTimeout is the error recorded when the voltmeter does not
// answer within the confirmation timeout.
var ErrVoltmeterTimeout = errors.New("voltmeter did not answer in time")

// PhaseRule says which phases decide whether the mains is present.
type PhaseRule string

const (
	// PhasesAll is the default, the rule of the power-failure protection
	// method holdup implements: a loss is confirmed when the three phase
	// voltages do not all meet the strong-power specification, a return
	// when all three do. Here one phase below LossV is a loss, and the
	// mains is present only when all three phases are at or above
	// RestoreV. The zero PhaseRule means PhasesAll.
	PhasesAll PhaseRule = "all"
	// PhasesAny is for single-phase-fed terminals, whose other two phases
	// read nothing: the mains is present when any phase is at or above
	// RestoreV, and lost only when every phase is below LossV.
	PhasesAny PhaseRule = "any"
)

// Thresholds decide what phase voltages mean.
type Thresholds struct {
	// LossV: a phase below it is out (PhasesAll: one such phase is a loss;
	// PhasesAny: all three are).
	LossV float64
	// RestoreV: a phase at or above it meets the specification
	// (PhasesAll: mains present when all three do; PhasesAny: when one
	// does). It must be above LossV; the gap is the hysteresis band.
	RestoreV float64
	// MaxV: a reading above it is garbage, not a voltage.
	MaxV float64
	// Rule picks the phases that decide; zero is PhasesAll.
	Rule PhaseRule
}

var phaseNames = [3]string{"A", "B", "C"}

// Classify checks a reading and decides what it says. An implausible phase
// gives VerdictFailed and an error naming the phase and value that wraps
// ErrBadReading: garbage never counts as mains present.
//
// Under PhasesAll (the default) the lowest phase decides: below LossV is
// VerdictLost, at or above RestoreV is VerdictPresent, in between is
// VerdictBand — (230, 230, 150) V with LossV 132 and RestoreV 176 is band:
// no phase is out, but one does not meet the specification. Under
// PhasesAny the highest phase decides the same way.
func (t Thresholds) Classify(v [3]float64) (Verdict, error) {
	lo, hi := math.Inf(1), 0.0
	for i, x := range v {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %v: %w", phaseNames[i], x, ErrBadReading)
		case x < 0:
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %.1f V is negative: %w", phaseNames[i], x, ErrBadReading)
		case x > t.MaxV:
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %.1f V is above the %.1f V maximum: %w", phaseNames[i], x, t.MaxV, ErrBadReading)
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	decider := lo
	if t.Rule == PhasesAny {
		decider = hi
	}
	switch {
	case decider < t.LossV:
		return VerdictLost, nil
	case decider >= t.RestoreV:
		return VerdictPresent, nil
	default:
		return VerdictBand, nil
	}
}
