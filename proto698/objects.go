package proto698

// The terminal's own objects and the standard encoding of measured values:
// what a terminal answers about itself (4000 date-time, 4001 communication
// address, the 3106 power-off/on event object's attributes) and how a
// value in engineering units goes out under a standard object identifier
// (its data type and scaler).
//
// Sources: the DL/T 698.45 object list as public 698.45 terminal firmware
// implements it. 0x4000 is interface class 8: attribute 2 date_time_s,
// method 127 broadcast time setting (广播校时, OMD 40007F00) with a
// date_time_s parameter. 0x3106 (终端停/上电事件) is interface class 7:
// attribute 1 logical name, 2 event record table (read with GET-Record),
// 3 associated object attribute table array OAD, 4 current record count
// long-unsigned, 5 maximum record count long-unsigned, 6 configuration
// parameters (below), 7 current value table array structure {source,
// structure {count double-long-unsigned, cumulative time
// double-long-unsigned seconds}}, 8 report flag enum {none (0), on
// occurrence (1), on recovery (2), both (3)}, 9 valid flag bool.

import (
	"errors"
	"fmt"
	"math"
)

// The terminal's own objects.
var (
	// OADTerminalAddress is 4001 attribute 2: the terminal's server address
	// as an octet-string in natural order (the vectors' GET-Response
	// 40010200 carries 000000000322 for SA 000000000322).
	OADTerminalAddress = NewOAD(0x40010200)
	// OADTerminalClock is 4000 attribute 2: the terminal's date_time_s.
	OADTerminalClock = NewOAD(0x40000200)
	// OMDBroadcastTime is 4000 method 127, broadcast time setting, whose
	// parameter is the date_time_s to set.
	OMDBroadcastTime = OMD{OI: 0x4000, Method: 127}
)

// Object identifiers of the terminal's own objects.
const (
	OIDateTime       uint16 = 0x4000
	OICommAddress    uint16 = 0x4001
	OIPowerEventTerm uint16 = 0x3106
)

// Attributes of an interface class 7 event object (3106).
const (
	EventAttrLogicalName  = 1
	EventAttrRecords      = 2
	EventAttrAssociated   = 3
	EventAttrRecordCount  = 4
	EventAttrMaxRecords   = 5
	EventAttrConfig       = 6
	EventAttrCurrentValue = 7
	EventAttrReportFlag   = 8
	EventAttrValid        = 9
)

// Report flags of attribute 8 of an event object.
const (
	ReportNone      Enum = 0
	ReportOccurred  Enum = 1
	ReportRecovered Enum = 2
	ReportBoth      Enum = 3
)

// LogicalName is attribute 1 of object oi: its identifier as an
// octet-string.
func LogicalName(oi uint16) OctetString { return OctetString{byte(oi >> 8), byte(oi)} }

// PowerEventConfig is 3106 attribute 6, the terminal power-off/on event's
// configuration parameters: the power-off data collection settings (which
// meters' power-off events the terminal reads, how often and for how
// long) and the event screening limits. Durations are in whole minutes or
// hours as the standard counts them; voltages in volts (sent as
// long-unsigned in 0.1 V).
type PowerEventConfig struct {
	Collect         bool     // collection flag (bit 0 of the bit-string)
	ReadEveryHours  uint8    // power-off event reading interval, hours
	ReadLimitMin    uint8    // power-off event reading time limit, minutes
	Meters          [][]byte // meters whose power-off events are read (addresses, natural order)
	MinOutageMin    uint16   // shortest valid power-off, minutes
	MaxOutageMin    uint16   // longest valid power-off, minutes
	StartEndDevMin  uint16   // start/end time deviation limit, minutes
	SectionDevMin   uint16   // time section deviation limit, minutes
	LossV, RestoreV float64  // power-off and power-on voltage limits, V
}

