package proto698

import (
	"encoding/hex"
	"fmt"
)

// AddrType is the server-address type in bits 6–7 of the address flag (AF).
type AddrType uint8

// Server-address types.
const (
	AddrSingle    AddrType = 0 // single address
	AddrWildcard  AddrType = 1 // wildcard address (0xA nibbles match anything)
	AddrGroup     AddrType = 2 // group address
	AddrBroadcast AddrType = 3 // broadcast address
)

// String implements fmt.Stringer.
func (t AddrType) String() string {
	switch t {
	case AddrSingle:
		return "single"
	case AddrWildcard:
		return "wildcard"
	case AddrGroup:
		return "group"
	default:
		return "broadcast"
	}
}

// MaxAddrLen is the longest server address (SA) the AF length nibble allows.
const MaxAddrLen = 16

// ServerAddress is the frame's address field: the AF byte's type, logical
// address and extended-logical-address flag plus the server address SA.
//
// Addr holds SA in natural (printed) order, most significant byte first; on
// the wire DL/T 698.45 sends it reversed (low byte first). With the extended
// logical address flag (AF bit 5, DL/T 698.45-2017) the first SA byte on the
// wire is the extended logical address and the AF length nibble counts it.
type ServerAddress struct {
	Type       AddrType
	Logical    uint8 // AF bit 4: logical address 0 or 1
	Extended   bool  // AF bit 5: an extended logical address byte is present
	ExtLogical uint8 // extended logical address (valid when Extended)
	Len        uint8 // number of SA bytes in Addr (excluding ExtLogical)
	Addr       [MaxAddrLen]byte
}

// NewAddress returns a single-type server address for the given SA bytes in
// natural order (as printed, e.g. 00 00 00 00 03 22 for "000000000322").
func NewAddress(t AddrType, sa []byte) (ServerAddress, error) {
	var a ServerAddress
	if len(sa) == 0 || len(sa) > MaxAddrLen {
		return a, fmt.Errorf("proto698: server address length %d: %w (want 1..%d)", len(sa), ErrInvalid, MaxAddrLen)
	}
	a.Type = t & 3
	a.Len = uint8(len(sa))
	copy(a.Addr[:], sa)
	return a, nil
}

// ParseAddress parses a server address written as hex digits in natural order
// ("000000000322"). The type is single unless the text contains 'A'/'a'
// nibbles only where wildcards are intended — callers choose the type.
func ParseAddress(t AddrType, s string) (ServerAddress, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return ServerAddress{}, fmt.Errorf("proto698: server address %q: %w", s, err)
	}
	return NewAddress(t, b)
}

// Bytes returns SA in natural order (a slice of the receiver's copy).
func (a *ServerAddress) Bytes() []byte { return a.Addr[:a.Len] }

// String returns SA as hex in natural order.
func (a ServerAddress) String() string { return fmt.Sprintf("%X", a.Addr[:a.Len]) }

// wireLen is the number of bytes the address occupies after AF.
func (a *ServerAddress) wireLen() int {
	n := int(a.Len)
	if a.Extended {
		n++
	}
	return n
}

// af returns the address flag byte.
func (a *ServerAddress) af() (byte, error) {
	n := a.wireLen()
	if n < 1 || n > MaxAddrLen {
		return 0, fmt.Errorf("proto698: server address length %d: %w (1..16 bytes incl. extended logical address)", n, ErrInvalid)
	}
	b := byte(a.Type&3)<<6 | byte(n-1)
	if a.Logical&1 != 0 {
		b |= 0x10
	}
	if a.Extended {
		b |= 0x20
	}
	return b, nil
}

// Equal reports whether two addresses are the same (type, logical, SA).
func (a ServerAddress) Equal(b ServerAddress) bool {
	return a.Type == b.Type && a.Logical == b.Logical && a.Extended == b.Extended &&
		(!a.Extended || a.ExtLogical == b.ExtLogical) && a.Len == b.Len &&
		a.Addr == b.Addr
}

// Matches reports whether a frame addressed to a (the request's SA) is meant
// for a server whose own address is own: broadcast matches everyone, a
// wildcard matches when every non-0xA nibble agrees, single and group need
// equality of the SA bytes.
func (a ServerAddress) Matches(own ServerAddress) bool {
	switch a.Type {
	case AddrBroadcast:
		return true
	case AddrWildcard:
		if a.Len != own.Len {
			return false
		}
		for i := 0; i < int(a.Len); i++ {
			x, y := a.Addr[i], own.Addr[i]
			if x>>4 != 0xA && x>>4 != y>>4 {
				return false
			}
			if x&0xF != 0xA && x&0xF != y&0xF {
				return false
			}
		}
		return true
	default:
		return a.Len == own.Len && a.Addr == own.Addr && a.Logical == own.Logical
	}
}
