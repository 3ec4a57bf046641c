package proto698

import (
	"fmt"
	"math"
	"time"
)

// DataType is the A-XDR tag of a Data value.
type DataType uint8

// Data type tags (DL/T 698.45 clause 7.3).
const (
	TypeNull               DataType = 0
	TypeArray              DataType = 1
	TypeStructure          DataType = 2
	TypeBool               DataType = 3
	TypeBitString          DataType = 4
	TypeDoubleLong         DataType = 5
	TypeDoubleLongUnsigned DataType = 6
	TypeOctetString        DataType = 9
	TypeVisibleString      DataType = 10
	TypeUTF8String         DataType = 12
	TypeInteger            DataType = 15
	TypeLong               DataType = 16
	TypeUnsigned           DataType = 17
	TypeLongUnsigned       DataType = 18
	TypeLong64             DataType = 20
	TypeLong64Unsigned     DataType = 21
	TypeEnum               DataType = 22
	TypeFloat32            DataType = 23
	TypeFloat64            DataType = 24
	TypeDateTime           DataType = 25
	TypeDate               DataType = 26
	TypeTime               DataType = 27
	TypeDateTimeS          DataType = 28
	TypeOI                 DataType = 80
	TypeOAD                DataType = 81
	TypeROAD               DataType = 82
	TypeOMD                DataType = 83
	TypeTI                 DataType = 84
	TypeTSA                DataType = 85
	TypeMAC                DataType = 86
	TypeRN                 DataType = 87
	TypeScalerUnit         DataType = 89
	TypeCSD                DataType = 91
	TypeCOMDCB             DataType = 95
	TypeRCSD               DataType = 96
)

// String implements fmt.Stringer.
func (t DataType) String() string {
	switch t {
	case TypeNull:
		return "NULL"
	case TypeArray:
		return "array"
	case TypeStructure:
		return "structure"
	case TypeBool:
		return "bool"
	case TypeBitString:
		return "bit-string"
	case TypeDoubleLong:
		return "double-long"
	case TypeDoubleLongUnsigned:
		return "double-long-unsigned"
	case TypeOctetString:
		return "octet-string"
	case TypeVisibleString:
		return "visible-string"
	case TypeUTF8String:
		return "UTF8-string"
	case TypeInteger:
		return "integer"
	case TypeLong:
		return "long"
	case TypeUnsigned:
		return "unsigned"
	case TypeLongUnsigned:
		return "long-unsigned"
	case TypeLong64:
		return "long64"
	case TypeLong64Unsigned:
		return "long64-unsigned"
	case TypeEnum:
		return "enum"
	case TypeFloat32:
		return "float32"
	case TypeFloat64:
		return "float64"
	case TypeDateTime:
		return "date_time"
	case TypeDate:
		return "date"
	case TypeTime:
		return "time"
	case TypeDateTimeS:
		return "date_time_s"
	case TypeOI:
		return "OI"
	case TypeOAD:
		return "OAD"
	case TypeROAD:
		return "ROAD"
	case TypeOMD:
		return "OMD"
	case TypeTI:
		return "TI"
	case TypeTSA:
		return "TSA"
	case TypeMAC:
		return "MAC"
	case TypeRN:
		return "RN"
	case TypeScalerUnit:
		return "Scaler_Unit"
	case TypeCSD:
		return "CSD"
	case TypeCOMDCB:
		return "COMDCB"
	case TypeRCSD:
		return "RCSD"
	}
	return fmt.Sprintf("type-0x%02X", uint8(t))
}

// Data is one typed A-XDR value. The concrete types below implement it;
// the set is closed.
type Data interface {
	// Type returns the value's tag.
	Type() DataType
	// appendValue appends the value without its tag.
	appendValue(dst []byte) ([]byte, error)
}

