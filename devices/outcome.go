package devices

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Outcome classifies one exchange for the scheduler's error-rate watch.
type Outcome uint8

// Exchange outcomes.
const (
	// OutcomeOK: a well-formed answer arrived.
	OutcomeOK Outcome = iota
	// OutcomeTimeout: no answer, or not all of it, within the timeout.
	OutcomeTimeout
	// OutcomeLengthMismatch: the answer had the wrong length or framing.
	OutcomeLengthMismatch
	// OutcomeChecksumMismatch: the answer's CRC/checksum did not verify.
	OutcomeChecksumMismatch
	// OutcomeException: the device answered with a protocol exception.
	OutcomeException
	// OutcomeLinkDown: the interface could not send or receive at all.
	OutcomeLinkDown
	// OutcomeCancelled: the exchange was called off before a byte was
	// sent (its context ended, e.g. the scheduler gated the device).
	OutcomeCancelled
)

var outcomeNames = [...]string{"ok", "timeout", "length-mismatch", "checksum-mismatch", "exception", "link-down", "cancelled"}

// String returns the outcome's name as the scheduler spells it.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// outcomeError is a sentinel that also tells the scheduler its outcome
// through the IOOutcome method, so sched needs no import of this package.
type outcomeError struct {
	o   Outcome
	msg string
}

func (e *outcomeError) Error() string { return e.msg }

// IOOutcome names the exchange outcome (see sched.Classify).
func (e *outcomeError) IOOutcome() string { return e.o.String() }

// Sentinel errors for the exchange outcomes; match with errors.Is.
var (
	ErrTimeout          error = &outcomeError{OutcomeTimeout, "devices: timeout"}
	ErrLengthMismatch   error = &outcomeError{OutcomeLengthMismatch, "devices: length mismatch"}
	ErrChecksumMismatch error = &outcomeError{OutcomeChecksumMismatch, "devices: checksum mismatch"}
	ErrLinkDown         error = &outcomeError{OutcomeLinkDown, "devices: link down"}
	// ErrNotSent: the exchange was called off before its request was sent.
	ErrNotSent error = &outcomeError{OutcomeCancelled, "devices: not sent"}
	// ErrNoData: the device answered, correctly framed, that it has no
	// value (698 NULL); it counts as an exception, not a link error.
	ErrNoData error = &outcomeError{OutcomeException, "devices: no data"}
	// ErrBadValue: a control value the point cannot carry (out of its
	// type's range, a kind that is not writable); refused before anything
	// was sent, so it says nothing about the interface.
	ErrBadValue error = &outcomeError{OutcomeCancelled, "devices: value cannot be written"}
)

// ExceptionError is a Modbus exception response: the device understood the
// request and refused it. Match with errors.As.
type ExceptionError struct {
	Device   string
	Function byte
	Code     byte
}

var exceptionNames = map[byte]string{
	1: "illegal function", 2: "illegal data address", 3: "illegal data value",
	4: "server device failure", 5: "acknowledge", 6: "server device busy",
	8: "memory parity error", 10: "gateway path unavailable",
	11: "gateway target device failed to respond",
}

// Error renders the exception with its standard name.
func (e *ExceptionError) Error() string {
	name := exceptionNames[e.Code]
	if name == "" {
		name = "unknown exception"
	}
	return fmt.Sprintf("devices: device %q: modbus exception %d (%s) to function %d", e.Device, e.Code, name, e.Function&0x7F)
}

// IOOutcome names the exchange outcome (see sched.Classify).
func (e *ExceptionError) IOOutcome() string { return OutcomeException.String() }

// Classify returns the outcome of an exchange that ended with err.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var oe *outcomeError
	if errors.As(err, &oe) {
		return oe.o
	}
	var ee *ExceptionError
	if errors.As(err, &ee) {
		return OutcomeException
	}
	var named interface{ IOOutcome() string }
	if errors.As(err, &named) {
		for i, n := range outcomeNames {
			if n == named.IOOutcome() {
				return Outcome(i)
			}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return OutcomeTimeout
	}
	if errors.Is(err, context.Canceled) {
		return OutcomeCancelled
	}
	return OutcomeLinkDown
}
