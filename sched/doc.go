// Package sched owns the priority IO scheduler: one owner goroutine per
// physical interface, control before collection, checked before unchecked,
// power gating of mains-only and high-draw devices during an outage, the
// per-interface error-rate watch, and invalid-value marking.
package sched
