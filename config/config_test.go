package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"holdup/devices"
	"holdup/eeprom"
)

// minimal is the smallest valid file; cases below break one thing in it.
const minimal = `[eeprom]
bus = "/dev/i2c-5"
address = 0x50
part = "at24c256"

[power]
nominal_v = 220
loss_v = 154
restore_v = 187

[power.fail_line]
chip = "gpiochip0"
offset = 17
active_low = true

[ac_sampling]
port = "/dev/ttyS2"
address = "000000000001"

[[device]]
name = "inv1"
driver = "modbus-rtu"
port = "/dev/ttyS1"
unit = 1

  [[device.point]]
  name = "p"
  class = "collection"
  period = "15s"
  kind = "holding"
  address = 100

[store]
path = "/var/lib/holdup/data.db"
`

func TestMinimalDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), "min.toml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.EEPROM.BusNum != 5 || c.EEPROM.Address != 0x50 || c.EEPROM.Part.PageSize != 64 || c.EEPROM.Part.Size != 32768 || c.EEPROM.Part.Name != "at24c256" {
		t.Errorf("eeprom = %+v", c.EEPROM)
	}
	wantPower := Power{FailLine: GPIOLine{Chip: "gpiochip0", Offset: 17, ActiveLow: true},
		NominalV: 220, LossV: 154, RestoreV: 187, PhaseRule: "all", MaxV: 440, ConfirmTimeout: time.Second,
		Settle: 20 * time.Millisecond, MaxSettle: time.Second, Recheck: 2 * time.Second,
		ReportEvery: time.Minute, HoldupBudget: 180 * time.Second, FinalFlushMargin: 30 * time.Second,
		End: PowerEnd{ShutdownTimeout: 20 * time.Second, StartChargeTimeout: 2 * time.Minute}}
	if !reflect.DeepEqual(c.Power, wantPower) {
		t.Errorf("power = %+v\nwant    %+v", c.Power, wantPower)
	}
	if c.ACSampling != (ACSampling{Serial: Serial{Port: "/dev/ttyS2", Baud: 9600, DataBits: 8, Parity: "even", StopBits: 1},
		Address: "000000000001", Timeout: 500 * time.Millisecond, Retries: 2, Preamble: 4}) {
		t.Errorf("ac_sampling = %+v", c.ACSampling)
	}
	if c.Uplink != nil || c.HPLC != nil || c.Console != nil || c.Sim.Enabled {
		t.Errorf("optional sections present: %+v %+v %+v %+v", c.Uplink, c.HPLC, c.Console, c.Sim)
	}
	if c.Sched != (Sched{ErrorWindow: 20, ErrorThreshold: 5, QueueLen: 64, JournalQueue: 64, SilentBackoff: 30 * time.Second, SilentBackoffMax: 10 * time.Minute}) {
		t.Errorf("sched = %+v", c.Sched)
	}
	if c.Log != (LogConfig{Level: "info", Format: "text"}) {
		t.Errorf("log = %+v", c.Log)
	}
	if len(c.Devices) != 1 {
		t.Fatalf("devices = %d", len(c.Devices))
	}
	d := c.Devices[0]
	if !d.Enabled || d.Driver != devices.DriverModbusRTU || d.Port != "/dev/ttyS1" || d.Baud != 9600 || d.DataBits != 8 || d.Parity != "N" || d.StopBits != 1 ||
		d.Unit != 1 || d.Timeout != time.Second || SerialOf(d) != (Serial{Port: "/dev/ttyS1", Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1}) {
		t.Errorf("device = %+v", d)
	}
	p := d.Points[0]
	want := devices.Point{Name: "p", Class: devices.ClassCollection, Integrity: devices.IntegrityChecked, Period: 15 * time.Second,
		Deadline: 5 * time.Second, Scale: 1, Register: 100, Kind: devices.KindHolding, Type: devices.TypeU16}
	if p != want {
		t.Errorf("point = %+v, want %+v", p, want)
	}
	if c.Line("device[0].point[0].period") != 29 || c.Line("device[0].point[0].address") != 31 || c.Line("power.loss_v") != 8 {
		t.Errorf("Line: period %d loss_v %d", c.Line("device[0].point[0].period"), c.Line("power.loss_v"))
	}
}

