package hplc

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"

	"holdup/hplc/dlt645"
)

// DefaultSimPassword is the password a simulated meter holds when
// SimMeter.Passwords is empty: level 02, 123456.
var DefaultSimPassword = dlt645.Password{Level: 0x02, Code: 0x123456}

// SimMeter is a DL/T 645-2007 meter reachable through the simulated
// module's carrier network. It answers reads of its measurements and
// parameters and, like a real meter, write-data (C=14) requests: a write
// must be addressed to the meter itself (it does not answer a broadcast or
// wildcard write), carry one of its passwords, and name a writable item with
// a valid value; the meter then applies it, logs a programming event with
// the operator code, and answers C=94. Otherwise it answers C=D4 with
//   - password error/unauthorised for a wrong or locked password and for
//     a read-only item;
//   - no requested data for an item it does not have;
//   - year zone, day period or tariff count exceeded for those counts above
//     the standard's limits (14, 14, 63);
//   - other error for a value of the wrong length, not BCD, or out of range.
type SimMeter struct {
	// Voltage per phase A, B, C in volts; a negative value marks an absent
	// phase (answered as FF FF).
	Voltage [3]float64
	// Current per phase in amperes.
	Current [3]float64
	// ForwardEnergy is the forward active energy total in kWh.
	ForwardEnergy float64
	// Offline meters do not answer (no supply, or off the network).
	Offline bool
	// Params are parameter values by DI as raw BCD digits (15 for a
	// 15-minute demand period, 1200 for a 1200 imp/kWh constant); items not
	// set read as the factory defaults. Writes land here. NewSim and SetMeter
	// copy the map. The date and time items are the meter's clock instead.
	Params map[dlt645.DI]int64
	// Passwords are the meter's passwords, one per privilege level; a write
	// must carry one of them, level and digits. Empty means
	// DefaultSimPassword.
	Passwords []dlt645.Password
	// LockAfter locks a password level after that many consecutive wrong
	// passwords, as meters do; a locked level is refused even with the right
	// password until SetMeter replaces the meter (the simulator has no
	// midnight unlock). Zero never locks.
	LockAfter int

	// Run-time state, owned by the simulator's Run goroutine.
	clock    time.Duration // meter clock minus host wall clock
	failures map[uint8]int // consecutive wrong passwords per level
	programs int           // programming events (03300000)
	lastProg []byte        // last programming record (03300001)
}

// simFactory are the parameter values of a meter fresh from the factory.
var simFactory = map[dlt645.DI]int64{
	dlt645.DIDemandPeriod: 15, dlt645.DISlipTime: 1, dlt645.DIPulseWidth: 80,
	dlt645.DIYearZones: 2, dlt645.DIDayTables: 2, dlt645.DIDayPeriods: 8, dlt645.DITariffs: 4, dlt645.DIHolidays: 0,
	dlt645.DICTRatio: 1, dlt645.DIPTRatio: 1, dlt645.DIActiveConstant: 1200,
}

// simExceeded is the error bit a meter answers for a count above its limit.
var simExceeded = map[dlt645.DI]dlt645.ErrorCode{
	dlt645.DIYearZones:  dlt645.ErrCodeYearZones,
	dlt645.DIDayPeriods: dlt645.ErrCodeDaySegments,
	dlt645.DITariffs:    dlt645.ErrCodeTariffs,
}

// clone returns a copy that shares no map or slice with mt, with the
// run-time state reset, as a meter handed to NewSim or SetMeter starts.
func (mt SimMeter) clone() SimMeter {
	return SimMeter{Voltage: mt.Voltage, Current: mt.Current, ForwardEnergy: mt.ForwardEnergy, Offline: mt.Offline,
		Params: maps.Clone(mt.Params), Passwords: slices.Clone(mt.Passwords), LockAfter: mt.LockAfter}
}

