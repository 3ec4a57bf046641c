package power

import (
	"errors"
	"time"
)

// Mains is the state of the mains supply as the power-fail line reports it.
type Mains uint32

const (
	// MainsUnknown is the zero value: no reading yet.
	MainsUnknown Mains = iota
	// MainsPresent means the power-fail signal is not asserted.
	MainsPresent
	// MainsLost means the power-fail signal is asserted: the supply is
	// running on the hold-up capacitor.
	MainsLost
)

// String names the state for logs and the timeline.
func (s Mains) String() string {
	switch s {
	case MainsPresent:
		return "present"
	case MainsLost:
		return "lost"
	default:
		return "unknown"
	}
}

// Event is one edge of the power-fail line.
type Event struct {
	// Mains is the state after the edge.
	Mains Mains
	// Stamp is the source's own timestamp of the edge: the kernel's
	// CLOCK_MONOTONIC reading for a GPIO line, the clock's time since the
	// line was opened for a SimLine. Only differences are meaningful.
	Stamp time.Duration
	// Seq numbers the edges of the line from 1; a gap means the source
	// dropped edges (kernel event buffer overflow).
	Seq uint32
}

// EdgeHandler receives the edges of a Line. It is called from the line's
// own goroutine (the gpiocdev watcher) or from the caller of SimLine.Set,
// one call at a time, and must return quickly.
type EdgeHandler func(Event)

// Line is the power-fail input. Edges go to the EdgeHandler given when the
// line was opened; Value reads the current state.
type Line interface {
	// Value returns the current state of the line.
	Value() (Mains, error)
	// Close releases the line. No handler call is running or starts
	// after Close returns. Close must not be called from the handler.
	Close() error
}

// ErrLineUnavailable is returned (wrapped, with chip and offset named) when
// the power-fail line cannot be requested: missing chip, bad offset or
// name, line busy, or a platform without GPIO character devices.
var ErrLineUnavailable = errors.New("power-fail line unavailable")

// ErrClosed is returned by a Line used after Close.
var ErrClosed = errors.New("power-fail line closed")
