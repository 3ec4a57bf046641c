package devices

import (
	"fmt"
	"strings"

	"go.bug.st/serial"
)

// SerialConfig is a serial line's settings: every serial port of the
// terminal (field buses, the AC-sampling unit, the HPLC module, the
// console) is opened from one, by OpenSerial or a simulator's opener of the
// same shape.
type SerialConfig struct {
	// Path is the device, e.g. "/dev/ttyS2".
	Path string
	// Baud is the line speed; 0 means 9600.
	Baud int
	// DataBits is 5..8; 0 means 8.
	DataBits int
	// Parity is "N", "E" or "O" (either case); "" means none.
	Parity string
	// StopBits is 1 or 2; 0 means 1.
	StopBits int
}

// String renders the settings the usual way: "/dev/ttyS2 9600 8E1".
func (c SerialConfig) String() string {
	c = c.withDefaults()
	return fmt.Sprintf("%s %d %d%s%d", c.Path, c.Baud, c.DataBits, c.Parity, c.StopBits)
}

// CharBits is the bits one character takes on the line: start bit, data
// bits, parity bit (unless none) and stop bits.
func (c SerialConfig) CharBits() int {
	c = c.withDefaults()
	n := 1 + c.DataBits + c.StopBits
	if c.Parity != "N" {
		n++
	}
	return n
}

func (c SerialConfig) withDefaults() SerialConfig {
	if c.Baud <= 0 {
		c.Baud = 9600
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	c.Parity = strings.ToUpper(c.Parity)
	if c.Parity == "" {
		c.Parity = "N"
	}
	return c
}

// SerialConfig returns the line a serial device's port is set to.
func (d Device) SerialConfig() SerialConfig {
	return SerialConfig{Path: d.Port, Baud: d.Baud, DataBits: d.DataBits, Parity: d.Parity, StopBits: d.StopBits}
}

// OpenSerial opens a serial port through go.bug.st/serial with the line
// settings of c; the caller closes it. Settings the line cannot take are
// refused before the port is touched; a port that cannot be opened is
// ErrLinkDown.
func OpenSerial(c SerialConfig) (SerialPort, error) {
	c = c.withDefaults()
	mode := &serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits, StopBits: serial.OneStopBit}
	switch c.Parity {
	case "N":
		mode.Parity = serial.NoParity
	case "E":
		mode.Parity = serial.EvenParity
	case "O":
		mode.Parity = serial.OddParity
	default:
		return nil, fmt.Errorf("devices: serial %s: parity %q: want N, E or O", c.Path, c.Parity)
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		return nil, fmt.Errorf("devices: serial %s: %d data bits: want 5..8", c.Path, c.DataBits)
	}
	switch c.StopBits {
	case 1:
	case 2:
		mode.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("devices: serial %s: %d stop bits: want 1 or 2", c.Path, c.StopBits)
	}
	p, err := serial.Open(c.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrLinkDown, c, err)
	}
	return p, nil
}
