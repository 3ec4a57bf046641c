package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"holdup/proto698"
)

const uplinkSection = `
[uplink]
master = "192.0.2.1:7000"
terminal_address = "000000000322"
`

// TestUplinkClockKeys: the master may not set the clock unless the file
// says so; the step bound has a default and a range.
func TestUplinkClockKeys(t *testing.T) {
	for _, tc := range []struct {
		add  string
		set  bool
		step time.Duration
	}{
		{"", false, time.Hour},
		{"set_clock = true\n", true, time.Hour},
		{"set_clock = true\nclock_max_step = \"10m\"\n", true, 10 * time.Minute},
	} {
		c, err := Parse([]byte(minimal+uplinkSection+tc.add), "clock.toml")
		if err != nil {
			t.Fatalf("%q: %v", tc.add, err)
		}
		if c.Uplink.SetClock != tc.set || c.Uplink.ClockMaxStep != tc.step {
			t.Errorf("%q: set_clock %v, clock_max_step %v; want %v, %v", tc.add, c.Uplink.SetClock, c.Uplink.ClockMaxStep, tc.set, tc.step)
		}
	}
	for _, tc := range []struct{ add, key, msg string }{
		{"set_clock = \"yes\"\n", "uplink.set_clock", "true or false"},
		{"clock_max_step = \"0s\"\n", "uplink.clock_max_step", ""},
		{"set_clok = true\n", "uplink.set_clok", "set_clock"},
	} {
		text := minimal + uplinkSection + tc.add
		assertOneError(t, text, tc.key, tc.msg, strings.TrimSuffix(tc.add, "\n"))
	}
}

// assertOneError parses text and wants exactly one error, for key, whose
// message contains msg, on the line holding at.
func assertOneError(t *testing.T, text, key, msg, at string) {
	t.Helper()
	_, err := Parse([]byte(text), "case.toml")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("%s: %v, want an ErrorList", key, err)
	}
	if len(list) != 1 || list[0].Key != key || !strings.Contains(list[0].Msg, msg) {
		t.Fatalf("want one error for %s containing %q; got:\n%v", key, msg, err)
	}
	if want := lineOfText(t, text, at); list[0].Line != want {
		t.Errorf("%v: line %d, want %d", list[0], list[0].Line, want)
	}
}

// TestPointUplinkType: the data type and scaler a point goes to the
// master with: given, the standard's for an element of a well-known
// object, float64 otherwise.
func TestPointUplinkType(t *testing.T) {
	for _, tc := range []struct {
		name   string
		point  string // replaces "address = 100" in minimal's holding u16 point
		typ    proto698.DataType
		scaler int
	}{
		{"not exposed", "address = 100", 0, 0},
		{"own object: float64", "address = 100\n  uplink_oad = \"2F000200\"", 0, 0},
		{"whole array attribute: float64 as before", "address = 100\n  uplink_oad = \"20000200\"", 0, 0},
		{"voltage element: the standard's", "address = 100\n  scale = 0.1\n  uplink_oad = \"20000201\"", proto698.TypeLongUnsigned, -1},
		{"frequency: the standard's", "address = 100\n  scale = 0.01\n  uplink_oad = \"200F0200\"", proto698.TypeLongUnsigned, -2},
		{"given", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"double-long-unsigned\"\n  uplink_scaler = -3",
			proto698.TypeDoubleLongUnsigned, -3},
		{"given type, no scaler", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"long-unsigned\"", proto698.TypeLongUnsigned, 0},
		{"scaler on the standard's type", "address = 100\n  uplink_oad = \"20000202\"\n  uplink_scaler = 0", proto698.TypeLongUnsigned, 0},
		{"float32", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"float32\"", proto698.TypeFloat32, 0},
		{"positive scaler", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"unsigned\"\n  uplink_scaler = 3", proto698.TypeUnsigned, 3},
	} {
		c, err := Parse([]byte(strings.Replace(minimal, "address = 100", tc.point, 1)), "type.toml")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		p := c.Devices[0].Points[0]
		if p.UplinkType != tc.typ || p.UplinkScaler != tc.scaler {
			t.Errorf("%s: %s at %d, want %s at %d", tc.name, p.UplinkType, p.UplinkScaler, tc.typ, tc.scaler)
		}
	}
}

// TestPointUplinkTypeInvalid: each mistake is one error naming the key and
// its line.
func TestPointUplinkTypeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, point, key, msg, at string
	}{
		{"unknown type", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"uint16\"",
			"device[0].point[0].uplink_type", "must be one of integer|long|", "uint16"},
		{"not a string", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = 18",
			"device[0].point[0].uplink_type", "must be a string", "uplink_type"},
		{"scaler out of range", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"long\"\n  uplink_scaler = -11",
			"device[0].point[0].uplink_scaler", "must be in -10..10", "uplink_scaler"},
		{"scaler without a type", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_scaler = -1",
			"device[0].point[0].uplink_scaler", "needs uplink_type", "uplink_scaler"},
		{"float with a scaler", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"float64\"\n  uplink_scaler = -1",
			"device[0].point[0].uplink_scaler", "float64 carries no scaler", "uplink_scaler"},
		{"the terminal's own object", "address = 100\n  uplink_oad = \"40000200\"",
			"device[0].point[0].uplink_oad", "the terminal's own", "uplink_oad"},
		{"type without uplink_oad", "address = 100\n  uplink_type = \"long\"",
			"device[0].point[0].uplink_type", "add uplink_oad", "uplink_type"},
		{"u16 does not fit long", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"long\"",
			"device[0].point[0].uplink_type", "long at scaler 0 carries -32768..32767, but the point reads 0..65535 (holding u16 × scale 1)", "uplink_type"},
		{"scaler too fine", "address = 100\n  uplink_oad = \"2F000200\"\n  uplink_type = \"long-unsigned\"\n  uplink_scaler = -1",
			"device[0].point[0].uplink_type", "carries 0..6553.5, but the point reads 0..65535", "uplink_type"},
		{"the standard's type does not fit", "address = 100\n  uplink_oad = \"20000201\"",
			"device[0].point[0].uplink_oad", "the standard's for 2000", "uplink_oad"},
		{"signed into unsigned", "address = 100\n  uplink_oad = \"20000201\"\n  uplink_scaler = -1\n  type = \"s16\"\n  scale = 0.1",
			"device[0].point[0].uplink_scaler", "the point reads -3276.8..3276.7", "uplink_scaler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertOneError(t, strings.Replace(minimal, "address = 100", tc.point, 1), tc.key, tc.msg, tc.at)
		})
	}
}
