package devices

import (
	"errors"
	"strings"
	"testing"
	"time"

	"holdup/hplc/dlt645"
)

// TestValidateKeepsTheUsable: of three devices built by code, one usable
// and two broken in one key each, Validate keeps the usable one with its
// defaults applied and names device and key of each problem.
func TestValidateKeepsTheUsable(t *testing.T) {
	devs := []Device{
		{Name: "meter1", Driver: DriverModbusRTU, Port: "/dev/null", Baud: 9600, MainsOnly: true, DrawMW: 350, Timeout: 300 * time.Millisecond,
			Points: []Point{
				{Name: "voltage", Class: ClassCollection, Integrity: IntegrityChecked, Period: time.Second, Deadline: 200 * time.Millisecond,
					Kind: KindHolding, Register: 3, Type: TypeU32, Scale: 0.1, UplinkOAD: 0x20000200},
				{Name: "breaker", Class: ClassControl, Kind: KindCoil},
			}},
		{Name: "bad-driver", Driver: "modbus-udp", Port: "/dev/null"},
		{Name: "bad-class", Driver: DriverModbusTCP, Port: "127.0.0.1:502", Points: []Point{
			{Name: "p0", Class: ClassCollection, Period: time.Second, Kind: KindInput},
			{Name: "p1", Class: ClassCollection, Period: time.Second, Kind: KindInput},
			{Name: "p2", Class: "foo", Kind: KindInput, Period: time.Second},
		}},
	}
	valid, err := Validate(devs, OSStat)
	if err == nil {
		t.Fatal("want errors for bad-driver and bad-class")
	}
	if len(valid) != 1 || valid[0].Name != "meter1" {
		t.Fatalf("valid subset = %+v, want only meter1", valid)
	}
	m := valid[0]
	if !m.MainsOnly || m.DrawMW != 350 || m.Timeout != 300*time.Millisecond {
		t.Errorf("meter1 power/timeout changed: %+v", m)
	}
	if m.Parity != "N" || m.DataBits != 8 || m.StopBits != 1 || m.Unit != 1 {
		t.Errorf("serial defaults not applied: %+v", m)
	}
	v := m.Points[0]
	if v.Period != time.Second || v.Deadline != 200*time.Millisecond || v.Type != TypeU32 || v.Scale != 0.1 || v.Register != 3 || v.UplinkOAD != 0x20000200 {
		t.Errorf("voltage point changed: %+v", v)
	}
	if b := m.Points[1]; b.Class != ClassControl || b.Integrity != IntegrityChecked || b.Kind != KindCoil || b.Scale != 1 {
		t.Errorf("breaker point defaults: %+v", b)
	}
	if &devs[0].Points[0] == &m.Points[0] {
		t.Error("the valid device shares its points with the input")
	}
	for _, want := range []string{
		`devices: device "bad-driver": driver: unknown driver "modbus-udp" (want modbus-rtu|modbus-tcp|dlt698|hplc|gpio-output)`,
		`devices: device "bad-class": points[2].class: invalid value "foo" (want control|collection)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrConfig) {
		t.Error("errors.Is(err, ErrConfig) = false")
	}
}

func TestValidateNamesDeviceAndKey(t *testing.T) {
	okPoint := Point{Name: "v", Class: ClassCollection, Period: time.Second, Kind: KindHolding, Register: 1}
	tests := []struct {
		name string
		dev  Device
		key  string
		msg  string
	}{
		{"unknown driver", Device{Name: "d", Driver: "can", Port: "/dev/null"}, "driver", `unknown driver "can"`},
		{"missing port", Device{Name: "d", Driver: DriverModbusRTU}, "port", "missing"},
		{"port does not exist", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/ttyNOPE9"}, "port", `serial port "/dev/ttyNOPE9" does not exist`},
		{"gpio chip does not exist", Device{Name: "d", Driver: DriverGPIOOutput, Port: "gpiochip99"}, "port", `GPIO chip "gpiochip99" does not exist`},
		{"parity as a word", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", Parity: "even"}, "parity", `invalid value "even" (want N|E|O)`},
		{"bad data bits", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "01", DataBits: 9}, "data_bits", "out of range 5..8"},
		{"bad stop bits", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", StopBits: 3}, "stop_bits", "want 1|2"},
		{"rtu unit", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", Unit: 248}, "unit", "out of range 0..247"},
		{"tcp unit", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Unit: 256}, "unit", "out of range 0..255"},
		{"missing name", Device{Driver: DriverModbusTCP, Port: "h:502"}, "name", "missing"},
		{"invalid class", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{okPoint, {Name: "x", Class: "foo", Kind: KindCoil}}}, "points[1].class", `invalid value "foo" (want control|collection)`},
		{"invalid integrity", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindCoil, Integrity: "maybe"}}}, "points[0].integrity", `invalid value "maybe"`},
		{"collection without period", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassCollection, Kind: KindInput}}}, "points[0].period", "needs a period"},
		{"control on input register", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindInput}}}, "points[0].kind", "read-only"},
		{"bad kind", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: "bit"}}}, "points[0].kind", `invalid value "bit"`},
		{"bad type", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindHolding, Type: "f64"}}}, "points[0].type", `invalid value "f64"`},
		{"register overflow", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindHolding, Type: TypeU32, Register: 0xFFFF}}}, "points[0].register", "out of range"},
		{"duplicate point", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{okPoint, okPoint}}, "points[1].name", "duplicate point name"},
		{"gpio collection", Device{Name: "d", Driver: DriverGPIOOutput, Port: "/dev/null", Points: []Point{{Name: "x", Class: ClassCollection, Period: time.Second}}}, "points[0].class", "is a control point"},
		{"gpio negative line", Device{Name: "d", Driver: DriverGPIOOutput, Port: "/dev/null", Points: []Point{{Name: "x", Class: ClassControl, Register: -1}}}, "points[0].register", "negative line offset"},
		{"698 without item", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "000000000001", Points: []Point{{Name: "x", Class: ClassCollection, Period: time.Second}}}, "points[0].item", "8 hex digits"},
		{"698 short item", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "000000000001", Points: []Point{{Name: "x", Class: ClassCollection, Period: time.Second, Item: "0010"}}}, "points[0].item", `invalid value "0010"`},
		{"698 bad address", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "zz"}, "address", `invalid value "zz"`},
		{"hplc without address", Device{Name: "d", Driver: DriverHPLC, Port: "/dev/null"}, "address", `invalid value ""`},
		{"hplc bad password", Device{Name: "d", Driver: DriverHPLC, Port: "/dev/null", Address: "000000000007", Password: "123456"}, "password", "want 8 hex digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := Device{Name: "good", Driver: DriverModbusTCP, Port: "127.0.0.1:502", Points: []Point{okPoint}}
			valid, err := Validate([]Device{tc.dev, good}, OSStat)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			wantDev := tc.dev.Name
			if wantDev == "" {
				wantDev = "devices[0]"
			}
			if ce.Device != wantDev || ce.Key != tc.key || !strings.Contains(ce.Err.Error(), tc.msg) {
				t.Errorf("got device=%q key=%q err=%q, want device=%q key=%q containing %q", ce.Device, ce.Key, ce.Err, wantDev, tc.key, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "devices: device ") {
				t.Errorf("error %q lacks package prefix", err)
			}
			if len(valid) != 1 || valid[0].Name != "good" {
				t.Errorf("the valid device was not kept: %+v", valid)
			}
		})
	}
}

func TestValidateDuplicateDevice(t *testing.T) {
	d := Device{Name: "x", Driver: DriverModbusTCP, Port: "127.0.0.1:502"}
	valid, err := Validate([]Device{d, d}, nil)
	if len(valid) != 1 || err == nil || !strings.Contains(err.Error(), `device "x": name: duplicate device name (devices[1])`) {
		t.Fatalf("valid=%d err=%v", len(valid), err)
	}
}

// TestValidateLeavesTheFileRulesToConfig: what the configuration refuses
// with key and line but the drivers can run — a unit used twice on one
// bus, integrity a protocol cannot check, a draw out of range, an hplc
// control point without a password — is not Validate's to refuse (see its
// doc).
func TestValidateLeavesTheFileRulesToConfig(t *testing.T) {
	coil := []Point{{Name: "c", Class: ClassControl, Kind: KindCoil}}
	devs := []Device{
		{Name: "a", Driver: DriverModbusRTU, Port: "/dev/null", Unit: 3, Points: coil},
		{Name: "b", Driver: DriverModbusRTU, Port: "/dev/null", Unit: 3, Points: coil},
		{Name: "tcp", Driver: DriverModbusTCP, Port: "127.0.0.1:502", DrawMW: -1,
			Points: []Point{{Name: "c", Class: ClassControl, Kind: KindCoil, Integrity: IntegrityChecked}}},
		{Name: "m", Driver: DriverHPLC, Port: "/dev/null", Address: "000000000007",
			Points: []Point{{Name: "dp", Class: ClassControl, Item: "04000103"}}},
	}
	valid, err := Validate(devs, nil)
	if err != nil || len(valid) != len(devs) {
		t.Fatalf("valid %d of %d: %v", len(valid), len(devs), err)
	}
}

func TestMeterCredentials(t *testing.T) {
	d := Device{Name: "m", Driver: DriverHPLC, Password: "02123456", Operator: 0x20240520}
	pw, op, err := d.MeterCredentials()
	if err != nil || pw != (dlt645.Password{Level: 2, Code: 0x123456}) || op != 0x20240520 {
		t.Fatalf("credentials %v %v %v", pw, op, err)
	}
	d.Password = ""
	if pw, op, err := d.MeterCredentials(); err != nil || pw != (dlt645.Password{}) || op != 0x20240520 {
		t.Fatalf("no password: %v %v %v", pw, op, err)
	}
	d.Password = "0212345G"
	if _, _, err := d.MeterCredentials(); err == nil {
		t.Fatal("a password that is not hex was parsed")
	}
}
