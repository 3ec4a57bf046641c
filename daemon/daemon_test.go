package daemon

import (
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"holdup/config"
	"holdup/devices"
	"holdup/power"
	"holdup/sched"
	"holdup/store"
)

func TestCriticalRecord(t *testing.T) {
	at := time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)
	many := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		many[k] = k
	}
	cases := []struct {
		name string
		in   sched.CriticalRecord
		want store.Record
	}{
		{"checked modbus reading", sched.CriticalRecord{Business: "collection", Interface: "/dev/ttyS2", Device: "inv", Point: "power",
			Class: sched.Collection, Time: at, ChecksumKind: devices.ChecksumCRC16Modbus, Checksum: 0xBEEF, Value: 131073},
			store.Record{Time: at, Business: store.BusinessCollection, Interface: "/dev/ttyS2", Device: "inv",
				Attrs: map[string]any{"point": "power", "business": "collection"}, Value: 131073.0,
				Integrity: store.Integrity{Kind: store.IntegrityCRC16Modbus, Value: 0xBEEF}}},
		{"failed control action", sched.CriticalRecord{Business: "control", Interface: "/dev/gpiochip1", Device: "relay", Point: "trip",
			Class: sched.Control, Time: at, Value: 1, Invalid: true, Err: "line busy", Checksum: 7},
			store.Record{Time: at, Business: store.BusinessControl, Interface: "/dev/gpiochip1", Device: "relay",
				Attrs: map[string]any{"point": "trip", "business": "control", "error": "line busy"}, Value: 1.0, Invalid: true}},
		{"NaN is invalid, never a value", sched.CriticalRecord{Interface: "x", Device: "d", Point: "p", Class: sched.Collection, Time: at,
			ChecksumKind: devices.ChecksumSum8, Checksum: 0x12, Value: math.NaN()},
			store.Record{Time: at, Business: store.BusinessCollection, Interface: "x", Device: "d", Attrs: map[string]any{"point": "p"},
				Invalid: true, Integrity: store.Integrity{Kind: store.IntegritySum8, Value: 0x12}}},
	}
	for _, c := range cases {
		got := criticalRecord(c.in)
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if got.Time != c.want.Time || got.Business != c.want.Business || got.Interface != c.want.Interface || got.Device != c.want.Device ||
			got.Value != c.want.Value || got.Invalid != c.want.Invalid || got.Integrity != c.want.Integrity || len(got.Attrs) != len(c.want.Attrs) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
		for k, v := range c.want.Attrs {
			if got.Attrs[k] != v {
				t.Errorf("%s: attr %s = %v, want %v", c.name, k, got.Attrs[k], v)
			}
		}
	}
	// Attributes are capped at the journal's limit, the point kept.
	r := criticalRecord(sched.CriticalRecord{Interface: "x", Device: "d", Point: "p", Time: at, Attrs: many, Err: strings.Repeat("é", 300)})
	if err := r.Validate(); err != nil || len(r.Attrs) != 8 || r.Attrs["point"] != "p" {
		t.Fatalf("capped attrs: %v %v", r.Attrs, err)
	}
}

// TestSimConfigDevices: the simulator's configuration gives devices the
// runtime takes as they are, each on the interface its IO goes through.
func TestSimConfigDevices(t *testing.T) {
	cfg, err := config.Load("../testdata/sim.toml")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := devices.Validate(cfg.Devices, nil)
	if err != nil || len(valid) != len(cfg.Devices) {
		t.Fatalf("sim devices do not validate: %v", err)
	}
	byName := map[string]devices.Device{}
	for _, d := range valid {
		byName[d.Name] = d
	}
	if d := byName["sim-plc-meter"]; d.Port != cfg.HPLC.Port || devices.InterfaceOf(d) != cfg.HPLC.Port || d.Points[0].Item != "00010000" || !d.MainsOnly {
		t.Errorf("hplc device: %+v (must sit on the module's port)", d)
	}
	if d := byName["sim-relay"]; devices.InterfaceOf(d) != "/dev/gpiochip1" || d.Points[0].Kind != devices.KindLine {
		t.Errorf("gpio device: %+v", d)
	}
	if d := byName["sim-inverter"]; d.Port != "/dev/ttySIM2" || d.Points[0].Period != 5*time.Second || d.Points[0].Type != devices.TypeS32 {
		t.Errorf("modbus device: %+v", d)
	}
	if p := byName["sim-meter"].Points[0]; p.Item != "00100200" {
		t.Errorf("dlt698 point: %+v", p)
	}
}

// TestSystemdNotify: with a notify socket the daemon sends READY=1 once
// start-up is done, WATCHDOG=1 from its main loop (each ping after the
// monitor goroutine answered), and STOPPING=1 on shutdown.

// TestStatusLineNamesOnlyMissingParts: a part the daemon runs without makes
// the status line DEGRADED until it comes up; a warning about what it
// coped with (records lost to journal damage, a data store replaced) is an
// alarm only.
func TestStatusLineNamesOnlyMissingParts(t *testing.T) {
	d := &Daemon{log: slog.New(slog.DiscardHandler), alarms: newAlarmList(8)}
	d.warn(power.AlarmJournal, errors.New("2 records lost to damage"))
	d.warn(alarmDataStoreDamaged, errors.New("moved aside"))
	if got := d.statusLine(); got != "protecting: every configured part up" {
		t.Fatalf("after warnings: %q", got)
	}
	d.problem(power.AlarmLine, errors.New("no chip"))
	d.problem(power.AlarmReplay, errors.New("data store held"))
	if got, want := d.statusLine(), "DEGRADED: protecting without power-fail-line, replay (see the alarms)"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	d.recovered(power.AlarmReplay)
	if got, want := d.statusLine(), "DEGRADED: protecting without power-fail-line (see the alarms)"; got != want {
		t.Fatalf("after the data store opened: %q, want %q", got, want)
	}
	if n := len(d.alarms.recent()); n != 4 {
		t.Fatalf("%d alarms, want 4 (warnings are alarms too)", n)
	}
}

// TestStatusLineTellsTheChargeWait: while start-up holds collection back
// for the supercap, systemd's status says so after the parts; the end of
// the wait takes it off again.
func TestStatusLineTellsTheChargeWait(t *testing.T) {
	d := &Daemon{log: slog.New(slog.DiscardHandler), alarms: newAlarmList(8)}
	d.setChargeStatus("collection held: 41 % of 80 %")
	if got, want := d.statusLine(), "protecting: every configured part up; start-up: collection held: 41 % of 80 %"; got != want {
		t.Fatalf("during the wait: %q, want %q", got, want)
	}
	d.problem(power.AlarmLine, errors.New("no chip"))
	if got, want := d.statusLine(), "DEGRADED: protecting without power-fail-line (see the alarms); start-up: collection held: 41 % of 80 %"; got != want {
		t.Fatalf("degraded during the wait: %q, want %q", got, want)
	}
	d.setChargeStatus("")
	if got, want := d.statusLine(), "DEGRADED: protecting without power-fail-line (see the alarms)"; got != want {
		t.Fatalf("after the wait: %q, want %q", got, want)
	}
}
