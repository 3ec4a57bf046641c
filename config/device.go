package config

import (
	"fmt"
	"strconv"
	"time"
)

// deviceKeys lists, per driver, the keys a [[device]] may carry beyond the
// common ones (name, driver, enabled, mains_only, draw_mw, point).
var deviceKeys = map[Driver][]string{
	DriverModbusRTU:  {"port", "baud", "parity", "unit", "timeout"},
	DriverModbusTCP:  {"address", "unit", "timeout"},
	DriverDLT698:     {"port", "baud", "parity", "address", "timeout"},
	DriverHPLC:       {"address", "timeout"},
	DriverGPIOOutput: {"chip", "offset", "line", "active_low"},
}

var drivers = []string{string(DriverModbusRTU), string(DriverModbusTCP), string(DriverDLT698),
	string(DriverHPLC), string(DriverGPIOOutput)}

func readDevice(t *table) Device {
	var dv Device
	dv.Name = t.reqStr("name")
	if dv.Name != "" && !reName.MatchString(dv.Name) {
		t.errf("name", "must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit (got %q)", dv.Name)
	}
	dv.Driver = Driver(t.oneOf("driver", "", drivers...))
	if !t.has("driver") {
		t.get("driver")
		t.errf("driver", "required (one of %v)", drivers)
	}
	dv.Enabled = t.boolean("enabled", true)
	dv.MainsOnly = t.boolean("mains_only", false)
	dv.DrawMW = int(t.integer("draw_mw", 0, 0, 100000))

	// Keys of other drivers get a precise message.
	t.other = map[string]string{}
	for drv, keys := range deviceKeys {
		if drv == dv.Driver {
			continue
		}
		for _, k := range keys {
			if dv.Driver != "" {
				t.other[k] = fmt.Sprintf("not used by driver %s", dv.Driver)
			} else {
				t.other[k] = "not used without a valid driver"
			}
		}
	}

	switch dv.Driver {
	case DriverModbusRTU:
		dv.Serial = readSerial(t, 9600, "none")
		dv.Unit = int(t.reqInteger("unit", 1, 247))
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
	case DriverModbusTCP:
		dv.Address = t.reqStr("address")
		if dv.Address != "" {
			if msg := checkHostPort(dv.Address); msg != "" {
				t.errf("address", "%s (got %q)", msg, dv.Address)
			}
		}
		dv.Unit = int(t.integer("unit", 1, 0, 255))
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
	case DriverDLT698:
		dv.Serial = readSerial(t, 9600, "even")
		dv.Address = readHexAddr(t, "address")
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
	case DriverHPLC:
		dv.Address = t.reqStr("address")
		if dv.Address != "" && !reMeter645.MatchString(dv.Address) {
			t.errf("address", "must be a 12-digit DL/T 645 meter address (got %q)", dv.Address)
		}
		dv.Timeout = t.duration("timeout", 10*time.Second, time.Millisecond, 5*time.Minute)
	case DriverGPIOOutput:
		dv.Line = readLine(t)
	default:
		// The driver is already reported; its keys cannot be judged.
		for _, keys := range deviceKeys {
			for _, k := range keys {
				t.get(k)
			}
		}
	}

	for _, pt := range t.tables("point") {
		dv.Points = append(dv.Points, readPoint(pt, dv.Driver))
	}
	if len(dv.Points) == 0 && t.has("name") {
		t.errf("point", "device %q has no [[device.point]]", dv.Name)
	}
	if dv.Driver == DriverGPIOOutput && len(dv.Points) > 1 {
		t.errf("point", "a gpio-output device drives one line, so it has one point (got %d)", len(dv.Points))
	}
	seen := map[string]int{}
	for i, p := range dv.Points {
		if p.Name == "" {
			continue
		}
		if j, dup := seen[p.Name]; dup {
			k := "point[" + strconv.Itoa(i) + "].name"
			t.errf(k, "duplicate point name %q in device %q (first at line %d)",
				p.Name, dv.Name, t.d.lineOf(t.key("point["+strconv.Itoa(j)+"].name")))
			continue
		}
		seen[p.Name] = i
	}
	t.done()
	return dv
}

var modbusKinds = []string{"u16", "i16", "u32", "i32", "f32"}

func readPoint(t *table, drv Driver) Point {
	var p Point
	p.Name = t.reqStr("name")
	if p.Name != "" && !reName.MatchString(p.Name) {
		t.errf("name", "must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit (got %q)", p.Name)
	}
	p.Class = Class(t.oneOf("class", "", string(ClassControl), string(ClassCollection)))
	if !t.has("class") {
		t.get("class")
		t.errf("class", "required (control|collection)")
	}
	p.Integrity = Integrity(t.oneOf("integrity", string(IntegrityChecked), string(IntegrityChecked), string(IntegrityUnchecked)))
	p.Period = t.duration("period", 0, 100*time.Millisecond, maxDuration)
	if p.Class == ClassCollection && !t.has("period") {
		t.get("period")
		t.errf("period", "required for a collection point")
	}
	defDeadline := 5 * time.Second
	if p.Period > 0 && p.Period < defDeadline {
		defDeadline = p.Period
	}
	p.Deadline = t.duration("deadline", defDeadline, time.Millisecond, time.Hour)
	if p.Period > 0 && p.Deadline > p.Period {
		t.errf("deadline", "must not exceed period %v (got %v)", p.Period, p.Deadline)
	}
	var ok bool
	if p.Scale, ok = t.number("scale", 1); ok && p.Scale == 0 {
		t.errf("scale", "must not be 0")
	}

	switch drv {
	case DriverModbusRTU, DriverModbusTCP:
		p.Table = t.oneOf("table", "holding", "holding", "input", "coil", "discrete")
		bits := p.Table == "coil" || p.Table == "discrete"
		if bits {
			p.Kind = t.oneOf("kind", "bool", "bool")
		} else {
			p.Kind = t.oneOf("kind", "u16", modbusKinds...)
		}
		hi := int64(65535)
		if p.Kind == "u32" || p.Kind == "i32" || p.Kind == "f32" {
			hi = 65534 // two registers
		}
		if !t.has("address") {
			t.get("address")
			t.errf("address", "required (register or coil number 0..65535)")
		} else {
			reg := t.integer("address", 0, 0, hi)
			p.Address, p.Register = strconv.FormatInt(reg, 10), uint16(reg)
		}
		if p.Class == ClassControl && (p.Table == "input" || p.Table == "discrete") {
			t.errf("class", "a %s table is read-only, so a point on it cannot be control", p.Table)
		}
	case DriverDLT698, DriverHPLC:
		what := "DL/T 698.45 OAD"
		if drv == DriverHPLC {
			what = "DL/T 645 data identifier"
		}
		p.Address = t.reqStr("address")
		if p.Address != "" && !reHex8.MatchString(p.Address) {
			t.errf("address", "must be a %s of 8 hex digits like \"00100200\" (got %q)", what, p.Address)
		} else if p.Address != "" {
			id, _ := strconv.ParseUint(p.Address, 16, 32)
			p.ID = uint32(id)
		}
		p.Kind = t.oneOf("kind", "u32", "bool", "u16", "i16", "u32", "i32", "f32")
	case DriverGPIOOutput:
		p.Kind = t.oneOf("kind", "bool", "bool")
		if p.Class == ClassCollection {
			t.errf("class", "a gpio-output point can only be control")
		}
	default:
		// Unknown driver, reported on the device: skip its point keys.
		t.get("address")
		t.get("table")
		t.get("kind")
	}
	t.done("address", "table", "kind")
	return p
}
