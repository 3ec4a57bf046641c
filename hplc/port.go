package hplc

import (
	"fmt"
	"io"

	"go.bug.st/serial"
)

// Port is the serial line to the module: a blocking Read that Close
// interrupts. go.bug.st/serial ports satisfy it. Whoever opens a Port
// closes it: a Module handed one never does.
type Port interface {
	io.Reader
	io.Writer
	io.Closer
}

// DefaultBaud is the usual 1376.2 line speed (8 data bits, even parity, 1 stop bit).
const DefaultBaud = 9600

// OpenSerial opens the module's serial port at baud, 8E1 as 1376.2 requires.
func OpenSerial(path string, baud int) (Port, error) {
	if baud <= 0 {
		baud = DefaultBaud
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("hplc: open serial %s at %d baud: %w (is the device present and the user in group dialout?)", path, baud, err)
	}
	return p, nil
}
