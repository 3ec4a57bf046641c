//go:build !linux

package eeprom

import "errors"

// DevBus is a Bus on a Linux i2c-dev adapter; other systems have none.
type DevBus struct{}

// OpenDevBus reports that i2c-dev exists only on Linux.
func OpenDevBus(path string) (*DevBus, error) {
	return nil, errors.New("eeprom: i2c-dev buses exist only on Linux")
}

// String names the bus.
func (b *DevBus) String() string { return "i2c-dev" }

// Tx always fails.
func (b *DevBus) Tx(addr uint16, w, r []byte) error { return errors.New("eeprom: no i2c-dev") }

// Close does nothing.
func (b *DevBus) Close() error { return nil }
