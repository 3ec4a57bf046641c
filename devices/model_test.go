package devices

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	gotoml "github.com/pelletier/go-toml/v2"
)

type fileConfig struct {
	Devices []Device `toml:"devices"`
}

func TestDecodeAndValidateTOML(t *testing.T) {
	var cfg fileConfig
	if _, err := toml.DecodeFile("testdata/devices.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	valid, err := Validate(cfg.Devices, OSStat)
	if err == nil {
		t.Fatal("want errors for bad-driver and bad-class")
	}
	if len(valid) != 1 || valid[0].Name != "meter1" {
		t.Fatalf("valid subset = %+v, want only meter1", valid)
	}
	m := valid[0]
	if !m.MainsOnly || m.DrawMW != 350 || m.Timeout.Duration != 300*time.Millisecond {
		t.Errorf("meter1 power/timeout decoded wrong: %+v", m)
	}
	if m.Parity != "N" || m.DataBits != 8 || m.StopBits != 1 || m.Unit != 1 {
		t.Errorf("serial defaults not applied: %+v", m)
	}
	v := m.Points[0]
	if v.Period.Duration != time.Second || v.Deadline.Duration != 200*time.Millisecond || v.Type != TypeU32 || v.Scale != 0.1 || v.Register != 3 {
		t.Errorf("voltage point decoded wrong: %+v", v)
	}
	if b := m.Points[1]; b.Class != ClassControl || b.Integrity != IntegrityChecked || b.Kind != KindCoil {
		t.Errorf("breaker point decoded wrong: %+v", b)
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
	okPoint := Point{Name: "v", Class: ClassCollection, Period: dur(t, "1s"), Kind: KindHolding, Register: 1}
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
		{"bad tcp address", Device{Name: "d", Driver: DriverModbusTCP, Port: "localhost"}, "port", "want host:port"},
		{"bad parity", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", Parity: "X"}, "parity", `invalid value "X"`},
		{"bad unit", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Unit: 300}, "unit", "out of range"},
		{"negative draw", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", DrawMW: -1}, "draw_mw", "negative"},
		{"bad timeout", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Timeout: dur(t, "fast")}, "timeout", `invalid duration "fast"`},
		{"missing name", Device{Driver: DriverModbusTCP, Port: "h:502"}, "name", "missing"},
		{"invalid class", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{okPoint, {Name: "x", Class: "foo", Kind: KindCoil}}}, "points[1].class", `invalid value "foo" (want control|collection)`},
		{"invalid integrity", Device{Name: "d", Driver: DriverModbusRTU, Port: "/dev/null", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindCoil, Integrity: "maybe"}}}, "points[0].integrity", `invalid value "maybe"`},
		{"checked over tcp", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindCoil, Integrity: IntegrityChecked}}}, "points[0].integrity", "carries no application checksum"},
		{"collection without period", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassCollection, Kind: KindInput}}}, "points[0].period", "needs a period"},
		{"control on input register", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindInput}}}, "points[0].kind", "read-only"},
		{"bad kind", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: "bit"}}}, "points[0].kind", `invalid value "bit"`},
		{"bad type", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindHolding, Type: "f64"}}}, "points[0].type", `invalid value "f64"`},
		{"register overflow", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{{Name: "x", Class: ClassControl, Kind: KindHolding, Type: TypeU32, Register: 0xFFFF}}}, "points[0].register", "out of range"},
		{"duplicate point", Device{Name: "d", Driver: DriverModbusTCP, Port: "h:502", Points: []Point{okPoint, okPoint}}, "points[1].name", "duplicate point name"},
		{"gpio collection", Device{Name: "d", Driver: DriverGPIOOutput, Port: "/dev/null", Points: []Point{{Name: "x", Class: ClassCollection, Period: dur(t, "1s")}}}, "points[0].class", "is a control point"},
		{"698 without item", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "000000000001", Points: []Point{{Name: "x", Class: ClassCollection, Period: dur(t, "1s")}}}, "points[0].item", "want the data identifier in hex"},
		{"698 bad address", Device{Name: "d", Driver: DriverDLT698, Port: "/dev/null", Address: "zz"}, "address", `invalid value "zz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stat := OSStat
			good := Device{Name: "good", Driver: DriverModbusTCP, Port: "127.0.0.1:502", Points: []Point{okPoint}}
			valid, err := Validate([]Device{tc.dev, good}, stat)
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

func dur(t *testing.T, s string) Duration {
	t.Helper()
	var d Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestValidateUnitCollisionOnBus(t *testing.T) {
	a := Device{Name: "a", Driver: DriverModbusRTU, Port: "/dev/null", Unit: 3}
	b := Device{Name: "b", Driver: DriverModbusRTU, Port: "/dev/null", Unit: 3}
	c := Device{Name: "c", Driver: DriverModbusRTU, Port: "/dev/null"} // unit 1
	valid, err := Validate([]Device{a, b, c}, nil)
	if len(valid) != 2 || err == nil || !strings.Contains(err.Error(), `devices: device "b": unit: unit 3 on /dev/null already used by device "a"`) {
		t.Fatalf("valid %d, err %v", len(valid), err)
	}
}

// The model decodes the same with the other TOML library the lead may use.
func TestDecodeWithGoTOML(t *testing.T) {
	raw, err := os.ReadFile("testdata/devices.toml")
	if err != nil {
		t.Fatal(err)
	}
	var a, b fileConfig
	if _, err := toml.Decode(string(raw), &a); err != nil {
		t.Fatal(err)
	}
	if err := gotoml.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	va, _ := Validate(a.Devices, nil)
	vb, _ := Validate(b.Devices, nil)
	if fmt.Sprintf("%+v", va) != fmt.Sprintf("%+v", vb) {
		t.Fatalf("BurntSushi %+v\ngo-toml   %+v", va, vb)
	}
}
