package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const supercapTable = `
[power.supercap]
iio_device = "/sys/bus/iio/devices/iio:device0"
channel = 1
empty_v = 2.5
`

// powerEndConfig adds keys to [power] (and optionally a supercap table).
func powerEndConfig(keys, supercap string) string {
	s := strings.Replace(minimal, "restore_v = 187", "restore_v = 187\n"+keys, 1)
	return strings.Replace(s, "[ac_sampling]", supercap+"\n[ac_sampling]", 1)
}

func TestPowerEndKeys(t *testing.T) {
	c, err := Parse([]byte(powerEndConfig(`shutdown_command = ["systemctl", "poweroff"]
shutdown_timeout = "5s"
shutdown_report_oad = "2F0F0200"
min_start_charge = 0.8
start_charge_timeout = "90s"`, supercapTable+"full_v = 5.0\ncapacitance_f = 1.0\nload_w = 0.1\n")), "end.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := c.Power.End
	if !slices.Equal(e.ShutdownCommand, []string{"systemctl", "poweroff"}) || e.ShutdownTimeout != 5*time.Second ||
		e.ShutdownReportOAD != "2F0F0200" || e.MinStartCharge != 0.8 || e.StartChargeTimeout != 90*time.Second {
		t.Fatalf("power end %+v", e)
	}
	if s := c.Power.Supercap; s.Farads != 1 || s.LoadW != 0.1 || s.FullV != 5 {
		t.Fatalf("supercap %+v", s)
	}
}

func TestPowerEndErrors(t *testing.T) {
	for _, tc := range []struct {
		name, keys, supercap, want string
	}{
		{"command not an array", `shutdown_command = "poweroff"`, "", `key "power.shutdown_command": must be a non-empty array`},
		{"command empty", `shutdown_command = []`, "", `key "power.shutdown_command": must be a non-empty array`},
		{"command element", `shutdown_command = ["systemctl", 3]`, "", `key "power.shutdown_command": element 1 must be a non-empty string`},
		{"report oad", `shutdown_report_oad = "2F0F02"`, "", `key "power.shutdown_report_oad": must be 8 hex digits`},
		{"charge above 1", `min_start_charge = 80`, supercapTable + "full_v = 5.0\n", `key "power.min_start_charge": must be a share`},
		{"charge without supercap", `min_start_charge = 0.8`, "", `key "power.min_start_charge": needs [power.supercap] with full_v`},
		{"charge without full_v", `min_start_charge = 0.8`, supercapTable, `key "power.min_start_charge": needs [power.supercap] with full_v`},
		{"farads without load", ``, supercapTable + "capacitance_f = 1.0\n", `key "power.supercap.load_w": capacitance_f and load_w go together`},
		{"load negative", ``, supercapTable + "capacitance_f = 1.0\nload_w = -1\n", `key "power.supercap.load_w": must be in 0..1000 W`},
		{"timeout too short", `start_charge_timeout = "10ms"`, "", "power.start_charge_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(powerEndConfig(tc.keys, tc.supercap)), "end.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestHoldUpEstimate(t *testing.T) {
	for _, tc := range []struct {
		name, supercap, budget string
		want                   time.Duration
		from                   string
	}{
		{"configured", "", "", 180 * time.Second, "configured holdup_budget"},
		{"no energy parameters", supercapTable + "full_v = 5.0\n", "", 180 * time.Second, "configured holdup_budget"},
		// 1 F from 5 V to 2.5 V at 0.1 W: 93.75 s, rounded.
		{"from the capacitor", supercapTable + "full_v = 5.0\ncapacitance_f = 1.0\nload_w = 0.1\n", "", 94 * time.Second, "supercap 1 F, 5 -> 2.5 V at 0.1 W"},
		{"bounded by the configured time", supercapTable + "full_v = 5.0\ncapacitance_f = 1.0\nload_w = 0.1\n", `holdup_budget = "60s"`, 60 * time.Second, "configured holdup_budget; the supercap 1 F, 5 -> 2.5 V at 0.1 W would hold 1m34s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(powerEndConfig(tc.budget, tc.supercap)), "est.toml")
			if err != nil {
				t.Fatal(err)
			}
			d, from := c.Power.HoldUpEstimate()
			if d != tc.want || from != tc.from {
				t.Fatalf("estimate %v (%s), want %v (%s)", d, from, tc.want, tc.from)
			}
		})
	}
	c, err := Parse([]byte(minimal), "min.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Power.HoldUpText(), "180 s (configured holdup_budget), final flush 150 s after the loss"; got != want {
		t.Fatalf("HoldUpText %q, want %q", got, want)
	}
}
