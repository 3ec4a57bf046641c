package eeprom

import (
	"errors"
	"time"
)

// Bus is an I2C bus as a driver sees it, in the periph.io shape: one
// transaction addresses a 7-bit device, writes w, then (after a repeated
// start, or a stop and a start on adapters without combined transfers)
// reads len(r) bytes into r. A driver operates on a Bus; it never owns it.
type Bus interface {
	// Tx performs one transaction. It returns an error wrapping ErrNAK when
	// the device did not acknowledge its address or a byte.
	Tx(addr uint16, w, r []byte) error
	// String names the bus for error messages ("/dev/i2c-5", "sim").
	String() string
}

// Clock is an optional interface a Bus implements when it keeps its own
// notion of time (the simulator's virtual clock). The Chip then measures
// its ACK-polling deadline on that clock instead of the wall clock, so a
// simulated write cycle ends after simulated, not real, time.
type Clock interface {
	// Elapsed returns the time since the bus was created.
	Elapsed() time.Duration
}

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNAK reports that a device did not acknowledge: it is absent, at
	// another address, or busy with an internal write cycle.
	ErrNAK = errors.New("no acknowledge")
	// ErrPowerCut reports that the simulated part lost power.
	ErrPowerCut = errors.New("power cut")
	// ErrTimeout reports that a device stayed busy past the ACK-polling
	// deadline after a page write.
	ErrTimeout = errors.New("write cycle did not complete before the deadline")
	// ErrRange reports an access outside the part's memory.
	ErrRange = errors.New("address out of range")
)
