package dlt645

import (
	"encoding/binary"
	"fmt"
)

// DI is a data identifier DI3 DI2 DI1 DI0, written 0x02010100 for the
// A-phase voltage. It travels low byte (DI0) first.
type DI uint32

// DI values used by the terminal.
const (
	DIVoltageA     DI = 0x02010100
	DIVoltageB     DI = 0x02010200
	DIVoltageC     DI = 0x02010300
	DIVoltageBlock DI = 0x0201FF00
	DICurrentA     DI = 0x02020100
	DICurrentB     DI = 0x02020200
	DICurrentC     DI = 0x02020300
	DICurrentBlock DI = 0x0202FF00
	DIActivePower  DI = 0x02030000
	DIComboEnergy  DI = 0x00000000
	DIComboBlock   DI = 0x0000FF00
	DIForwardTotal DI = 0x00010000
	DIForwardBlock DI = 0x0001FF00
	DIReverseTotal DI = 0x00020000
	DIDateWeek     DI = 0x04000101
	DITime         DI = 0x04000102
	DIMeterAddress DI = 0x04000401
)

// String formats the value for logs and JSON.
func (d DI) String() string { return fmt.Sprintf("%08X", uint32(d)) }

// MarshalText implements encoding.TextMarshaler.
func (d DI) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func putDI(b []byte, d DI) { binary.LittleEndian.PutUint32(b, uint32(d)) }

func getDI(b []byte) DI { return DI(binary.LittleEndian.Uint32(b)) }
