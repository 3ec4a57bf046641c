package hplc

import "io"

// Port is the serial line to the module (8E1 as 1376.2 requires, at
// DefaultBaud unless configured faster): a blocking Read that Close
// interrupts. go.bug.st/serial ports satisfy it; the daemon opens them with
// devices.OpenSerial. Whoever opens a Port closes it: a Module handed one
// never does.
type Port interface {
	io.Reader
	io.Writer
	io.Closer
}

// DefaultBaud is the usual 1376.2 line speed (8 data bits, even parity, 1 stop bit).
const DefaultBaud = 9600
