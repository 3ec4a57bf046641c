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

// Verdict is what a set of phase voltages says about the mains.
type Verdict uint8

const (
	// VerdictFailed: no usable reading (timeout, error, garbage).
	VerdictFailed Verdict = iota
	// VerdictLost: every phase is below the loss threshold.
	VerdictLost
	// VerdictBand: the highest phase lies between the loss and the
	// restore thresholds; hysteresis keeps the mains from counting as ok.
	VerdictBand
	// VerdictPresent: at least one phase is at or above the restore
	// threshold.
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

// Thresholds decide what phase voltages mean.
type Thresholds struct {
	// LossV: all phases below it confirm a loss.
	LossV float64
	// RestoreV: a phase at or above it means mains is present. It must be
	// above LossV; the gap is the hysteresis band.
	RestoreV float64
	// MaxV: a reading above it is garbage, not a voltage.
	MaxV float64
}

var phaseNames = [3]string{"A", "B", "C"}

// Classify checks a reading and decides what it says. An implausible phase
// gives VerdictFailed and an error naming the phase and value that wraps
// ErrBadReading: garbage never counts as mains present.
func (t Thresholds) Classify(v [3]float64) (Verdict, error) {
	maxV := 0.0
	for i, x := range v {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %v: %w", phaseNames[i], x, ErrBadReading)
		case x < 0:
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %.1f V is negative: %w", phaseNames[i], x, ErrBadReading)
		case x > t.MaxV:
			return VerdictFailed, fmt.Errorf("power: voltmeter phase %s = %.1f V is above the %.1f V maximum: %w", phaseNames[i], x, t.MaxV, ErrBadReading)
		}
		maxV = math.Max(maxV, x)
	}
	switch {
	case maxV >= t.RestoreV:
		return VerdictPresent, nil
	case maxV < t.LossV:
		return VerdictLost, nil
	default:
		return VerdictBand, nil
	}
}