// Concrete Data types.
type (
	// Null is the NULL value (e.g. an event's end time before it ends).
	Null struct{}
	// Array is a SEQUENCE OF Data.
	Array []Data
	// Structure is a SEQUENCE of Data.
	Structure []Data
	// Bool is a boolean.
	Bool bool
	// DoubleLong is a 32-bit signed integer.
	DoubleLong int32
	// DoubleLongUnsigned is a 32-bit unsigned integer.
	DoubleLongUnsigned uint32
	// OctetString is an octet string.
	OctetString []byte
	// VisibleString is an ASCII string.
	VisibleString string
	// UTF8String is a UTF-8 string.
	UTF8String string
	// Integer is an 8-bit signed integer.
	Integer int8
	// Long is a 16-bit signed integer.
	Long int16
	// Unsigned is an 8-bit unsigned integer.
	Unsigned uint8
	// LongUnsigned is a 16-bit unsigned integer.
	LongUnsigned uint16
	// Long64 is a 64-bit signed integer.
	Long64 int64
	// Long64Unsigned is a 64-bit unsigned integer.
	Long64Unsigned uint64
	// Enum is an enumerated value.
	Enum uint8
	// Float32 is an IEEE 754 single.
	Float32 float32
	// Float64 is an IEEE 754 double.
	Float64 float64
	// OI is an object identifier.
	OI uint16
	// MAC is a message authentication code (octet string).
	MAC []byte
	// RN is a random number (octet string).
	RN []byte
	// RCSD is a record column selection descriptor: SEQUENCE OF CSD.
	RCSD []CSD
)

// BitString is a bit string of Len bits, most significant bit first
// (bit 0 of the protocol's numbering is the MSB of Bits[0]).
type BitString struct {
	Len  int
	Bits []byte
}

// DateTime is date_time: year, month, day, weekday (0 = Sunday), hour,
// minute, second, millisecond. 0xFF/0xFFFF fields mean "not specified".
type DateTime struct {
	Year                                      uint16
	Month, Day, Weekday, Hour, Minute, Second uint8
	Milli                                     uint16
}

// DateTimeS is date_time_s: year, month, day, hour, minute, second.
type DateTimeS struct {
	Year                             uint16
	Month, Day, Hour, Minute, Second uint8
}

// Date is date: year, month, day, weekday.
type Date struct {
	Year                uint16
	Month, Day, Weekday uint8
}

// Time is time: hour, minute, second.
type Time struct{ Hour, Minute, Second uint8 }

// OAD is an object attribute descriptor: object, attribute (bits 0–4),
// attribute feature (bits 5–7) and element index (0 = whole attribute).
type OAD struct {
	OI    uint16
	Attr  uint8 // attribute ID with feature bits, as on the wire
	Index uint8
}

// ROAD is a record-type object attribute descriptor: an OAD and the OADs of
// the associated columns.
type ROAD struct {
	OAD   OAD
	Assoc []OAD
}

// OMD is an object method descriptor.
type OMD struct {
	OI     uint16
	Method uint8
	Mode   uint8
}

// TI is a time interval: unit (0 s, 1 min, 2 h, 3 day, 4 month, 5 year) and count.
type TI struct {
	Unit     uint8
	Interval uint16
}

// TSA is a target server address: an octet string whose first byte holds
// the address length − 1 in bits 0–3 (Flags keeps bits 4–7) followed by
// the address in natural order.
type TSA struct {
	Flags uint8 // upper nibble of the first byte (bits 4–7), as on the wire
	Addr  []byte
	// Empty marks the zero-length TSA (tag 0x55 length 0).
	Empty bool
}

// ScalerUnit is Scaler_Unit: value = raw × 10^Scaler, in Unit (enum, e.g. 35 = V).
type ScalerUnit struct {
	Scaler int8
	Unit   uint8
}

// CSD is a column selection descriptor: an OAD, or a ROAD when IsROAD.
type CSD struct {
	IsROAD bool
	OAD    OAD
	ROAD   ROAD
}

// COMDCB is a serial port control block (baud enum, parity, data bits,
// stop bits, flow control).
type COMDCB struct {
	Baud, Parity, DataBits, StopBits, Flow uint8
}

// NewOAD builds an OAD from its 32-bit form, e.g. 0x20000200.
func NewOAD(v uint32) OAD { return OAD{OI: uint16(v >> 16), Attr: uint8(v >> 8), Index: uint8(v)} }

