package proto698

import "math"

// DecodeData decodes one tagged Data value that must fill b exactly.
// Offsets in errors are relative to b.
func DecodeData(b []byte) (Data, error) {
	r := &reader{b: b}
	d, err := r.data(fn("Data"))
	if err != nil {
		return nil, err
	}
	return d, r.done(fn("Data"))
}

// data decodes a tagged value.
func (r *reader) data(field fname) (Data, error) {
	t, err := r.u8(field.add(".type"))
	if err != nil {
		return nil, err
	}
	return r.value(DataType(t), field)
}

// value decodes an untagged value of type t.
func (r *reader) value(t DataType, field fname) (Data, error) {
	switch t {
	case TypeNull:
		return Null{}, nil
	case TypeArray, TypeStructure:
		if err := r.enter(field); err != nil {
			return nil, err
		}
		defer r.leave()
		n, err := r.length(field.add(".count"), 1)
		if err != nil {
			return nil, err
		}
		items := make([]Data, n)
		for i := range items {
			if items[i], err = r.data(field); err != nil {
				return nil, err
			}
		}
		if t == TypeArray {
			return Array(items), nil
		}
		return Structure(items), nil
	case TypeBool:
		v, err := r.u8(field)
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, ferrf(r.pos()-1, field.String(), ErrInvalid, "bool 0x%02X", v)
		}
		return Bool(v == 1), nil
	case TypeBitString:
		n, err := r.length(field.add(".bits"), 0)
		if err != nil {
			return nil, err
		}
		if n > (len(r.b)-r.off)*8 {
			return nil, r.errf(field, ErrTruncated, "bit-string of %d bits", n)
		}
		b, err := r.bytes((n+7)/8, field)
		return BitString{Len: n, Bits: b}, err
	case TypeDoubleLong:
		v, err := r.u32(field)
		return DoubleLong(int32(v)), err
	case TypeDoubleLongUnsigned:
		v, err := r.u32(field)
		return DoubleLongUnsigned(v), err
	case TypeOctetString, TypeVisibleString, TypeUTF8String, TypeMAC, TypeRN:
		n, err := r.length(field.add(".length"), 1)
		if err != nil {
			return nil, err
		}
		b, err := r.bytes(n, field)
		if err != nil {
			return nil, err
		}
		switch t {
		case TypeVisibleString:
			return VisibleString(b), nil
		case TypeUTF8String:
			return UTF8String(b), nil
		case TypeMAC:
			return MAC(b), nil
		case TypeRN:
			return RN(b), nil
		}
		return OctetString(b), nil
	case TypeInteger:
		v, err := r.u8(field)
		return Integer(int8(v)), err
	case TypeLong:
		v, err := r.u16(field)
		return Long(int16(v)), err
	case TypeUnsigned:
		v, err := r.u8(field)
		return Unsigned(v), err
	case TypeLongUnsigned:
		v, err := r.u16(field)
		return LongUnsigned(v), err
	case TypeLong64:
		v, err := r.u64(field)
		return Long64(int64(v)), err
	case TypeLong64Unsigned:
		v, err := r.u64(field)
		return Long64Unsigned(v), err
	case TypeEnum:
		v, err := r.u8(field)
		return Enum(v), err
	case TypeFloat32:
		v, err := r.u32(field)
		return Float32(math.Float32frombits(v)), err
	case TypeFloat64:
		v, err := r.u64(field)
		return Float64(math.Float64frombits(v)), err
	case TypeDateTime:
		return r.dateTime(field)
	case TypeDate:
		if err := r.need(5, field); err != nil {
			return nil, err
		}
		y, _ := r.u16(field)
		b := r.b[r.off:]
		r.off += 3
		return Date{y, b[0], b[1], b[2]}, nil
	case TypeTime:
		if err := r.need(3, field); err != nil {
			return nil, err
		}
		b := r.b[r.off:]
		r.off += 3
		return Time{b[0], b[1], b[2]}, nil
	case TypeDateTimeS:
		return r.dateTimeS(field)
	case TypeOI:
		v, err := r.u16(field)
		return OI(v), err
	case TypeOAD:
		return r.oad(field)
	case TypeROAD:
		return r.road(field)
	case TypeOMD:
		return r.omd(field)
	case TypeTI:
		return r.ti(field)
	case TypeTSA:
		return r.tsa(field)
	case TypeScalerUnit:
		if err := r.need(2, field); err != nil {
			return nil, err
		}
		v := ScalerUnit{int8(r.b[r.off]), r.b[r.off+1]}
		r.off += 2
		return v, nil
	case TypeCSD:
		return r.csd(field)
	case TypeCOMDCB:
		return r.comdcb(field)
	case TypeRCSD:
		return r.rcsd(field)
	}
	// The tag was the byte just read.
	return nil, ferrf(r.pos()-1, field.add(".type").String(), ErrUnsupported, "data type %d (0x%02X)", uint8(t), uint8(t))
}

