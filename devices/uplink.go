package devices

// How a point's value goes to the master station: its uplink data type and
// scaler (Point.UplinkType, UplinkScaler), the defaults the standard gives
// the well-known measured objects, and the range of values a point can
// take, which the configuration checks against the type's range.

import (
	"errors"
	"fmt"
	"math"

	"holdup/proto698"
)

// ErrUplinkType: a master's value is not of the point's uplink data type.
var ErrUplinkType = errors.New("not the point's uplink data type")

// UplinkTypeByName returns the data type an uplink_type names.
func UplinkTypeByName(name string) (proto698.DataType, bool) { return proto698.ScalarTypeByName(name) }

// UplinkTypeNames lists the names UplinkTypeByName accepts.
func UplinkTypeNames() []string { return proto698.ScalarTypeNames() }

// UplinkRange returns the values in engineering units type t carries at
// scaler; ok is false for a type or scaler that cannot be used (a float
// type takes scaler 0 only).
func UplinkRange(t proto698.DataType, scaler int) (lo, hi float64, ok bool) {
	return proto698.ScaledRange(t, scaler)
}

// StandardUplink returns the standard data type and scaler of the object
// an uplink OAD names (voltage 2000: long-unsigned, −1; current 2001:
// double-long, −3; …) and whether its attribute 2 is an array of elements;
// ok is false for objects without a standard encoding (holdup sends those
// as float64).
func StandardUplink(oad uint32) (t proto698.DataType, scaler int, array, ok bool) {
	if (oad>>8)&0x1F != 2 {
		return 0, 0, false, false // only attribute 2 holds the measured value
	}
	return proto698.StandardScaling(uint16(oad >> 16))
}

// UplinkData returns v as the master station receives it: of the point's
// uplink data type at its scaler (an error wrapping
// proto698.ErrNotRepresentable when v does not fit), or float64 when the
// point has no uplink type.
func (p Point) UplinkData(v float64) (proto698.Data, error) {
	if p.UplinkType == proto698.TypeNull {
		return proto698.Float64(v), nil
	}
	d, err := proto698.EncodeScaled(v, p.UplinkType, p.UplinkScaler)
	if err != nil {
		return nil, fmt.Errorf("devices: point %q: %w", p.Name, err)
	}
	return d, nil
}

// UplinkFloat reads a value the master station sent for the point (a SET)
// in engineering units: raw × 10^scaler when the point has an uplink type,
// whose data type the value must have (ErrUplinkType otherwise); any
// numeric value as it is when it has none. null reports Data NULL.
func (p Point) UplinkFloat(d proto698.Data) (v float64, null bool, err error) {
	if p.UplinkType != proto698.TypeNull && d.Type() != p.UplinkType {
		if _, isNull := d.(proto698.Null); !isNull {
			return 0, false, fmt.Errorf("devices: point %q: %s: %w (%s)", p.Name, d.Type(), ErrUplinkType, p.UplinkType)
		}
	}
	v, null, err = DLT698Float(d)
	if err != nil || null || p.UplinkType == proto698.TypeNull {
		return v, null, err
	}
	if p.UplinkScaler < 0 {
		return v / math.Pow10(-p.UplinkScaler), false, nil // exact divisor: 2241 → 224.1
	}
	return v * math.Pow10(p.UplinkScaler), false, nil
}

// ValueRange returns the values the point can take in engineering units,
// where its encoding bounds them: a coil, discrete input or GPIO line 0 or
// 1, a Modbus register its type's range times the point's scale. ok is
// false where nothing bounds it (a float register, a DL/T 698.45 or
// DL/T 645 item, whose type the device decides).
func (p Point) ValueRange() (lo, hi float64, ok bool) {
	switch p.Kind {
	case KindCoil, KindDiscrete, KindLine:
		return 0, 1, true
	case KindHolding, KindInput:
	default:
		return 0, 0, false
	}
	switch p.ValueType() {
	case TypeU16:
		lo, hi = 0, math.MaxUint16
	case TypeS16:
		lo, hi = math.MinInt16, math.MaxInt16
	case TypeU32:
		lo, hi = 0, math.MaxUint32
	case TypeS32:
		lo, hi = math.MinInt32, math.MaxInt32
	default:
		return 0, 0, false
	}
	f := p.Factor()
	lo, hi = lo*f, hi*f
	return min(lo, hi), max(lo, hi), true
}
