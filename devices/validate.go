package devices

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrConfig is matched (errors.Is) by every configuration error.
var ErrConfig = errors.New("devices: invalid configuration")

// ConfigError is one invalid configuration value: the device it belongs to
// and the key, e.g. `points[2].class`.
type ConfigError struct {
	// Device is the device name, or "devices[i]" when the name is missing.
	Device string
	// Key is the offending key path within the device.
	Key string
	// Err says what is wrong.
	Err error
}

// Error renders `devices: device "meter1": points[2].class: ...`.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("devices: device %q: %s: %v", e.Device, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// StatPort checks that a port named by a device exists on this machine. It
// is handed to Validate so simulated configurations can skip the check.
type StatPort func(path string) error

// OSStat is the StatPort of a real terminal: the path must exist.
func OSStat(path string) error {
	_, err := os.Stat(path)
	return err
}

// Validate checks every device, independently of the others, and returns
// the valid ones (with defaults applied) together with a joined error of
// one *ConfigError per problem. A device with any problem is left out; the
// rest are usable. stat, when non-nil, checks that serial ports and GPIO
// chips exist.
//
// Validate owns the runtime's rules: what a driver needs to run the device
// at all (a name the daemon and the scheduler key it by, a known driver, a
// port that exists here, a serial line the port can be set to, protocol
// addresses and data items that decode, points of a kind, type and
// register the driver can serve, a period for every collection point). The
// configuration's own rules — value ranges and standard rates, a unit or
// meter address used twice on one bus, bus settings that disagree,
// integrity a protocol cannot check, a control point of an hplc meter
// without a password — are the config package's, which reports them with
// the file's key and line before a device is built.
func Validate(devs []Device, stat StatPort) ([]Device, error) {
	var (
		valid []Device
		errs  []error
		seen  = make(map[string]bool, len(devs))
	)
	for i, d := range devs {
		label := d.Name
		if label == "" {
			label = fmt.Sprintf("devices[%d]", i)
		}
		derrs := d.problems(label, stat)
		if d.Name != "" && seen[d.Name] {
			derrs = append(derrs, &ConfigError{label, "name", fmt.Errorf("duplicate device name (devices[%d])", i)})
		}
		seen[d.Name] = true
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		valid = append(valid, d.withDefaults())
	}
	return valid, errors.Join(errs...)
}

// Validate checks one device; see the package-level Validate.
func (d Device) Validate(stat StatPort) error {
	label := d.Name
	if label == "" {
		label = "devices[?]"
	}
	return errors.Join(d.problems(label, stat)...)
}

func (d Device) withDefaults() Device {
	if d.Driver.Serial() {
		if d.Baud == 0 {
			d.Baud = 9600
		}
		if d.DataBits == 0 {
			d.DataBits = 8
		}
		if d.Parity == "" {
			d.Parity = "N"
		}
		d.Parity = strings.ToUpper(d.Parity)
		if d.StopBits == 0 {
			d.StopBits = 1
		}
	}
	if d.Unit == 0 && (d.Driver == DriverModbusRTU || d.Driver == DriverModbusTCP) {
		d.Unit = 1
	}
	pts := make([]Point, len(d.Points))
	for i, p := range d.Points {
		if p.Integrity == "" {
			p.Integrity = defaultIntegrity(d.Driver)
		}
		if p.Kind == "" && d.Driver == DriverGPIOOutput {
			p.Kind = KindLine
		}
		if p.Type == "" && (p.Kind == KindHolding || p.Kind == KindInput) {
			p.Type = TypeU16
		}
		if p.Scale == 0 {
			p.Scale = 1
		}
		pts[i] = p
	}
	d.Points = pts
	return d
}

// defaultIntegrity: serial protocols carry an application CRC (Modbus RTU
// CRC-16, 698 FCS, 1376.2 checksum); Modbus TCP and GPIO lines do not.
func defaultIntegrity(drv DriverName) Integrity {
	if drv.Serial() {
		return IntegrityChecked
	}
	return IntegrityUnchecked
}

