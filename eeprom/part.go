package eeprom

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Part describes one EEPROM part number: its geometry and timing.
type Part struct {
	// Name is the lower-case part name used in configuration ("at24c256").
	Name string
	// Size is the memory size in bytes.
	Size int
	// PageSize is the page-write buffer size in bytes: a write must not
	// cross a page boundary (the part would roll over inside the page).
	PageSize int
	// AddrBytes is the number of memory-address bytes sent after the
	// device address.
	AddrBytes int
	// FoldedBits is the number of high memory-address bits carried in the
	// low bits of the 7-bit device address (AT24CM01: 1, M24M02: 2).
	FoldedBits int
	// WriteCycle is tWR, the datasheet's maximum self-timed write cycle.
	WriteCycle time.Duration
}

// Pages returns the number of pages.
func (p Part) Pages() int { return p.Size / p.PageSize }

// BlockSize returns the span of memory addressed by one device address:
// the memory-address bytes cover this much, the folded bits select the block.
func (p Part) BlockSize() int { return 1 << (8 * p.AddrBytes) }

// Parts is the part table. tWR values are the datasheets' maxima: the
// original Atmel AT24C32/64 state 10 ms (later D/E revisions 5 ms; the
// conservative figure is used), AT24C128C/256C/512C and AT24CM01 5 ms,
// ST M24M02-DR 10 ms.
var parts = []Part{
	{Name: "at24c32", Size: 4 << 10, PageSize: 32, AddrBytes: 2, WriteCycle: 10 * time.Millisecond},
	{Name: "at24c64", Size: 8 << 10, PageSize: 32, AddrBytes: 2, WriteCycle: 10 * time.Millisecond},
	{Name: "at24c128", Size: 16 << 10, PageSize: 64, AddrBytes: 2, WriteCycle: 5 * time.Millisecond},
	{Name: "at24c256", Size: 32 << 10, PageSize: 64, AddrBytes: 2, WriteCycle: 5 * time.Millisecond},
	{Name: "at24c512", Size: 64 << 10, PageSize: 128, AddrBytes: 2, WriteCycle: 5 * time.Millisecond},
	{Name: "at24cm01", Size: 128 << 10, PageSize: 256, AddrBytes: 2, FoldedBits: 1, WriteCycle: 5 * time.Millisecond},
	{Name: "m24m02", Size: 256 << 10, PageSize: 256, AddrBytes: 2, FoldedBits: 2, WriteCycle: 10 * time.Millisecond},
}

// Parts returns a copy of the part table, smallest first.
func Parts() []Part {
	out := make([]Part, len(parts))
	copy(out, parts)
	return out
}

// LookupPart returns the part with the given name (case-insensitive).
func LookupPart(name string) (Part, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range parts {
		if p.Name == n {
			return p, nil
		}
	}
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.Name
	}
	sort.Strings(names)
	return Part{}, fmt.Errorf("eeprom: unknown part %q (known: %s)", name, strings.Join(names, ", "))
}