// Uint32 returns the OAD's 32-bit form.
func (o OAD) Uint32() uint32 { return uint32(o.OI)<<16 | uint32(o.Attr)<<8 | uint32(o.Index) }

// AttrID returns the attribute number (bits 0–4).
func (o OAD) AttrID() uint8 { return o.Attr & 0x1F }

// Feature returns the attribute feature (bits 5–7).
func (o OAD) Feature() uint8 { return o.Attr >> 5 }

// String implements fmt.Stringer.
func (o OAD) String() string { return fmt.Sprintf("%08X", o.Uint32()) }

// String implements fmt.Stringer.
func (o OMD) String() string { return fmt.Sprintf("%04X%02X%02X", o.OI, o.Method, o.Mode) }

// NewDateTimeS converts t (in its own location) to date_time_s.
func NewDateTimeS(t time.Time) DateTimeS {
	return DateTimeS{uint16(t.Year()), uint8(t.Month()), uint8(t.Day()), uint8(t.Hour()), uint8(t.Minute()), uint8(t.Second())}
}

// Time converts to a time.Time in loc; it fails for unspecified (0xFF,
// year 0xFFFF) fields and for a day the month does not have (30 Feb),
// which time.Date would silently move to the next month.
func (d DateTimeS) Time(loc *time.Location) (time.Time, error) {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 || d.Hour > 23 || d.Minute > 59 || d.Second > 59 {
		return time.Time{}, fmt.Errorf("proto698: date_time_s %v: %w", d, ErrInvalid)
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), int(d.Hour), int(d.Minute), int(d.Second), 0, loc)
	if !isCalendarDate(t, d.Year, d.Month, d.Day) {
		return time.Time{}, fmt.Errorf("proto698: date_time_s %v is no calendar date: %w", d, ErrInvalid)
	}
	return t, nil
}

// isCalendarDate reports whether t (from time.Date) kept the year,
// month and day it was given, which is not an unspecified year (0xFFFF).
func isCalendarDate(t time.Time, year uint16, month, day uint8) bool {
	return year != 0xFFFF && t.Year() == int(year) && t.Month() == time.Month(month) && t.Day() == int(day)
}

// String implements fmt.Stringer.
func (d DateTimeS) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second)
}

// NewDateTime converts t (in its own location) to date_time.
func NewDateTime(t time.Time) DateTime {
	return DateTime{uint16(t.Year()), uint8(t.Month()), uint8(t.Day()), uint8(t.Weekday()),
		uint8(t.Hour()), uint8(t.Minute()), uint8(t.Second()), uint16(t.Nanosecond() / 1e6)}
}

// Time converts to a time.Time in loc; it fails for unspecified fields
// (year 0xFFFF included) and for a day the month does not have (30 Feb),
// which time.Date would silently move to the next month.
func (d DateTime) Time(loc *time.Location) (time.Time, error) {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 || d.Hour > 23 || d.Minute > 59 || d.Second > 59 || d.Milli > 999 {
		return time.Time{}, fmt.Errorf("proto698: date_time %v: %w", d, ErrInvalid)
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), int(d.Hour), int(d.Minute), int(d.Second), int(d.Milli)*1e6, loc)
	if !isCalendarDate(t, d.Year, d.Month, d.Day) {
		return time.Time{}, fmt.Errorf("proto698: date_time %v is no calendar date: %w", d, ErrInvalid)
	}
	return t, nil
}

// String implements fmt.Stringer.
func (d DateTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%03d wk%d", d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second, d.Milli, d.Weekday)
}