// Data returns the attribute's value: structure {structure {bit-string(8),
// unsigned, unsigned, array TSA}, structure {6 × long-unsigned}}. A
// voltage outside 0..6553.5 V is an error.
func (c PowerEventConfig) Data() (Data, error) {
	flag := BitString{Len: 8, Bits: []byte{0}}
	if c.Collect {
		flag.Bits[0] = 0x80
	}
	meters := Array{}
	for _, m := range c.Meters {
		if len(m) == 0 || len(m) > 16 {
			return nil, fmt.Errorf("proto698: 3106 configuration: meter address of %d bytes: %w", len(m), ErrInvalid)
		}
		meters = append(meters, TSA{Addr: append([]byte(nil), m...)})
	}
	volts := make([]Data, 2)
	for i, v := range []float64{c.LossV, c.RestoreV} {
		d, err := EncodeScaled(v, TypeLongUnsigned, -1)
		if err != nil {
			return nil, fmt.Errorf("proto698: 3106 configuration voltage limit: %w", err)
		}
		volts[i] = d
	}
	return Structure{
		Structure{flag, Unsigned(c.ReadEveryHours), Unsigned(c.ReadLimitMin), meters},
		Structure{LongUnsigned(c.MinOutageMin), LongUnsigned(c.MaxOutageMin), LongUnsigned(c.StartEndDevMin),
			LongUnsigned(c.SectionDevMin), volts[0], volts[1]},
	}, nil
}

// EventCurrentValue is attribute 7 of an event object without an event
// source: one row {NULL, {count, cumulative seconds}}; both saturate at
// the double-long-unsigned maximum.
func EventCurrentValue(count uint64, cumulativeSec uint64) Array {
	return Array{Structure{Null{}, Structure{DoubleLongUnsigned(min(count, math.MaxUint32)), DoubleLongUnsigned(min(cumulativeSec, math.MaxUint32))}}}
}

// ErrNotRepresentable: a value does not fit the data type at the scaler
// (out of its range, or not a number).
var ErrNotRepresentable = errors.New("value not representable")

// MinScaler and MaxScaler bound the scaler of a scaled value.
const (
	MinScaler = -10
	MaxScaler = 10
)

// scalarTypes are the data types a measured value can be sent as, by the
// names the standard gives them.
var scalarTypes = []DataType{TypeInteger, TypeLong, TypeDoubleLong, TypeLong64, TypeUnsigned, TypeLongUnsigned,
	TypeDoubleLongUnsigned, TypeLong64Unsigned, TypeFloat32, TypeFloat64}

// ScalarTypeNames lists the names ScalarTypeByName accepts.
func ScalarTypeNames() []string {
	s := make([]string, len(scalarTypes))
	for i, t := range scalarTypes {
		s[i] = t.String()
	}
	return s
}

