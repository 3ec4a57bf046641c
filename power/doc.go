// Package power owns power sensing and the outage lifecycle: the power-fail
// GPIO line (go-gpiocdev and a simulator), confirmation by the three phase
// voltages, the hold-up budget, and the Normal → Outage → Recovering → Normal
// state machine that drives protection on loss and recovery on return.
//
// It imports no other holdup package: it talks to the scheduler, the journal,
// the data store and the uplink through small interfaces it defines (Gate,
// Journal, Uplink, Modules, Reinitializer, Resumer, Recoverer, OutageLog,
// Voltmeter, Flusher, Shutdowner, Alarmer), and the daemon package wires the
// real implementations.
//
// # Data flow
//
// The power-fail line calls Monitor.Edge from its event goroutine. On a loss
// edge Edge gates mains-only IO at once (the optimistic shed, well under a
// millisecond) and wakes the monitor goroutine, which owns all other state:
// it waits for the line to settle (software debounce on top of the kernel's),
// reads the phase voltages with a timeout, and either un-gates (a blip) or
// enters the outage: outage-begin journaled, outage reported and repeated,
// strong-power devices gated, modules switched to invalid values, the
// scheduler's outage rule in force, hold-up budget running until the final
// flush. The budget is the configured hold-up time, or less when the
// supercap readings say so (a fit of V² over the recent samples, or one
// reading with the capacitor's parameters: Capacitor). At the final flush
// the end of the hold-up window acts, each step only while the mains is
// still lost: Flusher (collection stopped, pending critical records
// journaled), Shutdowner.Prepare (data store closed, file systems synced),
// Shutdowner.Shutdown (the shutdown command); a return cancels what has not
// run, and the next recovery starts with Shutdowner.Undo. ChargeWait holds
// start-up's collection back until the capacitor has charged (the daemon
// runs it; a cold start's replay does not wait). On return it confirms,
// journals the end, reports the restore and runs the recovery steps (re-initialise
// interfaces, resume IO, replay the journal, completion log) in a worker it
// can stop at a safe point when power fails again. At start-up an outage
// without an end in the journal means the capacitor ran out: a cold start
// reports the end and replays the same way.
//
// Every step that happened lands on the Timeline, numbered as the method
// numbers it ("1-1 outage reported to the master station", "2-3 interfaces
// re-initialised"; "1-0"/"2-0" detection, "--" bookkeeping: see Step).
//
// # Must never
//
//   - poll the power-fail line: edges come from the kernel via go-gpiocdev;
//   - block or allocate in Monitor.Edge, or wait for the monitor goroutine
//     before gating;
//   - un-gate while the line's latest state says mains is lost, unless the
//     phase voltages overruled that very state;
//   - take a garbage voltmeter reading as mains present;
//   - replay or consume the journal itself: Recoverer does that, verified
//     and idempotent.
package power
