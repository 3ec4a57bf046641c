package sched

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// CriticalRecord is a control action or a checked collection datum taken
// during an outage, handed to the journal so it survives the power loss.
type CriticalRecord struct {
	// Business is the op's business type.
	Business string
	// Interface is the physical IO interface the exchange ran on.
	Interface string
	Device    string
	Point     string
	Class     Class
	Integrity Integrity
	// Attrs are the op's extra attributes.
	Attrs map[string]string
	// Time is when the exchange completed.
	Time time.Time
	// ChecksumKind and Checksum are the protocol checksum that verified
	// the data ("" and 0 when the protocol carries none).
	ChecksumKind string
	Checksum     uint32
	// Value is the reading or the value written; Raw the protocol data.
	Value float64
	Raw   []byte
	// Invalid marks a control action that did not complete (Err says
	// why); its Value is what was attempted.
	Invalid bool
	Err     string
}

// Journal stores critical records durably (the store package implements
// it on the EEPROM journal). Append is called from one goroutine; a nil
// error must mean the record is durable (for a Durable op, Do reports
// success on it).
type Journal interface {
	Append(ctx context.Context, rec CriticalRecord) error
}

// JournalAdmitter is implemented by a Journal that can tell, without
// writing, whether it would take a record now (the store's
// Journal.Admits: the same reserve rule as Append). When the configured
// Journal implements it, a Durable control op during an outage runs only
// if the journal admits its record first (see ErrJournalFull).
//
// The record asked about is the op's as far as it is known before the
// exchange: Time is now, Value, Raw, ChecksumKind and Checksum are zero;
// an implementation must assume the largest encoding they can take.
type JournalAdmitter interface {
	Admits(ctx context.Context, rec CriticalRecord) error
}

// ErrJournalFull: a Durable control op during an outage was not run
// because the journal would not take its record (full, or what is left is
// reserved for the outage records); nothing was sent to the device. The
// error also wraps the journal's.
var ErrJournalFull = errors.New("sched: control not run: the journal cannot take its record")

// journalItem is a critical record on its way to the journal writer, with
// the channel (capacity 1, or nil) that tells a Durable op's Do the
// outcome of its Append. With admit set it is not a record but the
// question whether admit would take rec, answered on ack (never nil then).
type journalItem struct {
	rec   CriticalRecord
	ack   chan error
	admit JournalAdmitter
}

// appendTimeout bounds each Append. Appends do not inherit the
// scheduler's cancellation: a record taken is written even while the
// scheduler stops.
const appendTimeout = 2 * time.Second

// runJournal writes records to j until in is closed (after the owners
// stopped, so no record taken is left behind). It does no IO itself: the
// journal's own writer thread programs the EEPROM (i2c-dev, which the
// kernel's IO priorities do not schedule).
//
// The outcome of each Append goes to the item's ack channel, if any
// (buffered: never blocks), after the Append returned. An admission
// question (journalItem.admit) is answered in its turn: after every
// record handed over before it is appended.
func runJournal(ctx context.Context, j Journal, in <-chan journalItem, log *slog.Logger) {
	for it := range in {
		rec := it.rec
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
		if it.admit != nil {
			it.ack <- it.admit.Admits(actx, rec)
			cancel()
			continue
		}
		err := j.Append(actx, rec)
		cancel()
		if err != nil {
			log.Error("journal append failed: critical record lost", "device", rec.Device, "point", rec.Point, "business", rec.Business, "err", err)
		}
		if it.ack != nil {
			it.ack <- err
		}
	}
}