// Type methods.
func (Null) Type() DataType               { return TypeNull }
func (Array) Type() DataType              { return TypeArray }
func (Structure) Type() DataType          { return TypeStructure }
func (Bool) Type() DataType               { return TypeBool }
func (BitString) Type() DataType          { return TypeBitString }
func (DoubleLong) Type() DataType         { return TypeDoubleLong }
func (DoubleLongUnsigned) Type() DataType { return TypeDoubleLongUnsigned }
func (OctetString) Type() DataType        { return TypeOctetString }
func (VisibleString) Type() DataType      { return TypeVisibleString }
func (UTF8String) Type() DataType         { return TypeUTF8String }
func (Integer) Type() DataType            { return TypeInteger }
func (Long) Type() DataType               { return TypeLong }
func (Unsigned) Type() DataType           { return TypeUnsigned }
func (LongUnsigned) Type() DataType       { return TypeLongUnsigned }
func (Long64) Type() DataType             { return TypeLong64 }
func (Long64Unsigned) Type() DataType     { return TypeLong64Unsigned }
func (Enum) Type() DataType               { return TypeEnum }
func (Float32) Type() DataType            { return TypeFloat32 }
func (Float64) Type() DataType            { return TypeFloat64 }
func (DateTime) Type() DataType           { return TypeDateTime }
func (Date) Type() DataType               { return TypeDate }
func (Time) Type() DataType               { return TypeTime }
func (DateTimeS) Type() DataType          { return TypeDateTimeS }
func (OI) Type() DataType                 { return TypeOI }
func (OAD) Type() DataType                { return TypeOAD }
func (ROAD) Type() DataType               { return TypeROAD }
func (OMD) Type() DataType                { return TypeOMD }
func (TI) Type() DataType                 { return TypeTI }
func (TSA) Type() DataType                { return TypeTSA }
func (MAC) Type() DataType                { return TypeMAC }
func (RN) Type() DataType                 { return TypeRN }
func (ScalerUnit) Type() DataType         { return TypeScalerUnit }
func (CSD) Type() DataType                { return TypeCSD }
func (COMDCB) Type() DataType             { return TypeCOMDCB }
func (RCSD) Type() DataType               { return TypeRCSD }

