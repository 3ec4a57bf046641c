package config

// Part describes an EEPROM part: capacity, page size and how many I2C
// addresses it answers on. It must agree with the eeprom package's part
// table; the main package cross-checks the two at start-up.
type Part struct {
	Name     string
	Size     int // bytes
	PageSize int // bytes per page write
	// Addrs is how many consecutive 7-bit addresses the part occupies: the
	// high memory address bits replace low device-address bits (AT24CM01:
	// A16 → 2; M24M02: A17..A16 → 4). The base address must be aligned.
	Addrs int
}

var parts = []Part{
	{"at24c32", 4 << 10, 32, 1},
	{"at24c64", 8 << 10, 32, 1},
	{"at24c128", 16 << 10, 64, 1},
	{"at24c256", 32 << 10, 64, 1},
	{"at24c512", 64 << 10, 128, 1},
	{"at24cm01", 128 << 10, 256, 2},
	{"m24m02", 256 << 10, 256, 4},
}

// Parts returns the parts the configuration accepts.
func Parts() []Part { return append([]Part(nil), parts...) }

func lookupPart(name string) (Part, bool) {
	for _, p := range parts {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

func partNames() []string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = p.Name
	}
	return s
}
