// Package hooks tells the terminal's other apps about power events: it
// runs a configured program once per event ([hooks] exec: `program EVENT`
// with the event as one JSON object on stdin) and publishes the same
// events as retained JSON messages to an MQTT broker ([hooks.mqtt], one
// topic per event kind, so the broker keeps the latest event of each
// kind), with paho.mqtt.golang.
//
// The events are the Kind constants: power-fail (the edge), outage-confirmed,
// blip, budget-low, shutdown, power-restored, recovery-complete and alarm.
// The daemon decides when each happens and calls Hooks.Emit; this package
// only delivers.
//
// Delivery never holds up the caller: Emit numbers the event and puts it
// into one bounded queue per sink (the program, the broker), each drained
// by its own goroutine in event order, one delivery at a time. A full
// queue drops its OLDEST event and counts it: the newest events say what
// the terminal is doing now (a shutdown, a return of mains), while an old
// one delivered late would say something no longer true; the next event
// delivered carries how many were dropped before it (Event.Dropped), and
// Event.Seq shows the gap. A hanging program is killed with its whole
// process group at Config.Timeout; failures (spawn error, exit status,
// timeout) are logged and counted (Stats), never retried. A broker that is
// away is reconnected to in the background while the queue holds (and
// drops) the events; the client's last will marks StateTopic "offline".
//
// The package imports no other holdup package, never blocks its caller,
// and must never hand the program anything of the daemon's environment
// (it gets PATH, HOLDUP_EVENT and HOLDUP_SEQ only).
package hooks