// appendValue methods.
func (Null) appendValue(d []byte) ([]byte, error)        { return d, nil }
func (v Array) appendValue(d []byte) ([]byte, error)     { return appendSeq(d, v) }
func (v Structure) appendValue(d []byte) ([]byte, error) { return appendSeq(d, v) }
func (v Bool) appendValue(d []byte) ([]byte, error) {
	if v {
		return append(d, 1), nil
	}
	return append(d, 0), nil
}
func (v BitString) appendValue(d []byte) ([]byte, error) {
	if v.Len < 0 || len(v.Bits) != (v.Len+7)/8 {
		return d, fmt.Errorf("proto698: bit-string of %d bits with %d bytes: %w", v.Len, len(v.Bits), ErrInvalid)
	}
	return append(appendLength(d, v.Len), v.Bits...), nil
}
func (v DoubleLong) appendValue(d []byte) ([]byte, error) { return appendU32(d, uint32(v)), nil }
func (v DoubleLongUnsigned) appendValue(d []byte) ([]byte, error) {
	return appendU32(d, uint32(v)), nil
}
func (v OctetString) appendValue(d []byte) ([]byte, error) {
	return append(appendLength(d, len(v)), v...), nil
}
func (v VisibleString) appendValue(d []byte) ([]byte, error) {
	return append(appendLength(d, len(v)), v...), nil
}
func (v UTF8String) appendValue(d []byte) ([]byte, error) {
	return append(appendLength(d, len(v)), v...), nil
}
func (v Integer) appendValue(d []byte) ([]byte, error)        { return append(d, byte(v)), nil }
func (v Long) appendValue(d []byte) ([]byte, error)           { return appendU16(d, uint16(v)), nil }
func (v Unsigned) appendValue(d []byte) ([]byte, error)       { return append(d, byte(v)), nil }
func (v LongUnsigned) appendValue(d []byte) ([]byte, error)   { return appendU16(d, uint16(v)), nil }
func (v Long64) appendValue(d []byte) ([]byte, error)         { return appendU64(d, uint64(v)), nil }
func (v Long64Unsigned) appendValue(d []byte) ([]byte, error) { return appendU64(d, uint64(v)), nil }
func (v Enum) appendValue(d []byte) ([]byte, error)           { return append(d, byte(v)), nil }
func (v Float32) appendValue(d []byte) ([]byte, error) {
	return appendU32(d, math.Float32bits(float32(v))), nil
}
func (v Float64) appendValue(d []byte) ([]byte, error) {
	return appendU64(d, math.Float64bits(float64(v))), nil
}
func (v DateTime) appendValue(d []byte) ([]byte, error) {
	d = appendU16(d, v.Year)
	d = append(d, v.Month, v.Day, v.Weekday, v.Hour, v.Minute, v.Second)
	return appendU16(d, v.Milli), nil
}
func (v Date) appendValue(d []byte) ([]byte, error) {
	return append(appendU16(d, v.Year), v.Month, v.Day, v.Weekday), nil
}
func (v Time) appendValue(d []byte) ([]byte, error) {
	return append(d, v.Hour, v.Minute, v.Second), nil
}
func (v DateTimeS) appendValue(d []byte) ([]byte, error) {
	return append(appendU16(d, v.Year), v.Month, v.Day, v.Hour, v.Minute, v.Second), nil
}
func (v OI) appendValue(d []byte) ([]byte, error) { return appendU16(d, uint16(v)), nil }
func (v OAD) appendValue(d []byte) ([]byte, error) {
	return append(appendU16(d, v.OI), v.Attr, v.Index), nil
}
func (v ROAD) appendValue(d []byte) ([]byte, error) {
	d, _ = v.OAD.appendValue(d)
	d = appendLength(d, len(v.Assoc))
	for _, o := range v.Assoc {
		d, _ = o.appendValue(d)
	}
	return d, nil
}
func (v OMD) appendValue(d []byte) ([]byte, error) {
	return append(appendU16(d, v.OI), v.Method, v.Mode), nil
}
func (v TI) appendValue(d []byte) ([]byte, error) {
	return appendU16(append(d, v.Unit), v.Interval), nil
}
func (v TSA) appendValue(d []byte) ([]byte, error) {
	if v.Empty {
		if len(v.Addr) != 0 {
			return d, fmt.Errorf("proto698: empty TSA with %d address bytes: %w", len(v.Addr), ErrInvalid)
		}
		return append(d, 0), nil
	}
	if len(v.Addr) < 1 || len(v.Addr) > 16 {
		return d, fmt.Errorf("proto698: TSA address of %d bytes: %w (want 1..16)", len(v.Addr), ErrInvalid)
	}
	d = appendLength(d, len(v.Addr)+1)
	return append(append(d, v.Flags&0xF0|byte(len(v.Addr)-1)), v.Addr...), nil
}
func (v MAC) appendValue(d []byte) ([]byte, error) { return append(appendLength(d, len(v)), v...), nil }
func (v RN) appendValue(d []byte) ([]byte, error)  { return append(appendLength(d, len(v)), v...), nil }
func (v ScalerUnit) appendValue(d []byte) ([]byte, error) {
	return append(d, byte(v.Scaler), v.Unit), nil
}
func (v CSD) appendValue(d []byte) ([]byte, error) {
	if v.IsROAD {
		return v.ROAD.appendValue(append(d, 1))
	}
	return v.OAD.appendValue(append(d, 0))
}
func (v COMDCB) appendValue(d []byte) ([]byte, error) {
	return append(d, v.Baud, v.Parity, v.DataBits, v.StopBits, v.Flow), nil
}
func (v RCSD) appendValue(d []byte) ([]byte, error) {
	d = appendLength(d, len(v))
	for _, c := range v {
		d, _ = c.appendValue(d)
	}
	return d, nil
}

func appendSeq(d []byte, items []Data) ([]byte, error) {
	d = appendLength(d, len(items))
	var err error
	for _, it := range items {
		if d, err = AppendData(d, it); err != nil {
			return d, err
		}
	}
	return d, nil
}

// AppendData appends d with its type tag.
func AppendData(dst []byte, d Data) ([]byte, error) {
	if d == nil {
		return dst, fmt.Errorf("proto698: nil Data: %w", ErrInvalid)
	}
	return d.appendValue(append(dst, byte(d.Type())))
}
