package proto698

import (
	"math"
	"time"
)

// The AC-sampling unit's object model, as ACSim serves it.
//
// Sources for the data types and scalers of attribute 2 (DL/T 698.45
// object list, interface classes 1, 3, 4, 6, 8, 22 and 24), cross-checked
// against public 698.45 meter firmware whose class 1–6 element table lists
// (scaler, unit, type) per object:
//
//	0x0000 combined active energy   class 1  array double-long          −2  kWh  total + tariffs
//	0x0010 forward active energy    class 1  array double-long-unsigned −2  kWh  total + tariffs
//	0x2000 voltage                  class 3  array long-unsigned        −1  V    A, B, C
//	0x2001 current                  class 3  array double-long          −3  A    A, B, C
//	0x2004 active power             class 4  array double-long          −1  W    total, A, B, C
//	0x200A power factor             class 4  array long                 −3       total, A, B, C
//	0x200F grid frequency           class 6  long-unsigned              −2  Hz
//	0x4000 date-time                class 8  date_time_s                          read/write
//	0x4001 communication address    class 8  octet-string                         read-only here
//	0x3000 loss-of-voltage event    class 24 attr 5 configuration parameters:
//	       structure {voltage trigger upper limit long-unsigned (−1 V),
//	       voltage recovery lower limit long-unsigned (−1 V), current trigger
//	       lower limit double-long (−4 A), trigger delay unsigned (s)}      read/write
//	0xF207 multi-function terminal  class 22 attr 2 array enum {second pulse
//	       output (0), demand period (1), time-period switch (2)}          read/write
//
// The same firmware answers an element index beyond the element count with
// DAR out of range (越界) and an unknown object or attribute with object
// undefined (对象未定义); ACSim does the same. Writes to measured values
// are refused with read/write denied (拒绝读写).
//
// Only attribute 3 (Scaler_Unit) of 0x2000 is served, as before: the unit
// enumeration of the 698.45 appendix could not be verified from the
// sources at hand, so no further unit codes are claimed.

// Divisors converting attribute-2 raw values to engineering units (raw ÷
// divisor), from the scalers above.
const (
	CurrentDivisor     = 1000 // 0x2001: 0.001 A
	PowerDivisor       = 10   // 0x2004: 0.1 W
	PowerFactorDivisor = 1000 // 0x200A: 0.001
	FrequencyDivisor   = 100  // 0x200F: 0.01 Hz
	EnergyDivisor      = 100  // 0x0000, 0x0010: 0.01 kWh
)

// Attribute 2 of the AC-sampling unit's usual objects (whole attribute;
// set Index for one element, 1-based: phase A..C, or total first where the
// attribute has one).
var (
	OADCurrentAll           = NewOAD(0x20010200) // array of 3 double-long, 0.001 A
	OADActivePowerAll       = NewOAD(0x20040200) // array of 4 double-long (total, A, B, C), 0.1 W
	OADPowerFactorAll       = NewOAD(0x200A0200) // array of 4 long (total, A, B, C), 0.001
	OADFrequency            = NewOAD(0x200F0200) // long-unsigned, 0.01 Hz
	OADCombinedActiveEnergy = NewOAD(0x00000200) // array of 5 double-long (total, T1–T4), 0.01 kWh
	OADForwardActiveEnergy  = NewOAD(0x00100200) // array of 5 double-long-unsigned, 0.01 kWh
	OADDateTime             = NewOAD(0x40000200) // date_time_s
	OADAddress              = NewOAD(0x40010200) // octet-string
	OADLossOfVoltageConfig  = NewOAD(0x30000500) // structure, see ACSim
	OADMultiFunctionPort    = NewOAD(0xF2070200) // array of enum
)

// acState is owned by ACSim.Run.
type acState struct {
	volts     [3]float64 // V
	amps      [3]float64 // A
	power     [4]float64 // W: total, A, B, C
	pf        [4]float64 // total, A, B, C
	freq      float64    // Hz
	energy    [5]float64 // kWh forward active: total, tariffs 1–4
	mainsLost bool
	served    int
	// A fragmented reply: the fragments after the one sent last.
	frags    []acFragment
	fragSent uint16 // sequence number of the fragment sent last
	fragSeq  uint16 // next fragment sequence number

	clockSet   bool      // the master has set 0x4000
	clockValue time.Time // the value set (UTC fields)
	clockAt    time.Time // Now() when it was set
	lovConfig  Structure // 0x30000500
	mfPort     Array     // 0xF2070200
}

