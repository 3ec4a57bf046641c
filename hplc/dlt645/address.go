package dlt645

import (
	"encoding/hex"
	"fmt"
)

// Address is a meter address in wire order: Address[0] is the lowest byte,
// the first one transmitted. String prints it the way it is written on the
// meter's nameplate (highest byte first).
type Address [6]byte

// BroadcastAddress (999999999999) addresses every meter on the bus.
var BroadcastAddress = Address{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}

// WildcardAddress (AAAAAAAAAAAA) matches any meter; it is the address of the
// broadcast read-address request.
var WildcardAddress = Address{0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}

// ParseAddress parses 12 hexadecimal digits written highest byte first,
// as printed on the meter ("100023669245").
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) != 12 {
		return a, fmt.Errorf("dlt645: address %q: want 12 digits, got %d", s, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return a, fmt.Errorf("dlt645: address %q: %w", s, err)
	}
	for i := range a {
		a[i] = b[5-i]
	}
	return a, nil
}

// String returns the address highest byte first.
func (a Address) String() string {
	var r [6]byte
	for i := range a {
		r[i] = a[5-i]
	}
	return fmt.Sprintf("%X", r[:])
}

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
