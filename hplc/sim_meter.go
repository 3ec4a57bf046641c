package hplc

import (
	"holdup/hplc/dlt645"
)

// SimMeter is a DL/T 645-2007 meter reachable through the simulated
// module's carrier network.
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

func (mt *SimMeter) read(di dlt645.DI) ([]byte, bool) {
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
