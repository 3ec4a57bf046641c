package config

// The terminal's own objects as the master station sees them: whether the
// master may set the system clock ([uplink] set_clock, clock_max_step), and
// the data type and scaler a point's value is sent with (uplink_type,
// uplink_scaler; the standard's defaults for the well-known measured
// objects).

import (
	"fmt"
	"strings"
	"time"

	"holdup/devices"
)

// readUplinkClock reads the clock-setting keys of [uplink].
func readUplinkClock(t *table, u *Uplink) {
	u.SetClock = t.boolean("set_clock", false)
	u.ClockMaxStep = t.duration("clock_max_step", time.Hour, time.Second, 366*24*time.Hour)
}

// readPointUplink reads a point's uplink_type and uplink_scaler, applies
// the standard's data type and scaler where the point's uplink_oad names
// one value of a well-known measured object (an element of 2000, 2001,
// 0010, …; the single value of 200F) and neither key is given, and checks that
// the type at the scaler carries every value the point can read. It runs
// after uplink_oad is read (p.UplinkOAD, 0 when absent or invalid).
func readPointUplink(t *table, p *devices.Point) {
	name := t.str("uplink_type", "")
	hasType, hasScaler := t.has("uplink_type"), t.has("uplink_scaler")
	scaler := int(t.integer("uplink_scaler", 0, -10, 10))
	if n, ok := t.m["uplink_scaler"].(int64); hasScaler && (!ok || n != int64(scaler)) {
		return // reported by integer
	}
	if (hasType || hasScaler) && !t.has("uplink_oad") {
		k := "uplink_type"
		if !hasType {
			k = "uplink_scaler"
		}
		t.errf(k, "the point is not exposed to the master station (add uplink_oad)")
		return
	}
	if p.UplinkOAD == 0 {
		return // no uplink_oad, or an invalid one (reported)
	}
	switch p.UplinkOAD >> 16 {
	case 0x4000, 0x4001, 0x3106:
		t.errf("uplink_oad", "object %04X is the terminal's own (date-time 4000, communication address 4001, power event 3106), answered by holdup itself (got \"%08X\")",
			p.UplinkOAD>>16, p.UplinkOAD)
		return
	}
	stdType, stdScaler, array, std := devices.StandardUplink(p.UplinkOAD)
	if std && array && p.UplinkOAD&0xFF == 0 {
		// The whole attribute is an array (per phase or tariff) and a
		// point is one value: no standard type for it (float64, as
		// before, unless the keys say otherwise).
		std = false
	}
	key, what := "uplink_oad", ""
	switch {
	case hasType:
		typ, ok := devices.UplinkTypeByName(name)
		if !ok {
			if _, isStr := t.m["uplink_type"].(string); isStr {
				t.errf("uplink_type", "must be one of %s (got %q)", strings.Join(devices.UplinkTypeNames(), "|"), name)
			}
			return
		}
		p.UplinkType, p.UplinkScaler = typ, scaler
		key = "uplink_type"
	case hasScaler && std:
		p.UplinkType, p.UplinkScaler = stdType, scaler
		key = "uplink_scaler"
		what = fmt.Sprintf(" (the standard's type of %04X)", p.UplinkOAD>>16)
	case hasScaler:
		t.errf("uplink_scaler", "needs uplink_type: %08X has no standard data type to scale", p.UplinkOAD)
		return
	case std:
		p.UplinkType, p.UplinkScaler = stdType, stdScaler
		what = fmt.Sprintf(" (the standard's for %04X; set uplink_type and uplink_scaler to choose another)", p.UplinkOAD>>16)
	default:
		return // float64, as it is
	}
	lo, hi, ok := devices.UplinkRange(p.UplinkType, p.UplinkScaler)
	if !ok { // a float type with a scaler
		t.errf("uplink_scaler", "%s carries no scaler: must be 0 (got %d)", p.UplinkType, p.UplinkScaler)
		p.UplinkType, p.UplinkScaler = 0, 0
		return
	}
	if plo, phi, bounded := p.ValueRange(); bounded && (plo < lo || phi > hi) {
		t.errf(key, "%s at scaler %d%s carries %g..%g, but the point reads %g..%g (%s): a value outside would reach the master as NULL",
			p.UplinkType, p.UplinkScaler, what, lo, hi, plo, phi, pointEncoding(p))
	}
}

// pointEncoding names what bounds a point's values, for messages.
func pointEncoding(p *devices.Point) string {
	switch p.Kind {
	case devices.KindHolding, devices.KindInput:
		return fmt.Sprintf("%s %s × scale %g", p.Kind, p.ValueType(), p.Factor())
	}
	return string(p.Kind) + " 0 or 1"
}
