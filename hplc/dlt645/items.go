package dlt645

import "fmt"

var (
	fmtVoltage = Format{Bytes: 2, Decimals: 1, Unit: "V"}
	fmtCurrent = Format{Bytes: 3, Decimals: 3, Signed: true, Unit: "A"}
	fmtPower   = Format{Bytes: 3, Decimals: 4, Signed: true}
	fmtPF      = Format{Bytes: 2, Decimals: 3, Signed: true}
	fmtFreq    = Format{Bytes: 2, Decimals: 2, Unit: "Hz"}
	fmtEnergy  = Format{Bytes: 4, Decimals: 2, Unit: "kWh"}
	fmtEnergyS = Format{Bytes: 4, Decimals: 2, Signed: true, Unit: "kWh"}
)

var phaseNames = [...]string{"total", "A-phase", "B-phase", "C-phase"}

var energyKinds = map[byte]string{
	0x00: "combined active energy", 0x01: "forward active energy", 0x02: "reverse active energy",
	0x03: "combined reactive 1 energy", 0x04: "combined reactive 2 energy",
}

// Parameter and event-record data identifiers (DL/T 645-2007 appendix A).
const (
	DIDemandPeriod      DI = 0x04000103 // maximum demand period, minutes
	DISlipTime          DI = 0x04000104 // demand slip time, minutes
	DIPulseWidth        DI = 0x04000105 // calibration pulse width, ms
	DIYearZones         DI = 0x04000201 // year time zone count, at most 14
	DIDayTables         DI = 0x04000202 // daily time table count, at most 8
	DIDayPeriods        DI = 0x04000203 // daily time period count, at most 14
	DITariffs           DI = 0x04000204 // tariff count, at most 63
	DIHolidays          DI = 0x04000205 // public holiday count, at most 254
	DICTRatio           DI = 0x04000306 // current transformer ratio
	DIPTRatio           DI = 0x04000307 // voltage transformer ratio
	DIActiveConstant    DI = 0x04000409 // active energy meter constant, imp/kWh (read-only)
	DIProgramCount      DI = 0x03300000 // programming event count (read-only)
	DILastProgramRecord DI = 0x03300001 // last programming record (read-only, raw)
)

// parameters are the 04 (parameter) and 03 (event count) items in the
// table, with the access and limits appendix A of the standard gives them.
var parameters = map[DI]Item{
	DIDateWeek:       {Name: "date and weekday", Format: Format{Bytes: 4}, Writable: true, kind: kindDate},
	DITime:           {Name: "time of day", Format: Format{Bytes: 3}, Writable: true, kind: kindTime},
	DIDemandPeriod:   {Name: "maximum demand period", Format: Format{Bytes: 1, Unit: "min"}, Writable: true},
	DISlipTime:       {Name: "demand slip time", Format: Format{Bytes: 1, Unit: "min"}, Writable: true},
	DIPulseWidth:     {Name: "calibration pulse width", Format: Format{Bytes: 2, Unit: "ms"}, Writable: true},
	DIYearZones:      {Name: "year time zone count", Format: Format{Bytes: 1}, Writable: true, Max: 14},
	DIDayTables:      {Name: "daily time table count", Format: Format{Bytes: 1}, Writable: true, Max: 8},
	DIDayPeriods:     {Name: "daily time period count", Format: Format{Bytes: 1}, Writable: true, Max: 14},
	DITariffs:        {Name: "tariff count", Format: Format{Bytes: 1}, Writable: true, Max: 63},
	DIHolidays:       {Name: "public holiday count", Format: Format{Bytes: 2}, Writable: true, Max: 254},
	DICTRatio:        {Name: "current transformer ratio", Format: Format{Bytes: 3}, Writable: true},
	DIPTRatio:        {Name: "voltage transformer ratio", Format: Format{Bytes: 3}, Writable: true},
	DIActiveConstant: {Name: "active energy constant", Format: Format{Bytes: 3, Unit: "imp/kWh"}},
	DIProgramCount:   {Name: "programming event count", Format: Format{Bytes: 3}},
}

// LookupItem returns the name and value format of the measurement items the
// terminal reads: energies (00xxyy00), voltage, current, power, power factor
// (0201..0206), frequency (02800002); and of the common parameters
// (04000101 date … 04000409 meter constant) with their write access and
// limits. ok is false for other DIs, whose value bytes are then reported raw.
func LookupItem(di DI) (Item, bool) {
	if it, ok := parameters[di]; ok {
		return it, true
	}
	d3, d2, d1, d0 := byte(di>>24), byte(di>>16), byte(di>>8), byte(di)
	switch {
	case d3 == 0x00 && d0 == 0x00:
		kind, ok := energyKinds[d2]
		if !ok {
			return Item{}, false
		}
		fm := fmtEnergy
		if d2 == 0x00 || d2 == 0x03 || d2 == 0x04 {
			fm = fmtEnergyS
		}
		if d2 >= 0x03 {
			fm.Unit = "kvarh"
		}
		if d1 == 0xFF {
			return Item{Name: kind + " (total and tariffs)", Format: fm, Block: true}, true
		}
		if d1 == 0 {
			return Item{Name: kind + " total", Format: fm}, true
		}
		return Item{Name: fmt.Sprintf("%s tariff %d", kind, d1), Format: fm}, true
	case d3 == 0x02 && d2 >= 0x01 && d2 <= 0x06 && d0 == 0x00:
		var fm Format
		var name string
		switch d2 {
		case 0x01:
			fm, name = fmtVoltage, "voltage"
		case 0x02:
			fm, name = fmtCurrent, "current"
		case 0x03:
			fm, name = fmtPower, "active power"
			fm.Unit = "kW"
		case 0x04:
			fm, name = fmtPower, "reactive power"
			fm.Unit = "kvar"
		case 0x05:
			fm, name = fmtPower, "apparent power"
			fm.Unit = "kVA"
		case 0x06:
			fm, name = fmtPF, "power factor"
		}
		minPhase := byte(1)
		if d2 >= 0x03 {
			minPhase = 0
		}
		if d1 == 0xFF {
			return Item{Name: name + " block", Format: fm, Block: true}, true
		}
		if d1 < minPhase || d1 > 3 {
			return Item{}, false
		}
		return Item{Name: phaseNames[d1] + " " + name, Format: fm}, true
	case di == 0x02800002:
		return Item{Name: "grid frequency", Format: fmtFreq}, true
	}
	return Item{}, false
}

// DecodeValues decodes the value bytes of a read response for di. A block
// DI yields one value per repeated item. ok is false when di is not a known
// item (the caller should report the bytes raw).
func DecodeValues(di DI, data []byte) (vals []Value, ok bool, err error) {
	it, known := LookupItem(di)
	if !known {
		return nil, false, nil
	}
	n := it.Format.Bytes
	if (!it.Block && len(data) != n) || (it.Block && (len(data) == 0 || len(data)%n != 0)) {
		return nil, true, fmt.Errorf("dlt645: %s (%s): %d value bytes for %d-byte items: %w", it.Name, di, len(data), n, ErrLength)
	}
	for i := 0; i < len(data); i += n {
		v, err := DecodeValue(it.Format, data[i:i+n])
		if err != nil {
			return nil, true, fmt.Errorf("dlt645: %s (%s) item %d: %w", it.Name, di, i/n, err)
		}
		vals = append(vals, v)
	}
	return vals, true, nil
}
