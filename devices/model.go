package devices

import (
	"fmt"
	"strings"
	"time"
)

// DriverName names the protocol driver that performs a device's IO.
type DriverName string

// The drivers a device may name in the configuration.
const (
	DriverModbusRTU  DriverName = "modbus-rtu"
	DriverModbusTCP  DriverName = "modbus-tcp"
	DriverDLT698     DriverName = "dlt698"
	DriverHPLC       DriverName = "hplc"
	DriverGPIOOutput DriverName = "gpio-output"
)

// Drivers lists every known driver, in the order used in error messages.
var driverNames = []DriverName{DriverModbusRTU, DriverModbusTCP, DriverDLT698, DriverHPLC, DriverGPIOOutput}

// Serial reports whether the driver talks over a serial port.
func (d DriverName) Serial() bool {
	return d == DriverModbusRTU || d == DriverDLT698 || d == DriverHPLC
}

// Class is a point's scheduling class.
type Class string

// Point classes: control (e.g. switch outputs) is served before collection.
const (
	ClassControl    Class = "control"
	ClassCollection Class = "collection"
)

// Integrity says whether the protocol carries a checksum the application
// verifies for the point's data.
type Integrity string

// Integrity values: checked data is verified end to end by a CRC/checksum.
const (
	IntegrityChecked   Integrity = "checked"
	IntegrityUnchecked Integrity = "unchecked"
)

// Kind names the data table a Modbus point lives in, or "line" for a GPIO
// output line. dlt698 and hplc points name their data item in Point.Item.
type Kind string

// Point kinds.
const (
	KindCoil     Kind = "coil"
	KindDiscrete Kind = "discrete"
	KindHolding  Kind = "holding"
	KindInput    Kind = "input"
	KindLine     Kind = "line"
)

// Type is the encoding of a register point's value.
type Type string

// Register value encodings (big-endian word order for 32-bit values).
const (
	TypeU16 Type = "u16"
	TypeS16 Type = "s16"
	TypeU32 Type = "u32"
	TypeS32 Type = "s32"
	TypeF32 Type = "f32"
)

// Words is the number of 16-bit registers the type occupies.
func (t Type) Words() int {
	switch t {
	case TypeU32, TypeS32, TypeF32:
		return 2
	}
	return 1
}

// Duration is a time.Duration decoded from a TOML string such as "500ms".
// Decoding never fails: a malformed value is kept and reported by Validate,
// so one bad device does not stop the configuration of the others.
type Duration struct {
	time.Duration
	raw string
	bad bool
}

// UnmarshalText records the text and parses it as a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	d.raw = string(b)
	v, err := time.ParseDuration(d.raw)
	if err != nil || v < 0 {
		d.bad = true
		d.Duration = 0
		return nil
	}
	d.bad = false
	d.Duration = v
	return nil
}

// MarshalText renders the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) {
	if d.bad {
		return []byte(d.raw), nil
	}
	return []byte(d.Duration.String()), nil
}

// check returns an error describing a malformed duration.
func (d Duration) check() error {
	if d.bad {
		return fmt.Errorf("invalid duration %q (want e.g. \"500ms\", \"2s\")", d.raw)
	}
	return nil
}

// Device is one field device as declared in the configuration.
type Device struct {
	// Name identifies the device in logs, alarms, the journal and errors.
	Name string `toml:"name"`
	// Driver is one of modbus-rtu, modbus-tcp, dlt698, hplc, gpio-output.
	Driver DriverName `toml:"driver"`
	// Port is the serial device (modbus-rtu, dlt698, hplc), host:port
	// (modbus-tcp) or GPIO chip (gpio-output, e.g. "gpiochip0").
	Port string `toml:"port"`
	// Baud, DataBits, Parity ("N", "E", "O") and StopBits set the serial line.
	Baud     int    `toml:"baud"`
	DataBits int    `toml:"data_bits"`
	Parity   string `toml:"parity"`
	StopBits int    `toml:"stop_bits"`
	// Unit is the Modbus unit (slave) id, 1..247; 0 means 1.
	Unit int `toml:"unit"`
	// Address is the protocol address of a dlt698 server or HPLC node (hex).
	Address string `toml:"address"`
	// Timeout bounds one exchange; zero means the driver default.
	Timeout Duration `toml:"timeout"`
	// MainsOnly marks a device powered from the mains only (the strong-power
	// list): its IO stops the moment an outage begins.
	MainsOnly bool `toml:"mains_only"`
	// DrawMW is the device's supply draw from the hold-up store in mW;
	// above the configured threshold its IO stops during an outage.
	DrawMW int `toml:"draw_mw"`
	// Points are the data points served for the device.
	Points []Point `toml:"points"`
}

// Point is one datum of a device.
type Point struct {
	// Name identifies the point within its device.
	Name string `toml:"name"`
	// Class is control or collection.
	Class Class `toml:"class"`
	// Integrity is checked or unchecked.
	Integrity Integrity `toml:"integrity"`
	// Period is the collection period (collection points only).
	Period Duration `toml:"period"`
	// Deadline is how long after it is due the exchange must be done.
	Deadline Duration `toml:"deadline"`
	// Register is the Modbus register/coil address (wire address) or the
	// GPIO line offset.
	Register int `toml:"register"`
	// Kind is coil, discrete, holding, input (Modbus) or line (GPIO).
	Kind Kind `toml:"kind"`
	// Type is the register encoding: u16 (default), s16, u32, s32, f32.
	Type Type `toml:"type"`
	// Scale multiplies the raw value into engineering units; 0 means 1.
	Scale float64 `toml:"scale"`
	// Item names the data item of a dlt698 (OAD, hex) or hplc point.
	Item string `toml:"item"`
	// ActiveLow inverts a GPIO output line.
	ActiveLow bool `toml:"active_low"`
}

// Factor returns the point's scale with the zero default applied.
func (p Point) Factor() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// ValueType returns the point's register encoding with the default applied.
func (p Point) ValueType() Type {
	if p.Type == "" {
		return TypeU16
	}
	return p.Type
}

// UnitID returns the Modbus unit id with the default applied.
func (d Device) UnitID() byte {
	if d.Unit == 0 {
		return 1
	}
	return byte(d.Unit)
}

func joinNames[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}

// Point returns the device's point called name.
func (d Device) Point(name string) (Point, bool) {
	for _, p := range d.Points {
		if p.Name == name {
			return p, true
		}
	}
	return Point{}, false
}
