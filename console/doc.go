// Package console is holdup's operator console: a line-oriented command
// interpreter on any io.ReadWriter — a serial port in the field, stdio in
// development.
//
// It owns the session (login, lockout, idle timeout), line input (bounded
// length, non-printable bytes rejected, echo and backspace for a raw serial
// line), the commands and their 80-column output. It owns no daemon state:
// every figure comes through the State interface and every change goes
// through Actions, both implemented by the main package. It imports no
// other holdup package.
//
// Commands that change state (journal consume, device enable|disable,
// power simulate-loss|simulate-restore) need a login with the password
// whose bcrypt hash is in the config; HashPassword makes such a hash.
package console
