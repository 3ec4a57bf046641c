package devices

import (
	"errors"
	"math"
	"testing"

	"holdup/proto698"
)

func TestUplinkData(t *testing.T) {
	volts := Point{Name: "ua", UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}
	for _, c := range []struct {
		p    Point
		v    float64
		want proto698.Data // nil: not representable
	}{
		{Point{Name: "plain"}, 224.13, proto698.Float64(224.13)},
		{volts, 224.13, proto698.LongUnsigned(2241)},
		{volts, 7000, nil},
		{volts, -1, nil},
		{Point{Name: "p", UplinkType: proto698.TypeDoubleLong, UplinkScaler: -1}, -5999.96, proto698.DoubleLong(-60000)},
		{Point{Name: "e", UplinkType: proto698.TypeDoubleLongUnsigned, UplinkScaler: -2}, 12.345, proto698.DoubleLongUnsigned(1235)},
	} {
		got, err := c.p.UplinkData(c.v)
		if c.want == nil {
			if !errors.Is(err, proto698.ErrNotRepresentable) {
				t.Errorf("%s: UplinkData(%g) = %v, %v; want ErrNotRepresentable", c.p.Name, c.v, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: UplinkData(%g) = %#v, %v; want %#v", c.p.Name, c.v, got, err, c.want)
		}
	}
}

func TestUplinkFloat(t *testing.T) {
	volts := Point{Name: "ua", UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}
	kw := Point{Name: "kw", UplinkType: proto698.TypeDoubleLong, UplinkScaler: 3}
	for _, c := range []struct {
		p       Point
		d       proto698.Data
		want    float64
		null    bool
		typeErr bool
	}{
		{volts, proto698.LongUnsigned(2241), 224.1, false, false},
		{volts, proto698.Null{}, 0, true, false},
		{volts, proto698.DoubleLong(2241), 0, false, true},
		{volts, proto698.Float64(224.1), 0, false, true},
		{kw, proto698.DoubleLong(-12), -12000, false, false},
		{Point{Name: "plain"}, proto698.DoubleLong(7), 7, false, false},
		{Point{Name: "plain"}, proto698.Float32(1.5), 1.5, false, false},
	} {
		v, null, err := c.p.UplinkFloat(c.d)
		switch {
		case c.typeErr:
			if !errors.Is(err, ErrUplinkType) {
				t.Errorf("%s: UplinkFloat(%#v) = %g, %v, %v; want ErrUplinkType", c.p.Name, c.d, v, null, err)
			}
		case err != nil || null != c.null || v != c.want:
			t.Errorf("%s: UplinkFloat(%#v) = %g, %v, %v; want %g, %v", c.p.Name, c.d, v, null, err, c.want, c.null)
		}
	}
}

func TestValueRange(t *testing.T) {
	for _, c := range []struct {
		p      Point
		lo, hi float64
		ok     bool
	}{
		{Point{Kind: KindCoil}, 0, 1, true},
		{Point{Kind: KindLine}, 0, 1, true},
		{Point{Kind: KindHolding}, 0, 65535, true},
		{Point{Kind: KindInput, Type: TypeS32, Scale: 0.001}, -2147483.648, 2147483.647, true},
		{Point{Kind: KindInput, Type: TypeS16, Scale: -2}, -65534, 65536, true},
		{Point{Kind: KindHolding, Type: TypeU32, Scale: 0.1}, 0, 429496729.5, true},
		{Point{Kind: KindHolding, Type: TypeF32}, 0, 0, false},
		{Point{Item: "00100200"}, 0, 0, false},
	} {
		lo, hi, ok := c.p.ValueRange()
		if ok != c.ok || (ok && (math.Abs(lo-c.lo) > 1e-6 || math.Abs(hi-c.hi) > 1e-6)) {
			t.Errorf("%+v: ValueRange = %g, %g, %v; want %g, %g, %v", c.p, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

func TestStandardUplink(t *testing.T) {
	for _, c := range []struct {
		oad    uint32
		typ    proto698.DataType
		scaler int
		ok     bool
	}{
		{0x20000201, proto698.TypeLongUnsigned, -1, true},
		{0x20010203, proto698.TypeDoubleLong, -3, true},
		{0x20040200, proto698.TypeDoubleLong, -1, true},
		{0x00100201, proto698.TypeDoubleLongUnsigned, -2, true},
		{0x20000300, 0, 0, false}, // attribute 3 is the Scaler_Unit, not a value
		{0x2F000200, 0, 0, false},
	} {
		typ, scaler, _, ok := StandardUplink(c.oad)
		if ok != c.ok || typ != c.typ || scaler != c.scaler {
			t.Errorf("StandardUplink(%08X) = %s, %d, %v; want %s, %d, %v", c.oad, typ, scaler, ok, c.typ, c.scaler, c.ok)
		}
	}
}

// FuzzUplinkFloat: what UplinkData sends, UplinkFloat reads back within
// half a unit of the scaler.
func FuzzUplinkFloat(f *testing.F) {
	f.Add(224.1, uint8(proto698.TypeLongUnsigned), int8(-1))
	f.Add(-3.5, uint8(proto698.TypeLong), int8(0))
	f.Fuzz(func(t *testing.T, v float64, typ uint8, scaler int8) {
		p := Point{Name: "f", UplinkType: proto698.DataType(typ), UplinkScaler: int(scaler)}
		d, err := p.UplinkData(v)
		if err != nil {
			return
		}
		back, null, err := p.UplinkFloat(d)
		if err != nil || null {
			t.Fatalf("UplinkFloat(%#v) = %g, %v, %v", d, back, null, err)
		}
		unit := math.Pow10(int(scaler))
		if proto698.IsFloat(p.UplinkType) {
			unit = 0
		}
		if p.UplinkType == proto698.TypeFloat32 {
			unit = math.Abs(v) * 1e-6
		}
		if diff := math.Abs(back - v); diff > unit/2*(1+1e-9)+math.Abs(v)*1e-12 {
			t.Fatalf("%g sent as %#v reads back as %g", v, d, back)
		}
	})
}