// ScalarTypeByName returns the numeric data type the standard names name
// ("long-unsigned", "double-long", "float64", …).
func ScalarTypeByName(name string) (DataType, bool) {
	for _, t := range scalarTypes {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// IsFloat reports whether t is float32 or float64 (no scaler applies).
func IsFloat(t DataType) bool { return t == TypeFloat32 || t == TypeFloat64 }

// intRange is the raw range of an integer type.
func intRange(t DataType) (lo, hi float64, ok bool) {
	switch t {
	case TypeInteger:
		return math.MinInt8, math.MaxInt8, true
	case TypeLong:
		return math.MinInt16, math.MaxInt16, true
	case TypeDoubleLong:
		return math.MinInt32, math.MaxInt32, true
	case TypeLong64:
		return math.MinInt64, math.MaxInt64, true
	case TypeUnsigned:
		return 0, math.MaxUint8, true
	case TypeLongUnsigned:
		return 0, math.MaxUint16, true
	case TypeDoubleLongUnsigned:
		return 0, math.MaxUint32, true
	case TypeLong64Unsigned:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

// ScaledRange returns the values in engineering units t can carry at
// scaler (raw × 10^scaler); ok is false for a type that is not a scalar
// type or a scaler out of MinScaler..MaxScaler. Float types carry their
// own range and take scaler 0 only.
func ScaledRange(t DataType, scaler int) (lo, hi float64, ok bool) {
	if scaler < MinScaler || scaler > MaxScaler {
		return 0, 0, false
	}
	switch t {
	case TypeFloat32:
		return -math.MaxFloat32, math.MaxFloat32, scaler == 0
	case TypeFloat64:
		return -math.MaxFloat64, math.MaxFloat64, scaler == 0
	}
	lo, hi, ok = intRange(t)
	if !ok {
		return 0, 0, false
	}
	f := math.Pow10(scaler)
	return lo * f, hi * f, true
}

// EncodeScaled returns v (engineering units) as type t at scaler: the raw
// value round(v ÷ 10^scaler), so 224.1 V as long-unsigned at scaler −1 is
// 2241. A value out of the type's range or not a number is an error
// wrapping ErrNotRepresentable, never a wrapped integer.
func EncodeScaled(v float64, t DataType, scaler int) (Data, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("proto698: %g as %s: %w", v, t, ErrNotRepresentable)
	}
	if scaler < MinScaler || scaler > MaxScaler {
		return nil, fmt.Errorf("proto698: scaler %d outside %d..%d: %w", scaler, MinScaler, MaxScaler, ErrInvalid)
	}
	switch t {
	case TypeFloat32:
		if scaler != 0 || math.Abs(v) > math.MaxFloat32 {
			return nil, fmt.Errorf("proto698: %g as float32 (scaler %d): %w", v, scaler, ErrNotRepresentable)
		}
		return Float32(v), nil
	case TypeFloat64:
		if scaler != 0 {
			return nil, fmt.Errorf("proto698: float64 takes no scaler (got %d): %w", scaler, ErrInvalid)
		}
		return Float64(v), nil
	}
	lo, hi, ok := intRange(t)
	if !ok {
		return nil, fmt.Errorf("proto698: %s is not a scalar type: %w", t, ErrInvalid)
	}
	// Multiply by the exact power of ten where the scaler is negative (the
	// usual case: 224.1 × 10 is 2241, 224.1 ÷ 0.1 is not).
	raw := v
	if scaler < 0 {
		raw *= math.Pow10(-scaler)
	} else if scaler > 0 {
		raw /= math.Pow10(scaler)
	}
	raw = math.Round(raw)
	// hi of the 64-bit types is 2^63 or 2^64 as a float64, itself out of
	// range: compare with < there.
	if raw < lo || raw > hi || ((t == TypeLong64 || t == TypeLong64Unsigned) && raw >= hi) {
		return nil, fmt.Errorf("proto698: %g as %s at scaler %d (raw %.0f outside %.0f..%.0f): %w", v, t, scaler, raw, lo, hi, ErrNotRepresentable)
	}
	switch t {
	case TypeInteger:
		return Integer(raw), nil
	case TypeLong:
		return Long(raw), nil
	case TypeDoubleLong:
		return DoubleLong(raw), nil
	case TypeLong64:
		return Long64(raw), nil
	case TypeUnsigned:
		return Unsigned(raw), nil
	case TypeLongUnsigned:
		return LongUnsigned(raw), nil
	case TypeDoubleLongUnsigned:
		return DoubleLongUnsigned(raw), nil
	default: // TypeLong64Unsigned
		return Long64Unsigned(raw), nil
	}
}

// StandardScaling is the data type and scaler of one element of attribute
// 2 of the well-known measured objects (the AC-sampling unit's model in
// acsim_objects.go, from the standard's object list), and whether
// attribute 2 is an array of per-phase or per-tariff elements (so a single
// value is exposed as one element: index ≥ 1). ok is false for any other
// object.
func StandardScaling(oi uint16) (t DataType, scaler int, array, ok bool) {
	switch oi {
	case 0x0000: // combined active energy, 0.01 kWh: total, T1–T4
		return TypeDoubleLong, -2, true, true
	case 0x0010: // forward active energy, 0.01 kWh: total, T1–T4
		return TypeDoubleLongUnsigned, -2, true, true
	case 0x2000: // voltage, 0.1 V: A, B, C
		return TypeLongUnsigned, -1, true, true
	case 0x2001: // current, 0.001 A: A, B, C
		return TypeDoubleLong, -3, true, true
	case 0x2004: // active power, 0.1 W: total, A, B, C
		return TypeDoubleLong, -1, true, true
	case 0x200A: // power factor, 0.001: total, A, B, C
		return TypeLong, -3, true, true
	case 0x200F: // grid frequency, 0.01 Hz
		return TypeLongUnsigned, -2, false, true
	}
	return 0, 0, false, false
}
