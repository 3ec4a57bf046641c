package config

import (
	"strings"
	"testing"
)

// TestUplinkControlKeys: the control rate has a terminal's defaults, takes
// integers and fractions, and refuses what is out of range or mistyped.
func TestUplinkControlKeys(t *testing.T) {
	for _, tc := range []struct {
		add   string
		rate  float64
		burst int
	}{
		{"", DefaultControlRate, DefaultControlBurst},
		{"control_rate = 5\ncontrol_burst = 20\n", 5, 20},
		{"control_rate = 0.5\n", 0.5, DefaultControlBurst},
	} {
		c, err := Parse([]byte(minimal+uplinkSection+tc.add), "control.toml")
		if err != nil {
			t.Fatalf("%q: %v", tc.add, err)
		}
		if c.Uplink.ControlRate != tc.rate || c.Uplink.ControlBurst != tc.burst {
			t.Errorf("%q: control_rate %v, control_burst %v; want %v, %v", tc.add, c.Uplink.ControlRate, c.Uplink.ControlBurst, tc.rate, tc.burst)
		}
	}
	for _, tc := range []struct{ add, key, msg string }{
		{"control_rate = 0\n", "uplink.control_rate", "between"},
		{"control_rate = 5000\n", "uplink.control_rate", "between"},
		{"control_rate = \"fast\"\n", "uplink.control_rate", "number"},
		{"control_burst = 0\n", "uplink.control_burst", ""},
		{"control_burst = 1.5\n", "uplink.control_burst", ""},
	} {
		text := minimal + uplinkSection + tc.add
		assertOneError(t, text, tc.key, tc.msg, strings.TrimSuffix(tc.add, "\n"))
	}
}