func newACState(cfg *ACSimConfig) *acState {
	return &acState{
		volts: cfg.Voltages,
		pf:    [4]float64{1, 1, 1, 1},
		freq:  50,
		// Typical factory settings: trigger below 78 % Un (171.6 V),
		// recover above 85 % Un (187.0 V), current above 0.5 % Ib (0.0250 A), 60 s.
		lovConfig: Structure{LongUnsigned(1716), LongUnsigned(1870), DoubleLong(250), Unsigned(60)},
		mfPort:    Array{Enum(0)},
	}
}

// acReadings are the measured values as the unit reports them now.
type acReadings struct {
	volts [3]float64
	amps  [3]float64
	power [4]float64
	pf    [4]float64
	freq  float64
}

// readings applies the mains-lost behaviour: in LostZero the unit, on its
// own supply, measures the residual voltage and nothing else (no current,
// no power, power factor 0, no waveform to take a frequency from).
func (s *ACSim) readings(st *acState) acReadings {
	r := acReadings{volts: st.volts, amps: st.amps, power: st.power, pf: st.pf, freq: st.freq}
	if st.mainsLost {
		v := s.cfg.ResidualVolts
		r = acReadings{volts: [3]float64{v, v, v}}
	}
	return r
}

// acAttr is one attribute of the model: get returns the whole value;
// set, nil for read-only attributes, validates and stores a whole value.
type acAttr struct {
	get func(s *ACSim, st *acState) Data
	set func(s *ACSim, st *acState, v Data) DAR
}

func rawScaled(v float64, div float64, lo, hi float64) float64 {
	return min(max(math.Round(v*div), lo), hi)
}

func arrU16(v []float64, div float64) Array {
	a := make(Array, len(v))
	for i, x := range v {
		a[i] = LongUnsigned(rawScaled(x, div, 0, math.MaxUint16))
	}
	return a
}

func arrI32(v []float64, div float64) Array {
	a := make(Array, len(v))
	for i, x := range v {
		a[i] = DoubleLong(rawScaled(x, div, math.MinInt32, math.MaxInt32))
	}
	return a
}

func arrU32(v []float64, div float64) Array {
	a := make(Array, len(v))
	for i, x := range v {
		a[i] = DoubleLongUnsigned(rawScaled(x, div, 0, math.MaxUint32))
	}
	return a
}

func arrI16(v []float64, div float64) Array {
	a := make(Array, len(v))
	for i, x := range v {
		a[i] = Long(rawScaled(x, div, math.MinInt16, math.MaxInt16))
	}
	return a
}

var acModel = map[uint32]acAttr{ // key: OI<<8 | attribute ID
	0x200002: {get: func(s *ACSim, st *acState) Data { r := s.readings(st); return arrU16(r.volts[:], VoltageDivisor) }},
	0x200003: {get: func(*ACSim, *acState) Data { return ScalerUnit{Scaler: -1, Unit: 35} }},
	0x200102: {get: func(s *ACSim, st *acState) Data { r := s.readings(st); return arrI32(r.amps[:], CurrentDivisor) }},
	0x200402: {get: func(s *ACSim, st *acState) Data { r := s.readings(st); return arrI32(r.power[:], PowerDivisor) }},
	0x200A02: {get: func(s *ACSim, st *acState) Data { r := s.readings(st); return arrI16(r.pf[:], PowerFactorDivisor) }},
	0x200F02: {get: func(s *ACSim, st *acState) Data {
		return LongUnsigned(rawScaled(s.readings(st).freq, FrequencyDivisor, 0, math.MaxUint16))
	}},
	// The sim meters no reverse energy, so combined active energy equals
	// forward active energy whatever the combination word says.
	0x000002: {get: func(_ *ACSim, st *acState) Data { return arrI32(st.energy[:], EnergyDivisor) }},
	0x001002: {get: func(_ *ACSim, st *acState) Data { return arrU32(st.energy[:], EnergyDivisor) }},
	0x400102: {get: func(s *ACSim, _ *acState) Data { return OctetString(append([]byte(nil), s.cfg.Addr.Bytes()...)) }},
	0x400002: {get: (*ACSim).clock, set: (*ACSim).setClock},
	0x300005: {
		get: func(_ *ACSim, st *acState) Data { return append(Structure(nil), st.lovConfig...) },
		set: func(_ *ACSim, st *acState, v Data) DAR {
			c := v.(Structure) // shape checked against the current value
			if c[0].(LongUnsigned) >= c[1].(LongUnsigned) {
				return DAROutOfRange // the trigger limit must lie below the recovery limit
			}
			st.lovConfig = append(Structure(nil), c...)
			return DARSuccess
		},
	},
	0xF20702: {
		get: func(_ *ACSim, st *acState) Data { return append(Array(nil), st.mfPort...) },
		set: func(_ *ACSim, st *acState, v Data) DAR {
			a := v.(Array)
			for _, e := range a {
				if e.(Enum) > 2 {
					return DAROutOfRange
				}
			}
			st.mfPort = append(Array(nil), a...)
			return DARSuccess
		},
	},
}

