// Package sched owns the priority IO scheduler: one owner goroutine per
// physical interface, control before collection, checked before unchecked,
// power gating of mains-only and high-draw devices during an outage, the
// per-interface error-rate watch, and invalid-value marking.
//
// Order: an interface's owner always runs next the queued op that sorts
// first by class (control, then collection), integrity (checked, then
// unchecked) and deadline (earlier first, none last), then arrival. An
// exchange on the wire is never interrupted, so a control op waits at most
// for the one exchange in progress.
//
// Power: GateMainsOnly is called from the power-fail edge; it is one
// atomic update plus a non-blocking wake of each owner. Every dispatch
// checks that state first, so from its return no new exchange reaches a
// gated device. During the outage unchecked collection is
// dropped and counted, checked collection runs at the outage rate, control
// keeps first place, and control actions and checked data are handed to
// the Journal. Restore ends the outage; gated devices run again only after
// Reinit of their interface.
//
// Durability: the owner hands each critical record to the journal writer
// and goes on; it never waits for the EEPROM. An op marked Durable (the
// master station's control) waits in Do instead, after the exchange, for
// the Journal's Append of its record: success means the op ran and, in an
// outage, its record is stored; a record the Journal refused or failed to
// write makes the op's result ErrNotJournaled.
//
// Error-rate watch: a sliding window of exchange outcomes per interface
// closes the path at ErrorThreshold, or at once on a link failure, with an
// alarm; Reinit re-opens it. When every error in the window came from one
// device while another on the interface answered, the line works and that
// device does not: it alone is silenced (ErrSilent at once, no bus time),
// probed after a back-off that doubles, and back on the first answer.
//
// The package imports no other holdup package: IO arrives as Op values
// that run themselves, and driver errors name their outcome through an
// IOOutcome() string method (see Classify). It never performs IO itself
// and never blocks the power-fail path.
package sched
