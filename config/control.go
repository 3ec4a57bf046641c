package config

// The master station's control, bounded: how many control requests (SET
// of a control point) the terminal takes per second ([uplink]
// control_rate, control_burst). Requests beyond it are refused with
// "temporarily unavailable" before they reach the scheduler, so a flood
// cannot fill the IO queues or the journal.

// Control rate defaults: a terminal's master switches a few outputs at a
// time, seconds apart.
const (
	DefaultControlRate  = 2.0
	DefaultControlBurst = 8
)

// readUplinkControl reads the control rate keys of [uplink].
func readUplinkControl(t *table, u *Uplink) {
	rate, ok := t.number("control_rate", DefaultControlRate)
	if ok && (rate < 0.01 || rate > 1000) {
		t.errf("control_rate", "must be between 0.01 and 1000 control requests per second (got %v)", rate)
	}
	u.ControlRate = rate
	u.ControlBurst = int(t.integer("control_burst", DefaultControlBurst, 1, 1000))
}
