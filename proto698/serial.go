package proto698

import (
	"fmt"

	"go.bug.st/serial"
)

// SerialConfig describes the serial line to the AC-sampling unit.
type SerialConfig struct {
	Path string // device, e.g. /dev/ttyS2
	Baud int    // 0 means 9600
	// Parity is "E" (even, the usual DL/T 698.45 RS-485 setting), "N" or
	// "O"; empty means "E".
	Parity string
}

// OpenSerial opens the line 8 data bits, 1 stop bit, with the configured
// parity. The returned port satisfies Port; the caller closes it.
func OpenSerial(cfg SerialConfig) (serial.Port, error) {
	mode := &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, StopBits: serial.OneStopBit, Parity: serial.EvenParity}
	if mode.BaudRate <= 0 {
		mode.BaudRate = 9600
	}
	switch cfg.Parity {
	case "", "E", "e":
	case "N", "n":
		mode.Parity = serial.NoParity
	case "O", "o":
		mode.Parity = serial.OddParity
	default:
		return nil, fmt.Errorf("proto698: serial %s: parity %q: %w (want E, N or O)", cfg.Path, cfg.Parity, ErrInvalid)
	}
	p, err := serial.Open(cfg.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("proto698: open serial %s at %d baud: %w", cfg.Path, mode.BaudRate, err)
	}
	return p, nil
}
