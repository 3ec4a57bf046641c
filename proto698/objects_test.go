package proto698

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeScaled(t *testing.T) {
	for _, c := range []struct {
		v      float64
		typ    DataType
		scaler int
		want   Data // nil: ErrNotRepresentable
	}{
		{224.1, TypeLongUnsigned, -1, LongUnsigned(2241)},
		{241.35, TypeLongUnsigned, -1, LongUnsigned(2414)}, // rounded half away from zero
		{0, TypeLongUnsigned, -1, LongUnsigned(0)},
		{6553.5, TypeLongUnsigned, -1, LongUnsigned(65535)},
		{6553.6, TypeLongUnsigned, -1, nil},
		{-0.1, TypeLongUnsigned, -1, nil},
		{-0.04, TypeLongUnsigned, -1, LongUnsigned(0)}, // rounds to 0, in range
		{-1.234, TypeDoubleLong, -3, DoubleLong(-1234)},
		{2147483.647, TypeDoubleLong, -3, DoubleLong(math.MaxInt32)},
		{2147483.648, TypeDoubleLong, -3, nil},
		{-2147483.648, TypeDoubleLong, -3, DoubleLong(math.MinInt32)},
		{5999.9, TypeDoubleLong, -1, DoubleLong(59999)},
		{12345.67, TypeDoubleLongUnsigned, -2, DoubleLongUnsigned(1234567)},
		{42949672.95, TypeDoubleLongUnsigned, -2, DoubleLongUnsigned(math.MaxUint32)},
		{42949672.96, TypeDoubleLongUnsigned, -2, nil},
		{-0.5, TypeLong, -3, Long(-500)},
		{32.768, TypeLong, -3, nil},
		{127, TypeInteger, 0, Integer(127)},
		{128, TypeInteger, 0, nil},
		{-128, TypeInteger, 0, Integer(-128)},
		{255, TypeUnsigned, 0, Unsigned(255)},
		{256, TypeUnsigned, 0, nil},
		{1200, TypeUnsigned, 1, Unsigned(120)}, // positive scaler: 120 × 10
		{25600, TypeUnsigned, 2, nil},          // raw 256
		{9.2e18, TypeLong64, 0, Long64(9.2e18)},
		{9.3e18, TypeLong64, 0, nil}, // beyond 2^63
		{-9.3e18, TypeLong64, 0, nil},
		{1.8e19, TypeLong64Unsigned, 0, Long64Unsigned(1.8e19)},
		{1.9e19, TypeLong64Unsigned, 0, nil}, // beyond 2^64
		{-1, TypeLong64Unsigned, 0, nil},
		{1.5, TypeFloat32, 0, Float32(1.5)},
		{1e39, TypeFloat32, 0, nil},
		{1e39, TypeFloat64, 0, Float64(1e39)},
		{math.NaN(), TypeFloat64, 0, nil},
		{math.Inf(1), TypeDoubleLong, -1, nil},
		{math.NaN(), TypeLongUnsigned, -1, nil},
	} {
		got, err := EncodeScaled(c.v, c.typ, c.scaler)
		if c.want == nil {
			if !errors.Is(err, ErrNotRepresentable) {
				t.Errorf("EncodeScaled(%g, %s, %d) = %v, %v; want ErrNotRepresentable", c.v, c.typ, c.scaler, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("EncodeScaled(%g, %s, %d) = %#v, %v; want %#v", c.v, c.typ, c.scaler, got, err, c.want)
		}
	}
	// Misuse is ErrInvalid, not a value that does not fit.
	for _, c := range []struct {
		typ    DataType
		scaler int
	}{{TypeLongUnsigned, 11}, {TypeLongUnsigned, -11}, {TypeFloat64, -1}, {TypeVisibleString, 0}, {TypeBool, 0}} {
		if _, err := EncodeScaled(1, c.typ, c.scaler); !errors.Is(err, ErrInvalid) {
			t.Errorf("EncodeScaled(1, %s, %d): %v, want ErrInvalid", c.typ, c.scaler, err)
		}
	}
}

// TestEncodeScaledVectors: the public GET-Response vectors' values are
// what EncodeScaled makes of the readings their meanings name.
func TestEncodeScaledVectors(t *testing.T) {
	want := map[string]float64{ // a value's encoded bytes in a vector → the reading
		"1208C1": 224.1, // 20000200 phase A, 0x08C1 = 2241
		"12096D": 241.3, // 20000201
		"12096E": 241.4,
		"12096F": 241.5,
	}
	found := 0
	for _, v := range loadVectors(t) {
		if !strings.Contains(v.meaning, "long-unsigned") || !strings.Contains(v.meaning, "GET-Response") {
			continue
		}
		for hexv, reading := range want {
			d, err := EncodeScaled(reading, TypeLongUnsigned, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := AppendData(nil, d)
			if bytes.Contains(v.raw, b) && strings.Contains(strings.ToUpper(hexOf(v.raw)), hexv) {
				found++
			}
		}
	}
	if found < 4 {
		t.Fatalf("%d of the vectors' voltages found encoded as EncodeScaled encodes them, want ≥ 4", found)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	s := make([]byte, 0, 2*len(b))
	for _, x := range b {
		s = append(s, digits[x>>4], digits[x&15])
	}
	return string(s)
}

func TestScaledRange(t *testing.T) {
	for _, c := range []struct {
		typ    DataType
		scaler int
		lo, hi float64
		ok     bool
	}{
		{TypeLongUnsigned, -1, 0, 6553.5, true},
		{TypeDoubleLong, -3, -2147483.648, 2147483.647, true},
		{TypeInteger, 2, -12800, 12700, true},
		{TypeFloat64, 0, -math.MaxFloat64, math.MaxFloat64, true},
		{TypeFloat32, -1, 0, 0, false},
		{TypeLongUnsigned, 11, 0, 0, false},
		{TypeOctetString, 0, 0, 0, false},
	} {
		lo, hi, ok := ScaledRange(c.typ, c.scaler)
		if ok != c.ok || (ok && (math.Abs(lo-c.lo) > 1e-9*math.Abs(c.lo) || math.Abs(hi-c.hi) > 1e-9*math.Abs(c.hi))) {
			t.Errorf("ScaledRange(%s, %d) = %g, %g, %v; want %g, %g, %v", c.typ, c.scaler, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

func TestScalarTypeByName(t *testing.T) {
	names := ScalarTypeNames()
	if len(names) != 10 {
		t.Fatalf("ScalarTypeNames = %v", names)
	}
	for _, n := range names {
		typ, ok := ScalarTypeByName(n)
		if !ok || typ.String() != n {
			t.Errorf("ScalarTypeByName(%q) = %v, %v", n, typ, ok)
		}
	}
	for _, n := range []string{"", "octet-string", "Long-Unsigned", "uint16", "bool"} {
		if typ, ok := ScalarTypeByName(n); ok {
			t.Errorf("ScalarTypeByName(%q) = %v, want none", n, typ)
		}
	}
}

// TestStandardScaling: the defaults agree with the AC-sampling unit's
// model (what ACSim answers for the same objects).
func TestStandardScaling(t *testing.T) {
	sim := &ACSim{cfg: ACSimConfig{Voltages: [3]float64{230, 230, 230}}}
	st := newACState(&sim.cfg)
	for _, oi := range []uint16{0x0000, 0x0010, 0x2000, 0x2001, 0x2004, 0x200A, 0x200F} {
		typ, _, array, ok := StandardScaling(oi)
		if !ok {
			t.Fatalf("%04X: no standard scaling", oi)
		}
		v := sim.read(st, NewOAD(uint32(oi)<<16|0x0200)).Data
		if a, isArray := v.(Array); isArray != array {
			t.Errorf("%04X: array %v, ACSim answers %s", oi, array, v.Type())
		} else if isArray {
			v = a[0]
		}
		if v.Type() != typ {
			t.Errorf("%04X: type %s, ACSim answers %s", oi, typ, v.Type())
		}
	}
	if _, _, _, ok := StandardScaling(0x2F00); ok {
		t.Error("2F00 has a standard scaling")
	}
	// The scalers are the divisors ACSim's model uses.
	for oi, div := range map[uint16]float64{0x2000: VoltageDivisor, 0x2001: CurrentDivisor, 0x2004: PowerDivisor,
		0x200A: PowerFactorDivisor, 0x200F: FrequencyDivisor, 0x0010: EnergyDivisor, 0x0000: EnergyDivisor} {
		_, scaler, _, _ := StandardScaling(oi)
		if math.Pow10(-scaler) != div {
			t.Errorf("%04X: scaler %d, ACSim divides by %g", oi, scaler, div)
		}
	}
}

func TestPowerEventConfig(t *testing.T) {
	c := PowerEventConfig{LossV: 171.6, RestoreV: 187, MinOutageMin: 1, Meters: [][]byte{{0, 0, 0, 0, 0, 2}}}
	d, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	b, err := AppendData(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeData(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Structure{
		Structure{BitString{Len: 8, Bits: []byte{0}}, Unsigned(0), Unsigned(0), Array{TSA{Addr: []byte{0, 0, 0, 0, 0, 2}}}},
		Structure{LongUnsigned(1), LongUnsigned(0), LongUnsigned(0), LongUnsigned(0), LongUnsigned(1716), LongUnsigned(1870)},
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("3106 attribute 6 decodes to %#v, want %#v", back, want)
	}
	if _, err := (PowerEventConfig{LossV: 7000}).Data(); !errors.Is(err, ErrNotRepresentable) {
		t.Errorf("7000 V limit: %v, want ErrNotRepresentable", err)
	}
	if _, err := (PowerEventConfig{Meters: [][]byte{nil}}).Data(); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty meter address: %v, want ErrInvalid", err)
	}
}

func TestEventCurrentValue(t *testing.T) {
	got := EventCurrentValue(3, math.MaxUint32+5)
	want := Array{Structure{Null{}, Structure{DoubleLongUnsigned(3), DoubleLongUnsigned(math.MaxUint32)}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EventCurrentValue = %#v", got)
	}
	if !bytes.Equal(LogicalName(0x3106), []byte{0x31, 0x06}) {
		t.Fatal("LogicalName(3106)")
	}
}

// FuzzEncodeScaled: whatever the value, type and scaler, EncodeScaled
// either refuses or returns a value of the type that decodes back to the
// input within half a unit of the scaler: never a wrapped integer.
func FuzzEncodeScaled(f *testing.F) {
	f.Add(224.1, uint8(TypeLongUnsigned), int8(-1))
	f.Add(-1.234, uint8(TypeDoubleLong), int8(-3))
	f.Add(1e300, uint8(TypeLong64Unsigned), int8(10))
	f.Fuzz(func(t *testing.T, v float64, typ uint8, scaler int8) {
		d, err := EncodeScaled(v, DataType(typ), int(scaler))
		if err != nil {
			return
		}
		if d.Type() != DataType(typ) {
			t.Fatalf("EncodeScaled(%g, %s, %d) gave %s", v, DataType(typ), scaler, d.Type())
		}
		b, err := AppendData(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeData(b)
		if err != nil || !reflect.DeepEqual(back, d) {
			t.Fatalf("%#v does not survive encoding: %#v, %v", d, back, err)
		}
		var raw float64
		switch x := d.(type) {
		case Float32, Float64:
			return
		case Integer:
			raw = float64(x)
		case Long:
			raw = float64(x)
		case DoubleLong:
			raw = float64(x)
		case Long64:
			raw = float64(x)
		case Unsigned:
			raw = float64(x)
		case LongUnsigned:
			raw = float64(x)
		case DoubleLongUnsigned:
			raw = float64(x)
		case Long64Unsigned:
			raw = float64(x)
		}
		unit := math.Pow10(int(scaler))
		if diff := math.Abs(raw*unit - v); diff > unit/2*(1+1e-9)+math.Abs(v)*1e-12 {
			t.Fatalf("EncodeScaled(%g, %s, %d) = %v: %g off", v, DataType(typ), scaler, d, diff)
		}
	})
}