func (r *reader) dateTime(field fname) (DateTime, error) {
	if err := r.need(10, field); err != nil {
		return DateTime{}, err
	}
	y, _ := r.u16(field)
	b := r.b[r.off:]
	r.off += 6
	ms, _ := r.u16(field)
	return DateTime{y, b[0], b[1], b[2], b[3], b[4], b[5], ms}, nil
}

func (r *reader) dateTimeS(field fname) (DateTimeS, error) {
	if err := r.need(7, field); err != nil {
		return DateTimeS{}, err
	}
	y, _ := r.u16(field)
	b := r.b[r.off:]
	r.off += 5
	return DateTimeS{y, b[0], b[1], b[2], b[3], b[4]}, nil
}

func (r *reader) oad(field fname) (OAD, error) {
	v, err := r.u32(field)
	return NewOAD(v), err
}

func (r *reader) omd(field fname) (OMD, error) {
	v, err := r.u32(field)
	return OMD{uint16(v >> 16), uint8(v >> 8), uint8(v)}, err
}

func (r *reader) ti(field fname) (TI, error) {
	u, err := r.u8(field)
	if err != nil {
		return TI{}, err
	}
	n, err := r.u16(field)
	return TI{u, n}, err
}

func (r *reader) road(field fname) (ROAD, error) {
	o, err := r.oad(field)
	if err != nil {
		return ROAD{}, err
	}
	n, err := r.length(field.add(".count"), 4)
	if err != nil {
		return ROAD{}, err
	}
	v := ROAD{OAD: o, Assoc: make([]OAD, n)}
	for i := range v.Assoc {
		if v.Assoc[i], err = r.oad(field); err != nil {
			return ROAD{}, err
		}
	}
	return v, nil
}

func (r *reader) tsa(field fname) (TSA, error) {
	start := r.pos()
	n, err := r.length(field.add(".length"), 1)
	if err != nil {
		return TSA{}, err
	}
	if n == 0 {
		return TSA{Empty: true}, nil
	}
	b, err := r.bytes(n, field)
	if err != nil {
		return TSA{}, err
	}
	if int(b[0]&0x0F)+1 != n-1 {
		return TSA{}, ferrf(start, field.String(), ErrLength, "TSA of %d bytes says address length %d", n, int(b[0]&0x0F)+1)
	}
	return TSA{Flags: b[0] & 0xF0, Addr: b[1:]}, nil
}

func (r *reader) csd(field fname) (CSD, error) {
	c, err := r.u8(field.add(".choice"))
	if err != nil {
		return CSD{}, err
	}
	switch c {
	case 0:
		o, err := r.oad(field)
		return CSD{OAD: o}, err
	case 1:
		ro, err := r.road(field)
		return CSD{IsROAD: true, ROAD: ro}, err
	}
	return CSD{}, ferrf(r.pos()-1, field.add(".choice").String(), ErrInvalid, "CSD choice %d", c)
}

func (r *reader) rcsd(field fname) (RCSD, error) {
	n, err := r.length(field.add(".count"), 5)
	if err != nil {
		return nil, err
	}
	v := make(RCSD, n)
	for i := range v {
		if v[i], err = r.csd(field); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (r *reader) comdcb(field fname) (COMDCB, error) {
	if err := r.need(5, field); err != nil {
		return COMDCB{}, err
	}
	b := r.b[r.off:]
	r.off += 5
	return COMDCB{b[0], b[1], b[2], b[3], b[4]}, nil
}
