package proto698

// Object names and scalers a field engineer expects to see beside the raw
// values in `holdup frame decode`. Only objects this terminal deals with
// are listed; unknown objects simply get no name.

// ObjectName returns the English name of the object an OI identifies, or "".
func ObjectName(oi uint16) string {
	switch oi {
	case 0x0000:
		return "combined active energy"
	case 0x0010:
		return "forward active energy"
	case 0x2000:
		return "voltage"
	case 0x2001:
		return "current"
	case 0x2004:
		return "active power"
	case 0x200A:
		return "power factor"
	case 0x200F:
		return "grid frequency"
	case 0x201E:
		return "event start time"
	case 0x2020:
		return "event end time"
	case 0x2022:
		return "event record sequence number"
	case 0x2024:
		return "event source"
	case 0x3000:
		return "loss-of-voltage event"
	case 0x3106:
		return "terminal power-off/power-on event"
	case 0x3300:
		return "channel report status"
	case 0x3309:
		return "power event attribute flag"
	case 0x4000:
		return "date-time"
	case 0x4001:
		return "communication address"
	case 0x4500:
		return "public wireless network (GPRS) channel"
	case 0x6012:
		return "task configuration table"
	case 0xF101:
		return "security mode parameters"
	case 0xF207:
		return "multi-function terminal"
	case 0xF209:
		return "carrier/micro-power wireless port"
	}
	return ""
}

// attr2Scale returns the scaler (value = raw × 10^scaler) and unit of
// attribute 2 of the objects whose scaling is fixed by the standard.
func attr2Scale(oi uint16) (scaler int, unit string, ok bool) {
	switch oi {
	case 0x2000:
		return -1, "V", true
	case 0x2001:
		return -3, "A", true
	case 0x2004:
		return -1, "W", true
	case 0x200A:
		return -3, "", true
	case 0x200F:
		return -2, "Hz", true
	case 0x0000, 0x0010:
		return -2, "kWh", true
	}
	return 0, "", false
}

// scaledValue returns raw × 10^scaler for numeric Data, or false.
func scaledValue(d Data, scaler int) (float64, bool) {
	var v float64
	switch x := d.(type) {
	case LongUnsigned:
		v = float64(x)
	case DoubleLong:
		v = float64(x)
	case DoubleLongUnsigned:
		v = float64(x)
	case Long:
		v = float64(x)
	default:
		return 0, false
	}
	for ; scaler < 0; scaler++ {
		v /= 10
	}
	for ; scaler > 0; scaler-- {
		v *= 10
	}
	return v, true
}

// describeScaled adds "scaled" and "unit" for known attribute-2 values.
func describeScaled(m map[string]any, o OAD, d Data) {
	scaler, unit, ok := attr2Scale(o.OI)
	if !ok || o.AttrID() != 2 || d == nil {
		return
	}
	if arr, isArr := d.(Array); isArr && o.Index == 0 {
		out := make([]any, len(arr))
		for i, e := range arr {
			if v, ok := scaledValue(e, scaler); ok {
				out[i] = v
			}
		}
		m["scaled"], m["unit"] = out, unit
		return
	}
	if v, ok := scaledValue(d, scaler); ok {
		m["scaled"], m["unit"] = v, unit
	}
}
