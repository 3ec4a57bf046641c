package hplc

import "fmt"

// Addr is a 6-byte node address in wire order (lowest byte first); String
// prints it highest byte first, as written on the meter.
type Addr [6]byte

// ParseAddr parses 12 hexadecimal digits written highest byte first.
func ParseAddr(s string) (Addr, error) {
	var a Addr
	if len(s) != 12 {
		return a, fmt.Errorf("hplc: address %q: want 12 digits", s)
	}
	for i := range 6 {
		var v byte
		for _, c := range []byte(s[2*i : 2*i+2]) {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				return a, fmt.Errorf("hplc: address %q: %q is not a hex digit", s, c)
			}
			v = v<<4 | d
		}
		a[5-i] = v
	}
	return a, nil
}

// MustParseAddr is ParseAddr for constants; it panics on a bad literal.
func MustParseAddr(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String formats the value for logs and JSON.
func (a Addr) String() string {
	return fmt.Sprintf("%02X%02X%02X%02X%02X%02X", a[5], a[4], a[3], a[2], a[1], a[0])
}

// MarshalText implements encoding.TextMarshaler.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	v, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