// TestStatusSocket: status.socket when set; beside the data store for a
// [sim] configuration without it; the default otherwise.
func TestStatusSocket(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		{"default", "", DefaultStatusSocket},
		{"set", "[status]\nsocket = \"/run/t1/status.sock\"\n", "/run/t1/status.sock"},
		{"sim", "[sim]\nenabled = true\neeprom_image = \"/tmp/sim/eeprom.bin\"\n", "/var/lib/holdup/holdup.sock"},
		{"sim and set", "[sim]\nenabled = true\neeprom_image = \"/tmp/sim/eeprom.bin\"\n[status]\nsocket = \"/tmp/s.sock\"\n", "/tmp/s.sock"},
	} {
		c, err := Parse([]byte(minimal+"\n"+tc.extra), "case.toml")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.StatusSocket(); got != tc.want {
			t.Errorf("%s: StatusSocket() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestExampleFiles(t *testing.T) {
	for _, f := range []string{"../deploy/holdup.toml", "../testdata/sim.toml"} {
		t.Run(f, func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.File != f || len(c.Devices) < 4 || c.Store.Path == "" || c.Console == nil {
				t.Errorf("loaded %+v", c)
			}
			drivers := map[devices.DriverName]bool{}
			for _, d := range c.Devices {
				drivers[d.Driver] = true
			}
			for _, d := range []devices.DriverName{devices.DriverModbusRTU, devices.DriverDLT698, devices.DriverHPLC, devices.DriverGPIOOutput} {
				if !drivers[d] {
					t.Errorf("example has no %s device", d)
				}
			}
			// What config builds, the runtime runs: devices.Validate
			// (without the port check) refuses none of it.
			if valid, err := devices.Validate(c.Devices, nil); err != nil || len(valid) != len(c.Devices) {
				t.Errorf("devices.Validate: %d of %d valid: %v", len(valid), len(c.Devices), err)
			}
		})
	}
	c, err := Load("../deploy/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Power.Supercap == nil || *c.Power.Supercap != (Supercap{IIODevice: "/sys/bus/iio/devices/iio:device0", Channel: 1, Divider: 2, EmptyV: 2.8, FullV: 5.4, Farads: 25, LoadW: 1.5, SampleEvery: time.Second}) || c.HPLC.ResetLine.Offset != 22 ||
		c.Uplink.Master != "10.0.0.10:9000" || c.Devices[0].Points[1].Type != devices.TypeU32 || c.Devices[0].Points[1].Integrity != devices.IntegrityChecked ||
		c.Devices[0].Points[0].Scale != 0.001 || c.Devices[0].Points[0].Register != 30775 ||
		c.Devices[1].Points[0].Item != "00100200" || c.Devices[2].Points[0].Item != "00010000" || c.Devices[4].Port != "gpiochip1" || c.Devices[4].Points[0].Register != 4 ||
		c.Devices[3].Points[0].Integrity != devices.IntegrityUnchecked || c.Devices[4].Points[0].Kind != devices.KindLine || c.Devices[4].Points[0].Scale != 1 {
		t.Errorf("deploy example decoded wrong: %+v", c)
	}
	s, err := Load("../testdata/sim.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Uplink.RetryMax != time.Minute || s.HPLC.BootTimeout != 30*time.Second || s.Store.VerifyWrites {
		t.Errorf("sim defaults: %+v %+v %+v", s.Uplink, s.HPLC, s.Store)
	}
	if !s.Sim.Enabled || s.Sim.EEPROMImage == "" || s.Console.Port != "stdio" || s.Console.PasswordHash == "" {
		t.Errorf("sim config decoded wrong: %+v %+v", s.Sim, s.Console)
	}
}

// TestDeviceModel: every driver's [[device]] of the deploy example comes
// out as the devices package runs it — the serial line with its parity as
// a letter, a modbus-tcp server and a GPIO chip as the Port, an hplc meter
// on the [hplc] module's port and line, the meter's password and operator,
// points with their item, kind, defaults and uplink OAD.
func TestDeviceModel(t *testing.T) {
	c, err := Load("../deploy/holdup.toml")
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	want := []devices.Device{
		{Name: "inverter1", Driver: devices.DriverModbusRTU, Enabled: true, Port: "/dev/ttyS1", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1,
			Unit: 1, Timeout: time.Second, DrawMW: 300, Points: []devices.Point{
				{Name: "active_power", Class: devices.ClassCollection, Integrity: devices.IntegrityChecked, Period: 15 * time.Second, Deadline: 5 * time.Second,
					Register: 30775, Kind: devices.KindInput, Type: devices.TypeS32, Scale: 0.001, UplinkOAD: 0x2F000200},
				{Name: "power_limit", Class: devices.ClassControl, Integrity: devices.IntegrityChecked, Deadline: 3 * time.Second,
					Register: 40915, Kind: devices.KindHolding, Type: devices.TypeU32, Scale: 1, UplinkOAD: 0x2F010200},
			}},
		{Name: "meter-bus", Driver: devices.DriverDLT698, Enabled: true, Port: "/dev/ttyS4", Baud: 9600, DataBits: 8, Parity: "E", StopBits: 1,
			Address: "000000000002", Timeout: time.Second, DrawMW: 150, Points: []devices.Point{
				{Name: "forward_energy", Class: devices.ClassCollection, Integrity: devices.IntegrityChecked, Period: 15 * time.Minute, Deadline: 10 * time.Second,
					Scale: 0.01, Item: "00100200"},
			}},
		{Name: "plc-meter-7", Driver: devices.DriverHPLC, Enabled: true, Port: "/dev/ttyS3", Baud: 9600, DataBits: 8, Parity: "E", StopBits: 1,
			Address: "000000000007", Timeout: 20 * time.Second, Password: "02123456", Operator: 1, MainsOnly: true, Points: []devices.Point{
				{Name: "energy_total", Class: devices.ClassCollection, Integrity: devices.IntegrityChecked, Period: time.Hour, Deadline: 30 * time.Second,
					Scale: 0.01, Item: "00010000"},
				{Name: "demand_period", Class: devices.ClassControl, Integrity: devices.IntegrityChecked, Deadline: 5 * time.Second, Scale: 1, Item: "04000103"},
			}},
		{Name: "pv-cabinet", Driver: devices.DriverModbusTCP, Enabled: true, Port: "192.168.10.20:502", Unit: 1, Timeout: time.Second,
			MainsOnly: true, DrawMW: 2500, Points: []devices.Point{
				{Name: "grid_export", Class: devices.ClassCollection, Integrity: devices.IntegrityUnchecked, Period: time.Minute, Deadline: 5 * time.Second,
					Register: 100, Kind: devices.KindInput, Type: devices.TypeF32, Scale: 1},
			}},
		{Name: "breaker-relay", Driver: devices.DriverGPIOOutput, Enabled: true, Port: "gpiochip1", DrawMW: 50, Points: []devices.Point{
			{Name: "trip", Class: devices.ClassControl, Integrity: devices.IntegrityUnchecked, Deadline: 100 * ms, Register: 4, Kind: devices.KindLine, Scale: 1},
		}},
	}
	if len(c.Devices) != len(want) {
		t.Fatalf("%d devices, want %d", len(c.Devices), len(want))
	}
	for i, w := range want {
		if got := c.Devices[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("device %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	// Validate applies no default config has not applied already.
	valid, err := devices.Validate(c.Devices, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(valid, c.Devices) {
		t.Errorf("Validate changed the devices:\n got %+v\nwant %+v", valid, c.Devices)
	}
}

// TestUplinkLiveInOutage: the per-point option that keeps a point's live
// value northbound in an outage is off unless the file sets it.
func TestUplinkLiveInOutage(t *testing.T) {
	for _, tc := range []struct {
		add  string
		want bool
	}{
		{"", false},
		{"\n  uplink_oad = \"20000200\"", false},
		{"\n  uplink_oad = \"20000200\"\n  uplink_live_in_outage = false", false},
		{"\n  uplink_oad = \"20000200\"\n  uplink_live_in_outage = true", true},
	} {
		c, err := Parse([]byte(strings.Replace(minimal, "address = 100", "address = 100"+tc.add, 1)), "live.toml")
		if err != nil {
			t.Fatalf("%q: %v", tc.add, err)
		}
		if got := c.Devices[0].Points[0].UplinkLiveInOutage; got != tc.want {
			t.Errorf("%q: UplinkLiveInOutage = %v, want %v", tc.add, got, tc.want)
		}
	}
}

// TestSerialOf: a device's line goes back to the file's terms unchanged
// (the daemon opens a DL/T 698.45 bus with it: parity none stays none).
func TestSerialOf(t *testing.T) {
	for _, s := range []Serial{
		{Port: "/dev/ttyS1", Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1},
		{Port: "/dev/ttyS4", Baud: 2400, DataBits: 8, Parity: "even", StopBits: 1},
		{Port: "/dev/ttyS5", Baud: 115200, DataBits: 7, Parity: "odd", StopBits: 2},
	} {
		var d devices.Device
		setLine(&d, s)
		if d.Parity != s.ParityLetter() || d.Port != s.Port || d.Baud != s.Baud || d.DataBits != s.DataBits || d.StopBits != s.StopBits {
			t.Errorf("%+v: device line %+v", s, d)
		}
		if got := SerialOf(d); got != s {
			t.Errorf("SerialOf = %+v, want %+v", got, s)
		}
	}
}

// TestEEPROMParts: config accepts every part of the eeprom package's table
// (the one the driver uses) and stores it whole; an unknown part is refused
// with key and line, naming the parts it knows; a part that answers on
// several addresses needs an aligned base.
func TestEEPROMParts(t *testing.T) {
	const base = "address = 0x50\npart = \"at24c256\""
	for _, p := range eeprom.Parts() {
		for _, name := range []string{p.Name, strings.ToUpper(p.Name)} {
			c, err := Parse([]byte(strings.Replace(minimal, base, "address = 0x54\npart = \""+name+"\"", 1)), "parts.toml")
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if c.EEPROM.Part != p || c.EEPROM.Address != 0x54 {
				t.Errorf("%s: part %+v at 0x%02X, want %+v", name, c.EEPROM.Part, c.EEPROM.Address, p)
			}
		}
		if p.FoldedBits == 0 {
			continue
		}
		_, err := Parse([]byte(strings.Replace(minimal, base, "address = 0x51\npart = \""+p.Name+"\"", 1)), "parts.toml")
		var list ErrorList
		if !errors.As(err, &list) || len(list) != 1 || list[0].Key != "eeprom.address" || list[0].Line != 3 ||
			!strings.Contains(list[0].Msg, fmt.Sprintf("multiple of %d", 1<<p.FoldedBits)) {
			t.Errorf("%s at 0x51: %v", p.Name, err)
		}
	}
	_, err := Parse([]byte(strings.Replace(minimal, "at24c256", "at24c1024", 1)), "parts.toml")
	want := `parts.toml:4: key "eeprom.part": unknown part "at24c1024" (known: at24c32, at24c64, at24c128, at24c256, at24c512, at24cm01, m24m02)`
	if err == nil || err.Error() != want {
		t.Errorf("unknown part: %v\nwant %s", err, want)
	}
}

// lineOfText returns the 1-based line of the first line containing sub.
func lineOfText(t *testing.T, text, sub string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("%q not in text", sub)
	return 0
}

// simHash is testdata/sim.toml's console hash: bcrypt, cost 10.
const simHash = "$2a$10$0m2TtrYiZLXsWX2LNCxwEOWFDcIWiIz9RnKQaKGAr7W5yil1biNbC"

// uplink is an [uplink] section with master = master.
func uplink(master string) string {
	return "\n[uplink]\nmaster = \"" + master + "\"\nterminal_address = \"01\"\n"
}

// tcpDevice is a modbus-tcp [[device]] at address (more: extra keys).
func tcpDevice(name, address, more string) string {
	addr := "\"" + address + "\""
	if i := strings.Index(address, " #"); i >= 0 {
		addr = "\"" + address[:i] + "\"" + address[i:]
	}
	return "[[device]]\nname = \"" + name + "\"\ndriver = \"modbus-tcp\"\naddress = " + addr + "\n" + more +
		"[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\naddress = 1\n"
}

// hplcSection is an [hplc] module for hplcMeter.
const hplcSection = "[hplc]\nport = \"/dev/ttyS4\"\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n"

// hplcMeter is an hplc [[device]] with meter address address.
func hplcMeter(name, address string) string {
	return "[[device]]\nname = \"" + name + "\"\ndriver = \"hplc\"\naddress = \"" + address + "\"\n" +
		"[[device.point]]\nname = \"e\"\nclass = \"collection\"\nperiod = \"1h\"\naddress = \"00010000\"\n"
}

// meter698 is a dlt698 [[device]] on /dev/ttyS4 with server address address.
func meter698(name, address string) string {
	return "[[device]]\nname = \"" + name + "\"\ndriver = \"dlt698\"\nport = \"/dev/ttyS4\"\naddress = \"" + address + "\"\n" +
		"[[device.point]]\nname = \"e\"\nclass = \"collection\"\nperiod = \"1h\"\naddress = \"00100200\"\n"
}

func TestInvalid(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old with new in minimal ("" old: append new)
		key      string // the key the error must name
		at       string // text on the line the error must point at ("" → no line)
		msg      string // part of the message
	}{
		{"zero loss", "loss_v = 154", "loss_v = 0", "power.loss_v", "loss_v = 0", "must be > 0 V (got 0)"},
		{"restore below loss", "restore_v = 187", "restore_v = 150", "power.restore_v", "restore_v = 150", "must be above power.loss_v 154 V"},
		{"restore equals loss", "restore_v = 187", "restore_v = 154", "power.restore_v", "restore_v = 154", "hysteresis"},
		{"loss above nominal", "loss_v = 154", "loss_v = 230", "power.loss_v", "loss_v = 230", "below power.nominal_v"},
		{"unknown key", "restore_v = 187", "restore_v = 187\nlos_v = 3", "power.los_v", "los_v = 3", `unknown key (did you mean "loss_v"?)`},
		{"unknown section", "", "\n[telemetry]\nx = 1\n", "telemetry", "[telemetry]", "unknown key"},
		{"page size", "part = \"at24c256\"", "part = \"at24c256\"\npage_size = 32", "eeprom.page_size", "page_size = 32", "at24c256 has 64-byte pages (got 32)"},
		{"unknown part", "part = \"at24c256\"", "part = \"at24c1024\"", "eeprom.part", "at24c1024", "unknown part"},
		{"address range", "address = 0x50", "address = 0x68", "eeprom.address", "0x68", "must be in 80..87 (got 104)"},
		{"m24m02 alignment", "address = 0x50\npart = \"at24c256\"", "address = 0x52\npart = \"m24m02\"", "eeprom.address", "0x52", "multiple of 4"},
		{"bad bus", `bus = "/dev/i2c-5"`, `bus = "i2c5"`, "eeprom.bus", "i2c5", "i2c-dev node"},
		{"missing eeprom part", "part = \"at24c256\"\n", "", "eeprom.part", "[eeprom]", "required"},
		{"missing section", "[store]\npath = \"/var/lib/holdup/data.db\"\n", "", "store", "", "required section [store] is missing"},
		{"wrong type", "loss_v = 154", `loss_v = "154"`, "power.loss_v", `loss_v = "154"`, "must be a number (got string 154)"},
		{"bad duration", "restore_v = 187", "restore_v = 187\nholdup_budget = \"180\"", "power.holdup_budget", "holdup_budget", `duration like "5s"`},
		{"negative duration", "restore_v = 187", "restore_v = 187\nconfirm_timeout = \"-1s\"", "power.confirm_timeout", "confirm_timeout", "must be in 1ms..1m0s (got -1s)"},
		{"defaults derive from nominal", "nominal_v = 220\nloss_v = 154\nrestore_v = 187", "nominal_v = 100\nrestore_v = 50", "power.restore_v", "restore_v = 50", "must be above power.loss_v 60 V"},
		{"max below nominal", "restore_v = 187", "restore_v = 187\nmax_v = 200", "power.max_v", "max_v = 200", "must be above power.nominal_v 220 V"},
		{"unknown phase rule", "restore_v = 187", "restore_v = 187\nphase_rule = \"three\"", "power.phase_rule", "phase_rule", `must be one of all|any (got "three")`},
		{"phase rule case", "restore_v = 187", "restore_v = 187\nphase_rule = \"ALL\"", "power.phase_rule", "phase_rule", `must be one of all|any (got "ALL")`},
		{"phase rule not a string", "restore_v = 187", "restore_v = 187\nphase_rule = 3", "power.phase_rule", "phase_rule", "must be a string (got integer 3)"},
		{"settle over max", "restore_v = 187", "restore_v = 187\nsettle = \"2s\"\nmax_settle = \"1s\"", "power.max_settle", "max_settle", "must not be below power.settle 2s"},
		{"supercap divider", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\ndivider = 0.5\nempty_v = 2.8\n", "power.supercap.divider", "divider", "must be >= 1"},
		{"supercap full below empty", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\nempty_v = 2.8\nfull_v = 2.0\n", "power.supercap.full_v", "full_v", "must be above empty_v 2.8 V"},
		{"supercap no empty", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\n", "power.supercap.empty_v", "[power.supercap]", "required"},
		{"supercap dir", "", "\n[power.supercap]\niio_device = \"/dev/iio0\"\nchannel = 1\nempty_v = 2.8\n", "power.supercap.iio_device", "/dev/iio0", "IIO device directory"},
		{"margin eats budget", "restore_v = 187", "restore_v = 187\nholdup_budget = \"10s\"\nfinal_flush_margin = \"9s\"", "power.final_flush_margin", "final_flush_margin", "must leave time"},
		{"offset and line", "offset = 17", "offset = 17\nline = \"PWR_FAIL\"", "power.fail_line.line", "line = \"PWR_FAIL\"", "either offset or line"},
		{"no offset", "offset = 17\n", "", "power.fail_line.offset", "[power.fail_line]", "required"},
		{"duplicate device", "[store]", "[[device]]\nname = \"inv1\" # dup\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.1:502\"\n[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\naddress = 1\n[store]",
			"device[1].name", "# dup", "duplicate device name \"inv1\" (first at line 21)"},
		{"unknown driver", `driver = "modbus-rtu"`, `driver = "can"`, "device[0].driver", `driver = "can"`, "must be one of modbus-rtu|modbus-tcp|dlt698|hplc|gpio-output"},
		{"key of another driver", "unit = 1", "unit = 1\nchip = \"gpiochip0\" # dup", "device[0].chip", "# dup", "not used by driver modbus-rtu"},
		{"silent backoff order", "[store]", "[sched]\nsilent_backoff = \"5m\"\nsilent_backoff_max = \"1m\"\n[store]", "sched.silent_backoff_max", "silent_backoff_max", "must not be below sched.silent_backoff 5m0s"},
		{"uplink oad not hex", "address = 100", "address = 100\n  uplink_oad = \"2000020G\"", "device[0].point[0].uplink_oad", "2000020G", "8 hex digits"},
		{"uplink oad logical name", "address = 100", "address = 100\n  uplink_oad = \"20000100\"", "device[0].point[0].uplink_oad", "20000100", "attribute 1 is the logical name"},
		{"uplink oad number", "address = 100", "address = 100\n  uplink_oad = 20000200", "device[0].point[0].uplink_oad", "uplink_oad = 20000200", "must be a string"},
		{"duplicate uplink oad", "address = 100", "address = 100\n  uplink_oad = \"20000200\"\n  [[device.point]]\n  name = \"p2\"\n  class = \"control\"\n  kind = \"coil\"\n  address = 5\n  uplink_oad = \"20000200\" # dup",
			"device[0].point[1].uplink_oad", "# dup", "uplink OAD 20000200 is already given to another point (line 32)"},
		{"live in outage not a bool", "address = 100", "address = 100\n  uplink_oad = \"20000200\"\n  uplink_live_in_outage = \"yes\"", "device[0].point[0].uplink_live_in_outage",
			`uplink_live_in_outage = "yes"`, "must be true or false (got string yes)"},
		{"live in outage unexposed", "address = 100", "address = 100\n  uplink_live_in_outage = true", "device[0].point[0].uplink_live_in_outage",
			"uplink_live_in_outage = true", "not exposed to the master station (add uplink_oad)"},
		{"live in outage control", "class = \"collection\"\n  period = \"15s\"", "class = \"control\"\n  uplink_oad = \"20000200\"\n  uplink_live_in_outage = true",
			"device[0].point[0].uplink_live_in_outage", "uplink_live_in_outage = true", "a control point has no value for the master to read"},
		{"invalid class", `class = "collection"`, `class = "telemetry"`, "device[0].point[0].class", "telemetry", "must be one of control|collection"},
		{"invalid integrity", `class = "collection"`, `class = "collection"` + "\nintegrity = \"maybe\"", "device[0].point[0].integrity", "maybe", "checked|unchecked"},
		{"deadline over period", `period = "15s"`, `period = "15s"` + "\ndeadline = \"20s\"", "device[0].point[0].deadline", "deadline", "must not exceed period 15s"},
		{"missing period", `period = "15s"`, "", "device[0].point[0].period", "[[device.point]]", "required for a collection point"},
		{"read-only control", "class = \"collection\"\n  period = \"15s\"\n  kind = \"holding\"", "class = \"control\"\n  period = \"15s\"\n  kind = \"input\"", "device[0].point[0].kind", `kind = "input"`, "input is read-only"},
		{"checked over tcp", "[store]", "[[device]]\nname = \"t1\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.1:502\"\n[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\nintegrity = \"checked\"\naddress = 1\n[store]", "device[1].point[0].integrity", `integrity = "checked"`, "modbus-tcp carries no application checksum"},
		{"missing kind", "  kind = \"holding\"\n", "", "device[0].point[0].kind", "[[device.point]]", "required (coil|discrete|holding|input)"},
		{"type on coil", "kind = \"holding\"", "kind = \"coil\"\n  type = \"f32\"", "device[0].point[0].type", `type = "f32"`, "unknown key"},
		{"register range", "address = 100", "address = 65535\n  type = \"u32\"", "device[0].point[0].address", "address = 65535", "must be in 0..65534"},
		{"unit range", "unit = 1", "unit = 0", "device[0].unit", "unit = 0", "must be in 1..247"},
		{"tcp unit range", "[store]", "[[device]]\nname = \"t1\"\ndriver = \"modbus-tcp\"\naddress = \"10.0.0.1:502\"\nunit = 0\n[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\naddress = 1\n[store]", "device[1].unit", "unit = 0", "must be in 1..255"},
		{"duplicate point", "[store]", "  [[device.point]]\n  name = \"p\" # dup\n  class = \"control\"\n  kind = \"coil\"\n  address = 5\n[store]",
			"device[0].point[1].name", "# dup", "duplicate point name \"p\""},
		{"hplc control without password", "[store]", "[hplc]\nport = \"/dev/ttyS4\"\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n[[device]]\nname = \"m7\"\ndriver = \"hplc\"\naddress = \"000000000007\"\n[[device.point]]\nname = \"dp\"\nclass = \"control\" # here\naddress = \"04000103\"\n[store]",
			"device[1].point[0].class", "# here", "needs the device's password"},
		{"hplc password", "[store]", "[hplc]\nport = \"/dev/ttyS4\"\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n[[device]]\nname = \"m7\"\ndriver = \"hplc\"\naddress = \"000000000007\"\npassword = \"123456\"\n[[device.point]]\nname = \"dp\"\nclass = \"control\"\naddress = \"04000103\"\n[store]",
			"device[1].password", "123456", "8 hex digits: the privilege level then the 6-digit password"},
		{"hplc operator", "[store]", "[hplc]\nport = \"/dev/ttyS4\"\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n[[device]]\nname = \"m7\"\ndriver = \"hplc\"\naddress = \"000000000007\"\npassword = \"02123456\"\noperator = \"op1\"\n[[device.point]]\nname = \"dp\"\nclass = \"control\"\naddress = \"04000103\"\n[store]",
			"device[1].operator", "op1", "operator code of 8 hex digits"},
		{"hplc without section", "[store]", "[[device]]\nname = \"m7\"\ndriver = \"hplc\"\naddress = \"000000000007\"\n[[device.point]]\nname = \"e\"\nclass = \"collection\"\nperiod = \"1h\"\naddress = \"00010000\"\n[store]",
			"device[1].driver", `driver = "hplc"`, "needs an [hplc] section"},
		{"bus settings differ", "[store]", "[[device]]\nname = \"inv2\"\ndriver = \"modbus-rtu\"\nport = \"/dev/ttyS1\" # dup\nunit = 2\nparity = \"even\"\n[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\naddress = 1\n[store]",
			"device[1].port", "# dup", "has /dev/ttyS1 9600 8N1, this has /dev/ttyS1 9600 8E1"},
		{"unit reused on bus", "[store]", "[[device]]\nname = \"inv2\"\ndriver = \"modbus-rtu\"\nport = \"/dev/ttyS1\" # dup\nunit = 1 # same\n[[device.point]]\nname = \"q\"\nclass = \"control\"\nkind = \"coil\"\naddress = 1\n[store]",
			"device[1].unit", "# same", "unit 1 on bus /dev/ttyS1 is already device[0].unit (line 24)"},
		{"port reused", `port = "/dev/ttyS1"`, `port = "/dev/ttyS2" # dup`, "device[0].port", "# dup", "/dev/ttyS2 is already ac_sampling.port (line 17)"},
		{"duplicate key", "loss_v = 154", "loss_v = 154\nloss_v = 150", "power.loss_v", "loss_v = 150", "defined twice (first at line 8)"},
		{"table twice", "", "\n[power] # dup\nx = 1\n", "power", "# dup", "table defined twice (first at line 6)"},
		{"syntax", "loss_v = 154", "loss_v = = 154", "", "loss_v = = 154", "syntax error at column 10: incomplete number"},
		{"log level", "", "\n[log]\nlevel = \"verbose\"\n", "log.level", "verbose", "debug|info|warn|error"},
		{"log format", "", "\n[log]\nformat = \"xml\"\n", "log.format", "xml", "text|json"},
		{"bad hash", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"hunter2\"\n", "console.password_hash", "hunter2", "not a bcrypt hash"},
		{"threshold over window", "", "\n[sched]\nerror_window = 4\nerror_threshold = 5\n", "sched.error_threshold", "error_threshold = 5", "must not exceed sched.error_window 4 exchanges (got 5)"},
		{"threshold not integer", "", "\n[sched]\nerror_threshold = 0.5\n", "sched.error_threshold", "0.5", "must be an integer (got float 0.5)"},
		{"baud", `unit = 1`, "unit = 1\nbaud = 9601", "device[0].baud", "9601", "standard rate"},
		{"uplink master", "", "\n[uplink]\nmaster = \"10.0.0.1\"\nterminal_address = \"01\"\n", "uplink.master", "10.0.0.1", "host:port"},
		{"sim without image", "", "\n[sim]\nenabled = true\n", "sim.eeprom_image", "[sim]", "required when sim.enabled"},
		{"gpio line reused", "[store]", "[[device]]\nname = \"r\"\ndriver = \"gpio-output\"\nchip = \"/dev/gpiochip0\"\n[[device.point]]\nname = \"t\"\nclass = \"control\"\naddress = 17 # dup\n[store]",
			"device[1].point[0].address", "# dup", "already used by power.fail_line.offset (line 13)"},
		{"point name chars", `name = "p"`, `name = "p q"`, "device[0].point[0].name", `"p q"`, "must be 1-32 characters"},
		// Issue 14: ports and buses of two parts, addresses used twice.
		{"device on eeprom bus", `port = "/dev/ttyS1"`, `port = "/dev/i2c-5" # dup`, "device[0].port", "# dup", "/dev/i2c-5 is already eeprom.bus (line 2)"},
		{"ac sampling on eeprom bus", `port = "/dev/ttyS2"`, `port = "/dev/i2c-5" # dup`, "ac_sampling.port", "# dup", "/dev/i2c-5 is already eeprom.bus (line 2)"},
		{"console on eeprom bus", "", "\n[console]\nport = \"/dev/i2c-5\" # dup\n", "console.port", "# dup", "/dev/i2c-5 is already eeprom.bus (line 2)"},
		{"hplc on eeprom bus", "", "\n[hplc]\nport = \"/dev/i2c-5\" # dup\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n", "hplc.port", "# dup", "/dev/i2c-5 is already eeprom.bus (line 2)"},
		{"console on device bus", "", "\n[console]\nport = \"/dev/ttyS1\"\n", "device[0].port", `port = "/dev/ttyS1"`, "/dev/ttyS1 is already console.port (line 37)"},
		{"hplc on ac sampling port", "", "\n[hplc]\nport = \"/dev/ttyS2\" # dup\n[hplc.reset_line]\nchip = \"gpiochip0\"\noffset = 5\n", "hplc.port", "# dup", "/dev/ttyS2 is already ac_sampling.port (line 17)"},
		{"serial port on another i2c bus", `port = "/dev/ttyS1"`, `port = "/dev/i2c-2"`, "device[0].port", "i2c-2", "/dev/i2c-2 is an I2C bus, not a serial port"},
		{"serial port on a gpio chip", `port = "/dev/ttyS2"`, `port = "/dev/gpiochip0"`, "ac_sampling.port", "/dev/gpiochip0", "is a GPIO chip, not a serial port"},
		{"fail line chip not a chip", `chip = "gpiochip0"`, `chip = "/dev/ttyS5"`, "power.fail_line.chip", "/dev/ttyS5", `must be a GPIO chip like "gpiochip0"`},
		{"gpio-output chip not a chip", "[store]", "[[device]]\nname = \"r\"\ndriver = \"gpio-output\"\nchip = \"/dev/i2c-5\"\n[[device.point]]\nname = \"t\"\nclass = \"control\"\naddress = 3\n[store]",
			"device[1].chip", `chip = "/dev/i2c-5"`, "must be a GPIO chip"},
		{"modbus-tcp device twice", "[store]", tcpDevice("t1", "10.0.0.1:502", "") + tcpDevice("t2", "10.0.0.1:502 # dup", "") + "[store]",
			"device[2].address", "# dup", "10.0.0.1:502 unit 1 is already device[1].address (line 36)"},
		{"modbus-tcp device twice, spelt apart", "[store]", tcpDevice("t1", "PLC.example.:502", "unit = 3\n") + tcpDevice("t2", "plc.example:502 # dup", "unit = 3\n") + "[store]",
			"device[2].address", "# dup", "plc.example:502 unit 3 is already device[1].address (line 36)"},
		{"modbus-tcp device on the master", "[store]", tcpDevice("t1", "10.0.0.9:9000 # dup", "") + "[uplink]\nmaster = \"10.0.0.9:9000\"\nterminal_address = \"01\"\n[store]",
			"device[1].address", "# dup", "10.0.0.9:9000 is already uplink.master (line 43)"},
		{"hplc meter twice", "[store]", hplcSection + hplcMeter("m1", "000000000007") + hplcMeter("m2", "000000000007\" # dup \"") + "[store]",
			"device[2].address", "# dup", "meter 000000000007 is already device[1].address (line 41)"},
		{"dlt698 address twice on a bus", "[store]", meter698("a", "00000000000A") + meter698("b", "00000000000a\" # dup \"") + "[store]",
			"device[2].address", "# dup", "address 00000000000A on bus /dev/ttyS4 is already device[1].address (line 37)"},
		// store.path names a file.
		{"store path root", `path = "/var/lib/holdup/data.db"`, `path = "/"`, "store.path", `path = "/"`, "must name the database file, not a directory"},
		{"store path trailing slash", `path = "/var/lib/holdup/data.db"`, `path = "/var/lib/holdup/"`, "store.path", "holdup/\"", "must name the database file, not a directory"},
		{"store path relative", `path = "/var/lib/holdup/data.db"`, `path = "data.db"`, "store.path", `path = "data.db"`, "must be an absolute path"},
		{"store path unclean", `path = "/var/lib/holdup/data.db"`, `path = "/var/lib/../holdup/data.db"`, "store.path", "holdup/data.db", `must be a clean path like "/var/holdup/data.db"`},
		{"store path a directory", `path = "/var/lib/holdup/data.db"`, `path = "/etc"`, "store.path", `path = "/etc"`, `is a directory: name the database file in it, like "/etc/data.db"`},
		{"store path on /dev", `path = "/var/lib/holdup/data.db"`, `path = "/dev/mmcblk0p3"`, "store.path", "mmcblk0p3", "must not be on /dev"},
		{"store path is the eeprom image", "", "\n[sim]\nenabled = true\neeprom_image = \"/var/lib/holdup/data.db\"\n", "store.path", `path = "/var/lib/holdup/data.db"`,
			"/var/lib/holdup/data.db is already sim.eeprom_image (line 38)"},
		// console.password_hash: bcrypt cost 10..14.
		{"bcrypt cost 31", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"" + strings.Replace(simHash, "$10$", "$31$", 1) + "\"\n", "console.password_hash", "$31$",
			"bcrypt cost 31 is too high: a login would take about 145h38m8s on the terminal (want 10..14)"},
		{"bcrypt cost 15", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"" + strings.Replace(simHash, "$10$", "$15$", 1) + "\"\n", "console.password_hash", "$15$", "bcrypt cost 15 is too high"},
		{"bcrypt cost 9", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"" + strings.Replace(simHash, "$10$", "$09$", 1) + "\"\n", "console.password_hash", "$09$", "bcrypt cost 9 is too low (want 10..14)"},
		// Numbers without a natural bound get one.
		{"scale huge", "address = 100", "address = 100\n  scale = 1e18", "device[0].point[0].scale", "1e18", "must be between 1e-9 and 1e9 in magnitude (got 1e+18)"},
		{"scale huge negative", "address = 100", "address = 100\n  scale = -1e18", "device[0].point[0].scale", "-1e18", "(got -1e+18)"},
		{"scale tiny", "address = 100", "address = 100\n  scale = 1e-12", "device[0].point[0].scale", "1e-12", "(got 1e-12)"},
		{"max_v over the low-voltage limit", "restore_v = 187", "restore_v = 187\nmax_v = 1e6", "power.max_v", "max_v = 1e6", "must not exceed 1000 V"},
		{"loss_v near zero", "loss_v = 154", "loss_v = 5", "power.loss_v", "loss_v = 5", "must be at least 10 % of power.nominal_v (22 V)"},
		{"supercap divider huge", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\ndivider = 5000\nempty_v = 2.8\n", "power.supercap.divider", "5000", "must be >= 1 and <= 1000"},
		{"supercap empty huge", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\nempty_v = 1e9\n", "power.supercap.empty_v", "1e9", "below 100 V"},
		{"supercap full huge", "", "\n[power.supercap]\niio_device = \"/sys/bus/iio/devices/iio:device0\"\nchannel = 1\nempty_v = 2.8\nfull_v = 500\n", "power.supercap.full_v", "500", "must not exceed 100 V"},
		{"status socket relative", "[store]", "[status]\nsocket = \"holdup.sock\"\n[store]", "status.socket", `socket = "holdup.sock"`, "must be an absolute path"},
		{"status socket a directory", "[store]", "[status]\nsocket = \"/run/holdup/\"\n[store]", "status.socket", `socket = "/run/holdup/"`, "must be a clean path naming the socket file"},
		{"status socket too long", "[store]", "[status]\nsocket = \"/" + strings.Repeat("s", 120) + "\"\n[store]", "status.socket", "sss", "must be at most 107 bytes"},
		{"draw threshold above any draw", "[store]", "[sched]\ndraw_threshold_mw = 200000\n[store]", "sched.draw_threshold_mw", "200000", "must be in 0..100000"},
		// uplink.master: an IP address or RFC 1123 host name, port 1..65535.
		{"master host underscore", "", uplink("bad_host:9000"), "uplink.master", "bad_host", `host "bad_host" is neither an IP address nor an RFC 1123 host name`},
		{"master host not an address", "", uplink("10.0.0.256:9000"), "uplink.master", "10.0.0.256", "neither an IP address nor an RFC 1123 host name"},
		{"master host hyphen", "", uplink("-master.example:9000"), "uplink.master", "-master", "neither an IP address"},
		{"master host label too long", "", uplink(strings.Repeat("a", 64) + ".example:9000"), "uplink.master", "aaaa", "neither an IP address"},
		{"master host unspecified", "", uplink("0.0.0.0:9000"), "uplink.master", "0.0.0.0", "unspecified address"},
		{"master host multicast", "", uplink("[ff02::1]:9000"), "uplink.master", "ff02::1", "multicast"},
		{"master port 0", "", uplink("10.0.0.1:0"), "uplink.master", "10.0.0.1:0", `port must be 1..65535 (got "0")`},
		{"master port signed", "", uplink("10.0.0.1:+80"), "uplink.master", "+80", `port must be 1..65535 (got "+80")`},
		{"master port too big", "", uplink("[fd00::1]:65536"), "uplink.master", "65536", "port must be 1..65535"},
		{"master ipv6 without brackets", "", uplink("fd00::1"), "uplink.master", "fd00::1", "must be host:port"},
		{"modbus-tcp host", "[store]", tcpDevice("t1", "plc..example:502", "") + "[store]", "device[1].address", "plc..example", "neither an IP address nor an RFC 1123 host name"},
		{"inline point table", "  [[device.point]]\n  name = \"p\"\n  class = \"collection\"\n  period = \"15s\"\n  kind = \"holding\"\n  address = 100\n",
			"point = [{name = \"p\", class = \"collection\", period = \"15s\", kind = \"input\", address = 100, colour = \"red\"}]\n",
			"device[0].point[0].colour", "colour", "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := minimal + tc.new
			if tc.old != "" {
				if !strings.Contains(minimal, tc.old) {
					t.Fatalf("case does not apply: %q", tc.old)
				}
				text = strings.Replace(minimal, tc.old, tc.new, 1)
			}
			c, err := Parse([]byte(text), "case.toml")
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Errorf("returned a config with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList", err)
			}
			wantLine := 0
			if tc.at != "" {
				wantLine = lineOfText(t, text, tc.at)
			}
			for _, e := range list {
				if e.Key == tc.key && strings.Contains(e.Msg, tc.msg) {
					if e.Line != wantLine {
						t.Errorf("%v: line %d, want %d", e, e.Line, wantLine)
					}
					if e.File != "case.toml" {
						t.Errorf("file %q", e.File)
					}
					if len(list) != 1 {
						t.Errorf("want one error, got:\n%v", err)
					}
					return
				}
			}
			t.Errorf("no error for key %q containing %q; got:\n%v", tc.key, tc.msg, err)
		})
	}
}

// TestAcceptedEdges: the issue 14 checks refuse nonsense only — the
// values at their bounds and the sharing the hardware allows still pass.
func TestAcceptedEdges(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"tcp server, two units", "[store]", tcpDevice("t1", "10.0.0.1:502", "unit = 1\n") + tcpDevice("t2", "10.0.0.1:502", "unit = 2\n") + "[store]"},
		{"tcp device beside the master", "[store]", tcpDevice("t1", "10.0.0.9:502", "") + "[uplink]\nmaster = \"10.0.0.9:9000\"\nterminal_address = \"01\"\n[store]"},
		{"hplc meters", "[store]", hplcSection + hplcMeter("m1", "000000000007") + hplcMeter("m2", "000000000008") + "[store]"},
		{"dlt698 meters share a bus", "[store]", meter698("a", "0A") + meter698("b", "0B") + "[store]"},
		{"master host name", "", uplink("master.example.net:9000")},
		{"master single label", "", uplink("localhost:1")},
		{"master trailing dot", "", uplink("Master-1.example.:65535")},
		{"master ipv6", "", uplink("[fd00::10]:9000")},
		{"bcrypt cost 10", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"" + simHash + "\"\n"},
		{"bcrypt cost 14", "", "\n[console]\nport = \"stdio\"\npassword_hash = \"" + strings.Replace(simHash, "$10$", "$14$", 1) + "\"\n"},
		{"console on its own port", "", "\n[console]\nport = \"/dev/ttyS0\"\n"},
		{"scale small", "address = 100", "address = 100\n  scale = 1e-9"},
		{"scale large negative", "address = 100", "address = 100\n  scale = -1e9"},
		{"max_v at the limit", "restore_v = 187", "restore_v = 187\nmax_v = 1000"},
		{"loss_v at a tenth", "loss_v = 154", "loss_v = 22"},
		{"chip as a path", `chip = "gpiochip0"`, `chip = "/dev/gpiochip0"`},
		{"store path in /tmp", `path = "/var/lib/holdup/data.db"`, `path = "/tmp/holdup-sim/data.db"`},
	} {
		text := minimal + tc.new
		if tc.old != "" {
			if !strings.Contains(minimal, tc.old) {
				t.Fatalf("%s: case does not apply: %q", tc.name, tc.old)
			}
			text = strings.Replace(minimal, tc.old, tc.new, 1)
		}
		if _, err := Parse([]byte(text), "edge.toml"); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestGuestFiles: the QEMU guest's configurations (.ci/guest-test runs
// check-config on them) stay valid.
func TestGuestFiles(t *testing.T) {
	for _, f := range []string{"../testdata/guest/holdup.toml", "../testdata/guest/holdup-sim.toml"} {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	text := strings.Replace(minimal, "loss_v = 154", "loss_v = 0", 1)
	_, err := Parse([]byte(text), "/etc/holdup/holdup.toml")
	want := `/etc/holdup/holdup.toml:8: key "power.loss_v": must be > 0 V (got 0)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 8 || e.Key != "power.loss_v" {
		t.Errorf("errors.As *Error = %+v", e)
	}
}

func TestCollectsEveryError(t *testing.T) {
	text := strings.NewReplacer(
		"loss_v = 154", "loss_v = 0",
		`part = "at24c256"`, `part = "at24c999"`,
		"unit = 1", "unit = 300",
		`class = "collection"`, `class = "both"`,
	).Replace(minimal) + "\n[log]\nformat = \"xml\"\nextra = 1\n"
	_, err := Parse([]byte(text), "f.toml")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`f.toml:4: key "eeprom.part"`,
		`f.toml:8: key "power.loss_v"`,
		`f.toml:24: key "device[0].unit"`,
		`f.toml:28: key "device[0].point[0].class"`,
		`f.toml:37: key "log.format"`,
		`f.toml:38: key "log.extra"`,
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(list[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, list[i].Error(), w)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("/nonexistent/holdup.toml")
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadRefusesEndlessFile(t *testing.T) {
	_, err := Load("/dev/zero")
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, p := range []string{"../deploy/holdup.toml", "../testdata/sim.toml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[[device]]\n[[device.point]]\n[device]\n"))
	f.Add([]byte("a = [{b = [{c = 1}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v with error %v", c != nil, err)
		}
		if err == nil {
			// What config accepts, the runtime runs.
			if _, err := devices.Validate(c.Devices, nil); err != nil {
				t.Fatalf("accepted devices that devices.Validate refuses: %v", err)
			}
			return
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range list {
			if e.Line < 0 || e.Line > lines {
				t.Fatalf("line %d outside a %d-line file: %v", e.Line, lines, e)
			}
		}
	})
}

// TestUplinkForward: the history reports' batch and pace default to 16
// records and 1 s, take the file's values, and refuse values out of range
// naming the key and its line.
func TestUplinkForward(t *testing.T) {
	const uplink = "\n[uplink]\nmaster = \"10.0.0.9:9000\"\nterminal_address = \"000000000099\"\n"
	for _, tc := range []struct {
		add      string
		batch    int
		interval time.Duration
		err      string
	}{
		{"", 16, time.Second, ""},
		{"forward_batch = 64\nforward_interval = \"250ms\"\n", 64, 250 * time.Millisecond, ""},
		{"forward_batch = 0 # none\n", 0, 0, "uplink.forward_batch"},
		{"forward_batch = 65 # big\n", 0, 0, "must be in 1..64 (got 65)"},
		{"forward_interval = \"10ms\" # fast\n", 0, 0, "uplink.forward_interval"},
	} {
		c, err := Parse([]byte(minimal+uplink+tc.add), "fwd.toml")
		if tc.err != "" {
			at := fmt.Sprintf("fwd.toml:%d: ", strings.Count(minimal+uplink, "\n")+1)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), at) {
				t.Errorf("%q: error %v, want one naming %q at %q", tc.add, err, tc.err, at)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.add, err)
		}
		if c.Uplink.ForwardBatch != tc.batch || c.Uplink.ForwardInterval != tc.interval {
			t.Errorf("%q: batch %d interval %v, want %d %v", tc.add, c.Uplink.ForwardBatch, c.Uplink.ForwardInterval, tc.batch, tc.interval)
		}
	}
}
