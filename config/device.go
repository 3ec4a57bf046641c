package config

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"holdup/devices"
)

// deviceKeys lists, per driver, the keys a [[device]] may carry beyond the
// common ones (name, driver, enabled, mains_only, draw_mw, point).
var deviceKeys = map[devices.DriverName][]string{
	devices.DriverModbusRTU:  {"port", "baud", "data_bits", "parity", "stop_bits", "unit", "timeout"},
	devices.DriverModbusTCP:  {"address", "unit", "timeout"},
	devices.DriverDLT698:     {"port", "baud", "data_bits", "parity", "stop_bits", "address", "timeout", "byte_timeout"},
	devices.DriverHPLC:       {"address", "timeout", "password", "operator"},
	devices.DriverGPIOOutput: {"chip"},
}

// driverNames are the drivers devices knows, as oneOf takes them.
func driverNames() []string {
	var s []string
	for _, d := range devices.Drivers() {
		s = append(s, string(d))
	}
	return s
}

// setLine gives a device the serial line s (parity as a letter).
func setLine(dv *devices.Device, s Serial) {
	dv.Port, dv.Baud, dv.DataBits, dv.Parity, dv.StopBits = s.Port, s.Baud, s.DataBits, s.ParityLetter(), s.StopBits
}

// readDevice reads one [[device]] into the devices package's model, with
// every default applied. An hplc meter gets the line of mod, the [hplc]
// module it is reached through (nil: reported by crossCheck).
func readDevice(t *table, mod *HPLC) devices.Device {
	var dv devices.Device
	dv.Name = t.reqStr("name")
	if dv.Name != "" && !reName.MatchString(dv.Name) {
		t.errf("name", "must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit (got %q)", dv.Name)
	}
	drivers := driverNames()
	dv.Driver = devices.DriverName(t.oneOf("driver", "", drivers...))
	if !t.has("driver") {
		t.get("driver")
		t.errf("driver", "required (one of %v)", drivers)
	}
	dv.Enabled = t.boolean("enabled", true)
	dv.MainsOnly = t.boolean("mains_only", false)
	dv.DrawMW = int(t.integer("draw_mw", 0, 0, maxDrawMW))

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
	case devices.DriverModbusRTU:
		setLine(&dv, readSerial(t, 9600, "none"))
		dv.Unit = int(t.reqInteger("unit", 1, 247))
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
	case devices.DriverModbusTCP:
		// address = "host:port" names the server: the device's Port.
		dv.Port = t.reqStr("address")
		if dv.Port != "" {
			if msg := checkHostPort(dv.Port); msg != "" {
				t.errf("address", "%s (got %q)", msg, dv.Port)
			}
		}
		dv.Unit = int(t.integer("unit", 1, 1, 255))
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
	case devices.DriverDLT698:
		setLine(&dv, readSerial(t, 9600, "even"))
		dv.Address = readHexAddr(t, "address")
		dv.Timeout = t.duration("timeout", time.Second, time.Millisecond, time.Minute)
		dv.ByteTimeout = readByteTimeout(t, dv.Timeout)
	case devices.DriverHPLC:
		if mod != nil {
			setLine(&dv, mod.Serial)
		}
		dv.Address = t.reqStr("address")
		if dv.Address != "" && !reMeter645.MatchString(dv.Address) {
			t.errf("address", "must be a 12-digit DL/T 645 meter address (got %q)", dv.Address)
		}
		dv.Timeout = t.duration("timeout", 10*time.Second, time.Millisecond, 5*time.Minute)
		if dv.Password = t.str("password", ""); t.has("password") && !reHex8.MatchString(dv.Password) {
			t.errf("password", "must be 8 hex digits: the privilege level then the 6-digit password, like \"02123456\" (got %d characters)", len(dv.Password))
			dv.Password = ""
		}
		if op := t.str("operator", "00000000"); !reHex8.MatchString(op) {
			t.errf("operator", "must be an operator code of 8 hex digits like \"00000001\" (got %q)", op)
		} else {
			v, _ := strconv.ParseUint(op, 16, 32)
			dv.Operator = uint32(v)
		}
	case devices.DriverGPIOOutput:
		dv.Port = t.reqStr("chip")
		checkChip(t, "chip", dv.Port)
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
	if dv.Driver == devices.DriverHPLC && dv.Password == "" && !t.has("password") {
		for i, p := range dv.Points {
			if p.Class == devices.ClassControl {
				t.errf("point["+strconv.Itoa(i)+"].class", "a control point writes to the meter, which needs the device's password (add password = \"LLPPPPPP\" to device %q)", dv.Name)
			}
		}
	}
	if len(dv.Points) == 0 && t.has("name") {
		t.errf("point", "device %q has no [[device.point]]", dv.Name)
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

func readPoint(t *table, drv devices.DriverName) devices.Point {
	var p devices.Point
	p.Name = t.reqStr("name")
	if p.Name != "" && !reName.MatchString(p.Name) {
		t.errf("name", "must be 1-32 characters of A-Z a-z 0-9 _ . - starting with a letter or digit (got %q)", p.Name)
	}
	p.Class = devices.Class(t.oneOf("class", "", string(devices.ClassControl), string(devices.ClassCollection)))
	if !t.has("class") {
		t.get("class")
		t.errf("class", "required (control|collection)")
	}
	// The serial protocols carry an application checksum (Modbus RTU
	// CRC-16, 698 FCS, 1376.2 checksum); Modbus TCP and GPIO lines do not.
	defInt := devices.IntegrityUnchecked
	if drv.Serial() {
		defInt = devices.IntegrityChecked
	}
	p.Integrity = devices.Integrity(t.oneOf("integrity", string(defInt), string(devices.IntegrityChecked), string(devices.IntegrityUnchecked)))
	if drv != "" && p.Integrity == devices.IntegrityChecked && !drv.Serial() {
		t.errf("integrity", "cannot be checked: %s carries no application checksum", drv)
	}
	p.Period = t.duration("period", 0, 100*time.Millisecond, maxDuration)
	if p.Class == devices.ClassCollection && !t.has("period") {
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
	if u := t.str("uplink_oad", ""); t.has("uplink_oad") {
		id, err := strconv.ParseUint(u, 16, 32)
		_, isStr := t.m["uplink_oad"].(string)
		switch {
		case !isStr: // reported by str
		case !reHex8.MatchString(u) || err != nil:
			t.errf("uplink_oad", "must be a DL/T 698.45 OAD of 8 hex digits like \"20000200\" (got %q)", u)
		case id>>16 == 0:
			t.errf("uplink_oad", "object identifier 0000 is not an object (got %q)", u)
		case (id>>8)&0x1f < 2:
			t.errf("uplink_oad", "attribute %d is not a data attribute (attribute 1 is the logical name; got %q)", (id>>8)&0x1f, u)
		default:
			p.UplinkOAD = uint32(id)
		}
	}
	if p.UplinkLiveInOutage = t.boolean("uplink_live_in_outage", false); p.UplinkLiveInOutage {
		switch {
		case p.Class == devices.ClassControl:
			t.errf("uplink_live_in_outage", "a control point has no value for the master to read (only a collection point may keep its live value in an outage)")
		case !t.has("uplink_oad"):
			t.errf("uplink_live_in_outage", "the point is not exposed to the master station (add uplink_oad)")
		}
	}
	if p.Writable = t.boolean("writable", false); p.Writable {
		switch {
		case p.Class != devices.ClassControl:
			t.errf("writable", "only a control point can be written by the master (a collection point is measured)")
		case !t.has("uplink_oad"):
			t.errf("writable", "the point is not exposed to the master station (add uplink_oad)")
		}
	}
	p.Scale = 1
	if drv != devices.DriverGPIOOutput {
		var ok bool
		switch p.Scale, ok = t.number("scale", 1); {
		case !ok:
		case p.Scale == 0:
			t.errf("scale", "must not be 0")
		case math.Abs(p.Scale) < minScale || math.Abs(p.Scale) > maxScale:
			t.errf("scale", "must be between 1e-9 and 1e9 in magnitude (got %g)", p.Scale)
		}
	}

	switch drv {
	case devices.DriverModbusRTU, devices.DriverModbusTCP:
		p.Kind = devices.Kind(t.oneOf("kind", "", string(devices.KindCoil), string(devices.KindDiscrete),
			string(devices.KindHolding), string(devices.KindInput)))
		if !t.has("kind") {
			t.get("kind")
			t.errf("kind", "required (coil|discrete|holding|input)")
		}
		words := int64(1)
		if p.Kind == devices.KindHolding || p.Kind == devices.KindInput {
			p.Type = devices.Type(t.oneOf("type", string(devices.TypeU16), string(devices.TypeU16), string(devices.TypeS16),
				string(devices.TypeU32), string(devices.TypeS32), string(devices.TypeF32)))
			words = int64(p.Type.Words())
		}
		p.Register = readAddrInt(t, 0, 0x10000-words, "register or coil number")
		if p.Class == devices.ClassControl && (p.Kind == devices.KindInput || p.Kind == devices.KindDiscrete) {
			t.errf("kind", "%s is read-only: a control point needs coil|holding", p.Kind)
		}
	case devices.DriverDLT698, devices.DriverHPLC:
		what := "DL/T 698.45 OAD"
		if drv == devices.DriverHPLC {
			what = "DL/T 645 data identifier"
		}
		item := t.reqStr("address")
		if item != "" && !reHex8.MatchString(item) {
			t.errf("address", "must be a %s of 8 hex digits like \"00100200\" (got %q)", what, item)
		} else {
			p.Item = item
		}
	case devices.DriverGPIOOutput:
		p.Kind = devices.KindLine
		p.Register = readAddrInt(t, 0, 511, "line offset")
		p.ActiveLow = t.boolean("active_low", false)
		if p.Class == devices.ClassCollection {
			t.errf("class", "a gpio-output point can only be control")
		}
	default:
		// Unknown driver, reported on the device: skip its point keys.
		for _, k := range []string{"address", "kind", "type", "active_low", "scale"} {
			t.get(k)
		}
	}
	readPointUplink(t, &p)
	t.done()
	return p
}

// readAddrInt reads a required integer point address in [lo, hi].
func readAddrInt(t *table, lo, hi int64, what string) int {
	if !t.has("address") {
		t.get("address")
		t.errf("address", "required (%s %d..%d)", what, lo, hi)
		return 0
	}
	return int(t.integer("address", 0, lo, hi))
}
