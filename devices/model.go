package devices

import (
	"strings"
	"time"

	"holdup/proto698"
)

// DriverName names the protocol driver that performs a device's IO.
type DriverName string

// The drivers a device may name.
const (
	DriverModbusRTU  DriverName = "modbus-rtu"
	DriverModbusTCP  DriverName = "modbus-tcp"
	DriverDLT698     DriverName = "dlt698"
	DriverHPLC       DriverName = "hplc"
	DriverGPIOOutput DriverName = "gpio-output"
)

// driverNames lists every known driver, in the order used in error messages.
var driverNames = []DriverName{DriverModbusRTU, DriverModbusTCP, DriverDLT698, DriverHPLC, DriverGPIOOutput}

// Drivers returns every known driver, in the order used in error messages.
func Drivers() []DriverName { return append([]DriverName(nil), driverNames...) }

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

// Device is one field device as the runtime runs it: plain data. The
// config package builds them from the configuration's [[device]] tables
// (naming key and line of every mistake); code may build them directly, and
// Validate refuses one the drivers cannot run. Zero values take the
// defaults Validate applies.
type Device struct {
	// Name identifies the device in logs, alarms, the journal and errors.
	Name string
	// Driver is one of modbus-rtu, modbus-tcp, dlt698, hplc, gpio-output.
	Driver DriverName
	// Enabled is the configuration's enabled flag. Nothing in this package
	// reads it: Validate and OpenAll take the devices they are given, and
	// the daemon hands them only the enabled ones.
	Enabled bool
	// Port is the serial device (modbus-rtu, dlt698), host:port
	// (modbus-tcp), GPIO chip (gpio-output, e.g. "gpiochip0"), or for an
	// hplc meter the HPLC module's serial port, which the meter's IO goes
	// through (the interface the scheduler serves it on).
	Port string
	// Baud, DataBits, Parity ("N", "E", "O") and StopBits set the serial
	// line (for an hplc meter: the module's line).
	Baud     int
	DataBits int
	Parity   string
	StopBits int
	// Unit is the Modbus unit (slave) id; 0 means 1.
	Unit int
	// Address is the protocol address of a dlt698 server (hex) or of an
	// hplc meter (its 12-digit DL/T 645 address).
	Address string
	// Timeout bounds one exchange; zero means the driver default.
	Timeout time.Duration
	// ByteTimeout is a dlt698 device's inter-byte timeout (byte_timeout):
	// a partial answer is dropped after this much line silence; zero
	// means the one the line speed gives.
	ByteTimeout time.Duration
	// Password is an hplc meter's DL/T 645 write password as written in
	// the configuration: 8 hex digits, privilege level first ("02123456");
	// "" when none is configured (writes then carry a zero password).
	// Operator is the operator code the meter records with each write.
	// MeterCredentials returns both as dlt645 values.
	Password string
	Operator uint32
	// MainsOnly marks a device powered from the mains only (the strong-power
	// list): its IO stops the moment an outage begins.
	MainsOnly bool
	// DrawMW is the device's supply draw from the hold-up store in mW;
	// above the configured threshold its IO stops during an outage.
	DrawMW int
	// Points are the data points served for the device.
	Points []Point
}

// Point is one datum of a device.
type Point struct {
	// Name identifies the point within its device.
	Name string
	// Class is control or collection.
	Class Class
	// Integrity is checked or unchecked; empty means the driver's default
	// (checked on the serial protocols, which carry a checksum).
	Integrity Integrity
	// Period is the collection period (collection points only).
	Period time.Duration
	// Deadline is how long after it is due the exchange must be done.
	Deadline time.Duration
	// Register is the Modbus register/coil address (wire address) or the
	// GPIO line offset.
	Register int
	// Kind is coil, discrete, holding, input (Modbus) or line (GPIO).
	Kind Kind
	// Type is the register encoding: u16 (default), s16, u32, s32, f32.
	Type Type
	// Scale multiplies the raw value into engineering units; 0 means 1.
	Scale float64
	// Item names the data item of a dlt698 point (its OAD) or an hplc
	// point (its DL/T 645 data identifier): 8 hex digits.
	Item string
	// ActiveLow inverts a GPIO output line.
	ActiveLow bool
	// UplinkOAD is the DL/T 698.45 OAD under which the master station
	// reads (GET) or, for a control point, sets (SET) this point over the
	// uplink; 0: the point is not exposed northbound.
	UplinkOAD uint32
	// UplinkLiveInOutage keeps the point's live value northbound during
	// an outage, for a deployment that trusts its hold-up supply. By
	// default (false) the master reads Data NULL for every point from the
	// confirmed loss of mains to its confirmed return, whatever the point
	// still collects on the capacitor (the method's initial invalid value);
	// locally the readings are collected and journaled either way. A point
	// whose collection stopped reads NULL with or without it.
	UplinkLiveInOutage bool
	// Writable lets the master station set this control point over the
	// uplink (config point key writable); by default a point is
	// read-only northbound and a master's SET is refused (read/write
	// denied).
	Writable bool
	// UplinkType is the DL/T 698.45 data type the master station receives
	// the point's value as (one of proto698.ScalarTypeNames), the value
	// sent as round(value ÷ 10^UplinkScaler) (UplinkData); 0 (NULL): float64
	// as it is, with no scaler.
	UplinkType proto698.DataType
	// UplinkScaler is the scaler of UplinkType, proto698.MinScaler to
	// MaxScaler (0 for the float types).
	UplinkScaler int
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
