package proto698

// Object names and scalers a field engineer expects to see beside the raw
// values in `holdup frame decode`. Only objects this terminal deals with
// are listed; unknown objects simply get no name.

var objectNames = map[uint16]string{
	0x0010: "forward active energy",
	0x2000: "voltage",
	0x2001: "current",
	0x2004: "active power",
	0x201E: "event start time",
	0x2020: "event end time",
	0x2022: "event record sequence number",
	0x2024: "event source",
	0x3106: "terminal power-off/power-on event",
	0x3300: "channel report status",
	0x3309: "power event attribute flag",
	0x4000: "date-time",
	0x4001: "communication address",
	0x4500: "public wireless network (GPRS) channel",
	0x6012: "task configuration table",
	0xF101: "security mode parameters",
	0xF209: "carrier/micro-power wireless port",
}

// ObjectName returns the English name of the object an OI identifies, or "".
func ObjectName(oi uint16) string { return objectNames[oi] }

// attribute-2 scalers (value = raw × 10^scaler) and units.
var attr2Scale = map[uint16]struct {
	scaler int
	unit   string
}{
	0x2000: {-1, "V"},
	0x2001: {-3, "A"},
	0x2004: {-1, "W"},
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
	s, ok := attr2Scale[o.OI]
	if !ok || o.AttrID() != 2 || d == nil {
		return
	}
	if arr, isArr := d.(Array); isArr && o.Index == 0 {
		out := make([]any, len(arr))
		for i, e := range arr {
			if v, ok := scaledValue(e, s.scaler); ok {
				out[i] = v
			}
		}
		m["scaled"], m["unit"] = out, s.unit
		return
	}
	if v, ok := scaledValue(d, s.scaler); ok {
		m["scaled"], m["unit"] = v, s.unit
	}
}