// answer builds the meter's reply to one 645 request frame, as a meter
// would: nil when the frame is not for it (wrong address, not decodable).
func (mt *SimMeter) answer(self dlt645.Address, req []byte) []byte {
	f, _, err := dlt645.Decode(req)
	if err != nil || f.C.Response() {
		return nil
	}
	if f.Addr != self && f.Addr != dlt645.WildcardAddress && f.Addr != dlt645.BroadcastAddress {
		return nil
	}
	var resp dlt645.Frame
	switch f.C.Func() {
	case dlt645.FuncReadAddress:
		resp = dlt645.NewReadAddressResponse(self)
	case dlt645.FuncRead:
		di, _, err := f.ReadRequest()
		if err != nil {
			resp = dlt645.NewException(self, dlt645.FuncRead, dlt645.ErrCodeOther)
			break
		}
		val, ok := mt.read(di)
		if !ok {
			resp = dlt645.NewException(self, dlt645.FuncRead, dlt645.ErrCodeNoData)
			break
		}
		resp = dlt645.NewReadResponse(self, di, val)
	case dlt645.FuncWrite:
		if f.Addr != self {
			return nil // a write is point to point: no answer to broadcast or wildcard
		}
		if code := mt.write(&f); code != 0 {
			resp = dlt645.NewException(self, dlt645.FuncWrite, code)
		} else {
			resp = dlt645.NewWriteResponse(self)
		}
	default:
		resp = dlt645.NewException(self, f.C.Func(), dlt645.ErrCodeOther)
	}
	resp.Preamble = 4 // meters wake the line with FE bytes
	b, err := resp.Encode()
	if err != nil {
		return nil
	}
	return b
}

