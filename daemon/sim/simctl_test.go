package sim

import (
	"context"
	"io"
	"testing"
)

// TestSimControlCommandErrors: the sim-control protocol's "done" lines
// name what was wrong in the words scripts match on.
func TestSimControlCommandErrors(t *testing.T) {
	s := startSim(t, t.TempDir(), nil)
	c := newSimControl(io.Discard)
	for _, tc := range []struct{ line, err string }{
		{"control nope limit 1", `control: no device "nope"`},
		{"control sim-inverter nope 1", `control: device "sim-inverter" has no control point "nope"`},
		{"control sim-inverter power 1", `control: device "sim-inverter" has no control point "power"`},
		{"control sim-inverter limit x", `control: value "x": strconv.ParseFloat: parsing "x": invalid syntax`},
		{"bogus", `unknown command "bogus" (loss, restore, control DEVICE POINT VALUE, fault DEVICE crc|truncate|extra|silent N, supercap load W, quit)`},
		{"supercap load x", `supercap load: watts "x": strconv.ParseFloat: parsing "x": invalid syntax`},
		{"supercap load 0", `sim: supercap load 0 W: want (0, 1000]`},
		{"supercap load 20", ""},
		{"fault sim-inverter crc x", `fault: count "x": strconv.Atoi: parsing "x": invalid syntax`},
		{"fault sim-inverter noise 1", `fault: sim: fault "noise": want crc, truncate, extra or silent`},
		{"fault sim-meter crc 1", `fault: sim: no simulated Modbus slave for device "sim-meter"`},
		{"fault sim-inverter crc 0", `fault: sim: fault count 0: want 1 to 100`},
		{"control sim-inverter limit 42", ""},
	} {
		err := c.command(context.Background(), s.d, s.rig, tc.line)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("%q: error %q, want %q", tc.line, got, tc.err)
		}
	}
}
