package sched

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class orders IO: control is always served before collection.
type Class uint8

// Classes.
const (
	Control Class = iota
	Collection
)

// String names the class as the configuration does.
func (c Class) String() string {
	if c == Control {
		return "control"
	}
	return "collection"
}

// Integrity says whether the protocol carries a checksum the application
// verifies; checked data is served before unchecked, and only unchecked
// collection is dropped during an outage.
type Integrity uint8

// Integrity values.
const (
	Checked Integrity = iota
	Unchecked
)

// String names the integrity as the configuration does.
func (i Integrity) String() string {
	if i == Checked {
		return "checked"
	}
	return "unchecked"
}

// Outcome classifies one exchange for the error-rate watch.
type Outcome uint8

// Outcomes. Exceptions are answers, not link errors; every other non-OK
// outcome counts against the interface.
const (
	OK Outcome = iota
	Timeout
	LengthMismatch
	ChecksumMismatch
	Exception
	LinkDown
	// Other is an error that carries no outcome of its own.
	Other
	// Cancelled: the exchange was called off before anything was sent.
	Cancelled
)

var outcomeNames = [...]string{"ok", "timeout", "length-mismatch", "checksum-mismatch", "exception", "link-down", "other", "cancelled"}

// String returns the outcome's name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// countsAsError reports whether the outcome counts against the interface.
func (o Outcome) countsAsError() bool { return o != OK && o != Exception && o != Cancelled }

// outcomer is implemented by driver errors that know their outcome; the
// method returns one of the Outcome names ("timeout", "link-down", ...).
type outcomer interface{ IOOutcome() string }

// Classify returns the outcome of an exchange that ended with err. Driver
// errors name their outcome through an IOOutcome() string method (found
// with errors.As); a context deadline is a timeout; anything else is Other.
func Classify(err error) Outcome {
	if err == nil {
		return OK
	}
	var oc outcomer
	if errors.As(err, &oc) {
		name := oc.IOOutcome()
		for i, n := range outcomeNames {
			if n == name {
				return Outcome(i)
			}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	if errors.Is(err, context.Canceled) {
		return Cancelled
	}
	return Other
}

// Result is what one exchange returns.
type Result struct {
	// Value is the reading (collection) or the value written (control).
	Value float64
	// Raw is the protocol data, kept for the journal.
	Raw []byte
	// ChecksumKind names the checksum that verified the data ("" when
	// none), Checksum is its value.
	ChecksumKind string
	Checksum     uint32
}

// Op is one IO exchange that knows how to run itself. The scheduler runs
// it on the owner goroutine of the device's interface, one at a time.
type Op struct {
	// Device names a configured device; Point the datum within it.
	Device string
	Point  string
	// Class and Integrity set the priority (see the package comment).
	Class     Class
	Integrity Integrity
	// Deadline orders ops within a class: earlier first; zero is last.
	Deadline time.Time
	// Business is the business type recorded in the journal.
	Business string
	// Attrs are extra attributes recorded in the journal.
	Attrs map[string]string
	// Durable: when the op completes during an outage and its critical
	// record goes to the Journal, Do returns only once the Journal's
	// Append has returned for it, and fails with ErrNotJournaled if that
	// Append failed (the op itself ran: its Result is returned with the
	// error). The owner goroutine never waits for it; an op that failed
	// returns its own error at once. Control from the master station sets
	// it so that "success" means done and, in an outage, stored. Ops not
	// journaled (outside an outage, unchecked collection) are unaffected.
	Durable bool
	// Run performs the exchange. Its error's outcome is found by Classify.
	// For a device that is gated in an outage, ctx is cancelled by
	// GateMainsOnly: a driver that has not yet sent its request must not
	// send it (the devices drivers check right before writing, including
	// during the RTU t3.5 wait).
	Run func(ctx context.Context) (Result, error)
}

// Reading is a value reported northbound. It carries Invalid (698 NULL)
// and a zero Value, never the last good value, while there is no current
// one: during an outage for a point whose collection stopped (gated device,
// unchecked data), after its latest collection failed (timeout, checksum,
// exception, path closed, device disabled …) and while its interface is
// closed by the error-rate watch.
type Reading struct {
	Device  string
	Point   string
	Value   float64
	Invalid bool
	Time    time.Time
}

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrGated: the device's IO is stopped for the outage (mains-only or
	// over the draw threshold); its queue was drained and closed.
	ErrGated = errors.New("sched: device gated for power outage")
	// ErrDropped: unchecked collection is dropped during an outage.
	ErrDropped = errors.New("sched: unchecked collection dropped during outage")
	// ErrSilent: the device failed while others on its interface answered;
	// its ops fail at once until a probe exchange gets an answer (or the
	// interface is re-initialised).
	ErrSilent = errors.New("sched: device silenced: it does not answer while others on its interface do")
	// ErrPathClosed: the interface was closed by the error-rate watch or a
	// link failure; Reinit re-opens it.
	ErrPathClosed = errors.New("sched: IO path closed")
	// ErrAwaitingReinit: power is back but the device's interface has not
	// been re-initialised yet.
	ErrAwaitingReinit = errors.New("sched: interface awaiting re-initialisation")
	// ErrDisabled: the operator disabled the device (SetEnabled); no IO
	// reaches it until it is enabled again.
	ErrDisabled = errors.New("sched: device disabled by the operator")
	// ErrUnknownDevice: the op names no configured device.
	ErrUnknownDevice = errors.New("sched: unknown device")
	// ErrUnknownInterface: no configured device uses the interface.
	ErrUnknownInterface = errors.New("sched: unknown interface")
	// ErrStopped: the scheduler is shutting down.
	ErrStopped = errors.New("sched: scheduler stopped")
	// ErrNotJournaled: a Durable op ran during an outage but the Journal
	// could not store its critical record (full, or the write failed);
	// the error also wraps the Journal's.
	ErrNotJournaled = errors.New("sched: op done but its critical record could not be journaled")
)
