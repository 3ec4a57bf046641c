// Package console is holdup's operator console: a line-oriented command
// interpreter on any io.ReadWriter — a serial port in the field, stdio in
// development.
//
// It owns the session (login, lockout, idle timeout), line input (bounded
// length, non-printable bytes rejected, echo and backspace for a raw serial
// line), the commands and their 80-column output. It owns no daemon state:
// every figure comes through the State interface and every change goes
// through Actions, both implemented by the daemon (daemon/console.go). It
// imports no other holdup package.
//
// Before login only help and login run; every other command, known or
// not, answers "error: CMD: log in first (login)", so the console shows
// nothing of the daemon (addresses, live values, logs) to whoever is on the
// line. Without console.password_hash login is disabled and so is every
// command but help.
//
// Commands after login (output at most 80 columns, printable ASCII):
//
//	help                         list the commands
//	status                       power state, hold-up estimate, journal use, alarms
//	outages [N]                  the last N outages (default 10, at most 100)
//	journal stats                EEPROM journal geometry and use
//	journal tail [N]             the last N journal records (default 10)
//	journal consume            * replay what the journal holds into the data
//	                               store, then consume it (nothing is dropped
//	                               before the data store has it)
//	devices                      devices, state, draw, error rate, last success
//	device enable|disable NAME * enable or disable a device
//	points [DEVICE]              every point's live value ("invalid" when it
//	                               has none) beside what the master station
//	                               reads for it (NULL during an outage unless
//	                               the point keeps its live value) and its
//	                               uplink OAD
//	history [DEVICE] [N]         the last N records of the data store (default
//	                               10, at most 200), of DEVICE or of all: the
//	                               journal's records replayed after outages,
//	                               by the time each datum was taken
//	sched                        queues, gated devices, error rates
//	log [N]                      the last N log lines (default 20)
//	config                       the configuration in effect
//	power simulate-loss        * cut simulated mains (sim mode only)
//	power simulate-restore     * restore simulated mains (sim mode only)
//	login, logout
//
// Commands marked * change state. Login takes the password whose bcrypt
// hash is console.password_hash in the config (HashPassword and HashPW make
// one); an idle login ends after the session timeout.
//
// Lockout: after LockoutFailures failed logins in a row login is locked for
// LockoutPeriod, and each further failure locks it for twice as long as the
// one before, up to LockoutMax (16 periods); a successful login resets it.
// A lock never outlasts LockoutMax from now, whatever the clock did. With
// Options.StatePath the failure count and the end of the lock are kept in a
// small state file (written atomically: a temporary file, rename, directory
// sync) and read at start, so a restart does not lift a lock; a state file
// that cannot be read is logged and locks login for one LockoutPeriod. Every
// attempt counts as a failure, in the file, before the password is checked
// (a success undoes it), and each change re-reads the file under a flock,
// so neither a crash nor a second Console on the same file gets an attempt
// past the lockout.
//
// The console must never show the daemon's state to a session that has not
// logged in, and never lock login for longer than LockoutMax.
package console