// write applies a write-data request and returns 0, or the error bits of
// the refusal.
func (mt *SimMeter) write(f *dlt645.Frame) dlt645.ErrorCode {
	w, err := f.WriteRequest()
	if err != nil {
		return dlt645.ErrCodeOther
	}
	if !mt.authorised(w.Password) {
		return dlt645.ErrCodeAuth
	}
	v, err := dlt645.DecodeWriteValue(w.DI, w.Data)
	switch {
	case errors.Is(err, dlt645.ErrUnknownItem):
		return dlt645.ErrCodeNoData
	case errors.Is(err, dlt645.ErrNotWritable):
		return dlt645.ErrCodeAuth
	case errors.Is(err, dlt645.ErrRange) && simExceeded[w.DI] != 0:
		return simExceeded[w.DI]
	case err != nil:
		return dlt645.ErrCodeOther
	}
	now := time.Now()
	switch w.DI {
	case dlt645.DIDateWeek:
		t := mt.now(now)
		d := time.Date(2000+int(v.Raw/1000000), time.Month(v.Raw/10000%100), int(v.Raw/100%100),
			t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
		mt.clock = d.Sub(wallClock(now))
	case dlt645.DITime:
		t := mt.now(now)
		d := time.Date(t.Year(), t.Month(), t.Day(), int(v.Raw/10000), int(v.Raw/100%100), int(v.Raw%100), 0, time.UTC)
		mt.clock = d.Sub(wallClock(now))
	default:
		if mt.Params == nil {
			mt.Params = make(map[dlt645.DI]int64)
		}
		mt.Params[w.DI] = v.Raw
	}
	mt.logProgram(mt.now(now), w)
	return 0
}

// authorised checks a write's password against the meter's and keeps the
// per-level count of consecutive failures.
func (mt *SimMeter) authorised(pw dlt645.Password) bool {
	if mt.failures == nil {
		mt.failures = make(map[uint8]int)
	}
	if mt.LockAfter > 0 && mt.failures[pw.Level] >= mt.LockAfter {
		return false
	}
	held := mt.Passwords
	if len(held) == 0 {
		held = []dlt645.Password{DefaultSimPassword}
	}
	if slices.Contains(held, pw) {
		mt.failures[pw.Level] = 0
		return true
	}
	mt.failures[pw.Level]++
	return false
}

// logProgram records a programming event: the count (03300000) and the last
// record (03300001: time YYMMDDhhmmss, operator code, the DIs programmed,
// ten slots padded with FF). A real meter gathers the writes of one
// programming session into one record; the simulator logs each write.
func (mt *SimMeter) logProgram(t time.Time, w dlt645.WriteRequest) {
	mt.programs++
	rec := make([]byte, 0, 50)
	for _, x := range []int{t.Second(), t.Minute(), t.Hour(), t.Day(), int(t.Month()), t.Year() % 100} {
		rec = append(rec, byte(x/10)<<4|byte(x%10))
	}
	rec = binary.LittleEndian.AppendUint32(rec, uint32(w.Operator))
	rec = binary.LittleEndian.AppendUint32(rec, uint32(w.DI))
	for len(rec) < cap(rec) {
		rec = append(rec, 0xFF)
	}
	mt.lastProg = rec
}

// now is the meter's clock: the host's wall-clock reading (local time, no
// zone) shifted by what writes of date and time set.
func (mt *SimMeter) now(host time.Time) time.Time { return wallClock(host).Add(mt.clock) }

// wallClock re-reads t's local wall-clock fields as a zone-less (UTC) time,
// so that meter clock arithmetic sees no daylight-saving jumps.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func (mt *SimMeter) read(di dlt645.DI) ([]byte, bool) {
	switch di {
	case dlt645.DILastProgramRecord:
		if mt.lastProg == nil {
			return nil, false
		}
		return slices.Clone(mt.lastProg), true
	case dlt645.DIProgramCount:
		return mt.readRaw(di, int64(mt.programs))
	case dlt645.DIDateWeek:
		t := mt.now(time.Now())
		return mt.readRaw(di, int64(t.Year()%100)*1000000+int64(t.Month())*10000+int64(t.Day())*100+int64(t.Weekday()))
	case dlt645.DITime:
		t := mt.now(time.Now())
		return mt.readRaw(di, int64(t.Hour())*10000+int64(t.Minute())*100+int64(t.Second()))
	}
	if raw, ok := mt.Params[di]; ok {
		return mt.readRaw(di, raw)
	}
	if raw, ok := simFactory[di]; ok {
		return mt.readRaw(di, raw)
	}
	it, ok := dlt645.LookupItem(di)
	if !ok {
		return nil, false
	}
	scaled := func(v float64) dlt645.Value {
		if v < 0 {
			return dlt645.Value{}
		}
		raw := v
		for range it.Format.Decimals {
			raw *= 10
		}
		return dlt645.Value{Raw: int64(raw + 0.5), Decimals: it.Format.Decimals, Valid: true}
	}
	var vals []dlt645.Value
	switch di {
	case dlt645.DIVoltageA, dlt645.DIVoltageB, dlt645.DIVoltageC:
		vals = append(vals, scaled(mt.Voltage[(di>>8&0xFF)-1]))
	case dlt645.DIVoltageBlock:
		for _, v := range mt.Voltage {
			vals = append(vals, scaled(v))
		}
	case dlt645.DICurrentA, dlt645.DICurrentB, dlt645.DICurrentC:
		vals = append(vals, scaled(mt.Current[(di>>8&0xFF)-1]))
	case dlt645.DIForwardTotal:
		vals = append(vals, scaled(mt.ForwardEnergy))
	default:
		return nil, false
	}
	var out []byte
	for _, v := range vals {
		var err error
		if out, err = dlt645.AppendValue(out, it.Format, v); err != nil {
			return nil, false
		}
	}
	return out, true
}

// readRaw encodes the raw digits of a parameter item.
func (mt *SimMeter) readRaw(di dlt645.DI, raw int64) ([]byte, bool) {
	it, ok := dlt645.LookupItem(di)
	if !ok {
		return nil, false
	}
	b, err := dlt645.AppendBCD(nil, raw, it.Format.Bytes, it.Format.Signed)
	return b, err == nil
}