func (d Device) problems(label string, stat StatPort) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Device: label, Key: key, Err: fmt.Errorf(format, args...)})
	}
	if d.Name == "" {
		bad("name", "missing")
	}
	known := slices.Contains(driverNames, d.Driver)
	if !known {
		bad("driver", "unknown driver %q (want %s)", d.Driver, joinNames(driverNames))
	}
	d.checkPort(bad, stat, known)
	switch d.Driver {
	case DriverModbusRTU:
		if d.Unit < 0 || d.Unit > 247 {
			bad("unit", "value %d out of range 0..247 (0 means 1)", d.Unit)
		}
	case DriverModbusTCP:
		if d.Unit < 0 || d.Unit > 255 {
			bad("unit", "value %d out of range 0..255 (0 means 1)", d.Unit)
		}
	case DriverDLT698, DriverHPLC:
		if _, err := hex.DecodeString(d.Address); d.Address == "" || err != nil {
			bad("address", "invalid value %q (want the device address in hex)", d.Address)
		}
	}
	if d.Driver == DriverHPLC && d.Password != "" {
		if _, _, err := d.MeterCredentials(); err != nil {
			bad("password", "%v", err)
		}
	}
	names := make(map[string]int, len(d.Points))
	for i, p := range d.Points {
		key := func(k string) string { return fmt.Sprintf("points[%d].%s", i, k) }
		if p.Name == "" {
			bad(key("name"), "missing")
		} else if j, dup := names[p.Name]; dup {
			bad(key("name"), "duplicate point name %q (points[%d])", p.Name, j)
		} else {
			names[p.Name] = i
		}
		d.checkPoint(p, key, bad)
	}
	return errs
}

func (d Device) checkPort(bad func(key, format string, args ...any), stat StatPort, known bool) {
	if d.Port == "" {
		bad("port", "missing")
		return
	}
	switch {
	case !known:
	case d.Driver.Serial():
		if stat != nil {
			if err := stat(d.Port); err != nil {
				bad("port", "serial port %q does not exist: %v", d.Port, err)
			}
		}
		// OpenSerial would open a line it cannot set as a line of
		// other settings: refuse it instead.
		switch strings.ToUpper(d.Parity) {
		case "", "N", "E", "O":
		default:
			bad("parity", "invalid value %q (want N|E|O)", d.Parity)
		}
		if d.DataBits != 0 && (d.DataBits < 5 || d.DataBits > 8) {
			bad("data_bits", "value %d out of range 5..8", d.DataBits)
		}
		if d.StopBits != 0 && d.StopBits != 1 && d.StopBits != 2 {
			bad("stop_bits", "invalid value %d (want 1|2)", d.StopBits)
		}
	case d.Driver == DriverGPIOOutput:
		if stat != nil {
			if err := stat(ChipPath(d.Port)); err != nil {
				bad("port", "GPIO chip %q does not exist: %v", d.Port, err)
			}
		}
	}
}

// ChipPath returns the device node of a GPIO chip named "gpiochip0" or
// given as a path.
func ChipPath(chip string) string {
	if strings.ContainsRune(chip, filepath.Separator) {
		return chip
	}
	return filepath.Join("/dev", chip)
}

func (d Device) checkPoint(p Point, key func(string) string, bad func(key, format string, args ...any)) {
	switch p.Class {
	case ClassControl, ClassCollection:
	default:
		bad(key("class"), "invalid value %q (want %s|%s)", p.Class, ClassControl, ClassCollection)
	}
	switch p.Integrity {
	case "", IntegrityChecked, IntegrityUnchecked:
	default:
		bad(key("integrity"), "invalid value %q (want %s|%s)", p.Integrity, IntegrityChecked, IntegrityUnchecked)
	}
	if p.Class == ClassCollection && p.Period <= 0 {
		bad(key("period"), "missing: a collection point needs a period > 0")
	}
	switch d.Driver {
	case DriverModbusRTU, DriverModbusTCP:
		switch p.Kind {
		case KindCoil, KindHolding:
		case KindDiscrete, KindInput:
			if p.Class == ClassControl {
				bad(key("kind"), "%q is read-only: a control point needs coil|holding", p.Kind)
			}
		default:
			bad(key("kind"), "invalid value %q (want coil|discrete|holding|input)", p.Kind)
		}
		words := 1
		if p.Kind == KindHolding || p.Kind == KindInput {
			switch p.Type {
			case "", TypeU16, TypeS16, TypeU32, TypeS32, TypeF32:
				words = p.ValueType().Words()
			default:
				bad(key("type"), "invalid value %q (want u16|s16|u32|s32|f32)", p.Type)
			}
		}
		if p.Register < 0 || p.Register+words-1 > 0xFFFF {
			bad(key("register"), "value %d out of range 0..65535", p.Register)
		}
	case DriverGPIOOutput:
		if p.Kind != "" && p.Kind != KindLine {
			bad(key("kind"), "invalid value %q (want line)", p.Kind)
		}
		if p.Class != ClassControl {
			bad(key("class"), "value %q impossible: a gpio-output point is a control point", p.Class)
		}
		if p.Register < 0 {
			bad(key("register"), "negative line offset %d", p.Register)
		}
	case DriverDLT698, DriverHPLC:
		if b, err := hex.DecodeString(p.Item); err != nil || len(b) != 4 {
			bad(key("item"), "invalid value %q (want the data identifier: 8 hex digits)", p.Item)
		}
	}
}
