package hplc

import (
	"fmt"

	"github.com/warthog618/go-gpiocdev"
)

// ResetLine drives the module's reset input: SetValue(1) holds the module in
// reset, SetValue(0) releases it. A *gpiocdev.Line requested by OpenResetLine
// satisfies it; SimResetLine drives the simulator.
type ResetLine interface {
	SetValue(value int) error
}

// OpenResetLine requests a GPIO output for the module reset, released
// (logical 0) initially. With activeLow the physical level is inverted, so
// SetValue(1) still means "hold in reset". Close the returned line when done.
func OpenResetLine(chip string, offset int, activeLow bool) (*gpiocdev.Line, error) {
	opts := []gpiocdev.LineReqOption{gpiocdev.AsOutput(0), gpiocdev.WithConsumer("holdup-hplc-reset")}
	if activeLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	l, err := gpiocdev.RequestLine(chip, offset, opts...)
	if err != nil {
		return nil, fmt.Errorf("hplc: request reset line %s:%d: %w", chip, offset, err)
	}
	return l, nil
}
