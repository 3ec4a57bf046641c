// Package power owns power sensing and the outage lifecycle: the power-fail
// GPIO line (go-gpiocdev and a simulator), confirmation by the three phase
// voltages, the hold-up budget, and the Normal → Outage → Recovering → Normal
// state machine that drives protection on loss and recovery on return.
//
// It imports no other holdup package: it talks to the scheduler, the journal,
// the data store and the uplink through small interfaces it defines.
package power