// now is the simulator's wall clock.
func (s *ACSim) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// clock reads 0x4000 attribute 2: the local time, or the time set by SET
// advanced by the time elapsed since.
func (s *ACSim) clock(st *acState) Data {
	if !st.clockSet {
		return NewDateTimeS(s.now())
	}
	return NewDateTimeS(st.clockValue.Add(s.now().Sub(st.clockAt)))
}

func (s *ACSim) setClock(st *acState, v Data) DAR {
	d := v.(DateTimeS)
	t, err := d.Time(time.UTC)
	if err != nil || NewDateTimeS(t) != d { // unspecified fields, or a day the month lacks
		return DAROutOfRange
	}
	st.clockSet, st.clockValue, st.clockAt = true, t, s.now()
	return DARSuccess
}

// element selects element idx (1-based) of an array or structure value.
func element(v Data, idx uint8) (Data, DAR) {
	var items []Data
	switch x := v.(type) {
	case Array:
		items = x
	case Structure:
		items = x
	}
	if int(idx) > len(items) {
		return nil, DAROutOfRange
	}
	return items[idx-1], DARSuccess
}

// sameShape reports whether v has the data type of ref, element by element
// for arrays of the same length and structures.
func sameShape(ref, v Data) bool {
	if ref.Type() != v.Type() {
		return false
	}
	var r, x []Data
	switch a := ref.(type) {
	case Array:
		r, x = a, v.(Array)
	case Structure:
		r, x = a, v.(Structure)
	default:
		return true
	}
	if len(r) != len(x) {
		return false
	}
	for i := range r {
		if !sameShape(r[i], x[i]) {
			return false
		}
	}
	return true
}

// read answers GET for one OAD.
func (s *ACSim) read(st *acState, o OAD) ResultNormal {
	if o.Uint32() == 0x20000200 && s.cfg.PerPhaseOnly {
		return ResultNormal{OAD: o, DAR: DARUndefined}
	}
	attr, ok := acModel[uint32(o.OI)<<8|uint32(o.AttrID())]
	if !ok {
		return ResultNormal{OAD: o, DAR: DARUndefined}
	}
	v := attr.get(s, st)
	if o.Index != 0 {
		var dar DAR
		if v, dar = element(v, o.Index); dar != DARSuccess {
			return ResultNormal{OAD: o, DAR: dar}
		}
	}
	return ResultNormal{OAD: o, Data: v}
}

// write answers SET for one OAD: the value must have the attribute's (or
// the element's) data type; read-only attributes are denied.
func (s *ACSim) write(st *acState, o OAD, v Data) DAR {
	attr, ok := acModel[uint32(o.OI)<<8|uint32(o.AttrID())]
	if !ok {
		return DARUndefined
	}
	if attr.set == nil {
		return DARReadDenied
	}
	cur := attr.get(s, st)
	if o.Index != 0 {
		old, dar := element(cur, o.Index)
		if dar != DARSuccess {
			return dar
		}
		if !sameShape(old, v) {
			return DARTypeMismatch
		}
		switch x := cur.(type) { // cur is a copy: replace the element, store the whole
		case Array:
			x[o.Index-1] = v
		case Structure:
			x[o.Index-1] = v
		}
		v = cur
	} else if !sameShape(cur, v) {
		return DARTypeMismatch
	}
	return attr.set(s, st, v)
}
