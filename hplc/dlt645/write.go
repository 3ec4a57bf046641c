package dlt645

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Password is the 4-byte password field of a write: PA, the privilege level
// (0 is the highest, 9 the lowest; meters commonly hold level 02 and 04
// passwords), then P0 P1 P2, the password itself, low byte first.
type Password struct {
	Level uint8
	// Code holds the password as printed, 0x123456 for "123456"; only the
	// low 24 bits are sent (P0 = 0x56).
	Code uint32
}

// ParsePassword parses eight hex digits, level first, as meter tools write
// it: "02123456" is level 02, password 123456.
func ParsePassword(s string) (Password, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		return Password{}, fmt.Errorf("dlt645: password: want 8 hex digits (level, then 6 digits), got %d characters", len(s))
	}
	return Password{Level: uint8(v >> 24), Code: uint32(v) & 0xFFFFFF}, nil
}

// String names the level only, so that logs never carry the password.
func (p Password) String() string { return fmt.Sprintf("level %02X password", p.Level) }

// Operator is the operator code C0..C3 a write carries and the meter records
// in its programming log. It is printed, like a DI, highest byte first and
// travels low byte first.
type Operator uint32

// String formats the value for logs and JSON.
func (o Operator) String() string { return fmt.Sprintf("%08X", uint32(o)) }

// MarshalText implements encoding.TextMarshaler.
func (o Operator) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// WriteRequest is the data field of a write-data request (C=14): DI,
// password, operator code and the value bytes (low byte first, unscrambled).
type WriteRequest struct {
	DI       DI
	Password Password
	Operator Operator
	Data     []byte
}

// writeHeader is DI, password and operator code before the value bytes.
const writeHeader = 12

// NewWrite builds a master → meter write-data request (C=14) setting item di
// to data (the value bytes, low byte first, as EncodeValue returns them).
// The password must fit in 6 digits and the frame in 255 data bytes.
func NewWrite(addr Address, di DI, pw Password, op Operator, data []byte) (Frame, error) {
	if pw.Code > 0xFFFFFF {
		return Frame{}, fmt.Errorf("dlt645: write %s to meter %s: password %X is longer than 3 bytes: %w", di, addr, pw.Code, ErrRange)
	}
	if writeHeader+len(data) > 255 {
		return Frame{}, fmt.Errorf("dlt645: write %s to meter %s: %d value bytes exceed the frame: %w", di, addr, len(data), ErrLength)
	}
	f := Frame{Addr: addr, C: FuncWrite, Data: make([]byte, writeHeader, writeHeader+len(data))}
	putDI(f.Data, di)
	f.Data[4] = pw.Level
	f.Data[5], f.Data[6], f.Data[7] = byte(pw.Code), byte(pw.Code>>8), byte(pw.Code>>16)
	binary.LittleEndian.PutUint32(f.Data[8:], uint32(op))
	f.Data = append(f.Data, data...)
	return f, nil
}

// NewWriteResponse builds the normal answer to a write (C=94, no data).
func NewWriteResponse(addr Address) Frame {
	return Frame{Addr: addr, C: CtrlResponse | FuncWrite}
}

// WriteRequest returns the fields of a write-data request (C=14). Data
// aliases f.Data.
func (f *Frame) WriteRequest() (WriteRequest, error) {
	if f.C != FuncWrite {
		return WriteRequest{}, frameErr(f.Preamble+8, "control", fmt.Errorf("C=%02X is not a write request (14): %w", byte(f.C), ErrFunction))
	}
	if len(f.Data) < writeHeader {
		return WriteRequest{}, frameErr(f.Preamble+9, "length", fmt.Errorf("write request needs DI, password and operator code (12 bytes), L=%d: %w", len(f.Data), ErrLength))
	}
	d := f.Data
	return WriteRequest{
		DI:       getDI(d),
		Password: Password{Level: d[4], Code: uint32(d[5]) | uint32(d[6])<<8 | uint32(d[7])<<16},
		Operator: Operator(binary.LittleEndian.Uint32(d[8:])),
		Data:     d[writeHeader:],
	}, nil
}

// WriteResponse checks the meter's answer to a write: nil for the normal
// answer (C=94, L=0), an *ExceptionError for the abnormal answer (C=D4 with
// the error byte; errors.Is(err, ErrCodeAuth) and so on name its flags),
// and a *FrameError for anything else.
func (f *Frame) WriteResponse() error {
	if f.C&^CtrlAbnormal != CtrlResponse|FuncWrite {
		return frameErr(f.Preamble+8, "control", fmt.Errorf("C=%02X is not a write response (94 or D4): %w", byte(f.C), ErrFunction))
	}
	if code, ok := f.Exception(); ok {
		return f.exceptionError(code)
	}
	if f.C.Abnormal() {
		return frameErr(f.Preamble+9, "length", fmt.Errorf("exception response without error byte: %w", ErrLength))
	}
	if len(f.Data) != 0 {
		return frameErr(f.Preamble+9, "length", fmt.Errorf("normal write response carries no data, L=%d: %w", len(f.Data), ErrLength))
	}
	return nil
}

// EncodeValue returns the value bytes that write v to item di: v scaled by
// the item's decimals, as packed BCD low byte first. For the date item v is
// YYMMDDWW (24052001 is Monday 20 May 2024), for the time item hhmmss. It
// refuses unknown items (ErrUnknownItem), read-only and block items
// (ErrNotWritable), and values the item cannot hold exactly or that exceed
// its limit (ErrRange).
func EncodeValue(di DI, v float64) ([]byte, error) {
	it, err := writableItem(di)
	if err != nil {
		return nil, err
	}
	raw, err := scaleRaw(v, it.Format.Decimals)
	if err == nil {
		err = it.check(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("dlt645: %s (%s) value %v: %w", it.Name, di, v, err)
	}
	b, err := AppendBCD(nil, raw, it.Format.Bytes, it.Format.Signed)
	if err != nil {
		return nil, fmt.Errorf("dlt645: %s (%s) value %v: %w: %w", it.Name, di, v, err, ErrRange)
	}
	return b, nil
}

// DecodeWriteValue is the meter's side of EncodeValue: it checks the value
// bytes of a write to di and decodes them. Errors wrap ErrUnknownItem,
// ErrNotWritable, ErrLength, ErrBCD or ErrRange, which a meter answers with
// different error bits.
func DecodeWriteValue(di DI, data []byte) (Value, error) {
	it, err := writableItem(di)
	if err != nil {
		return Value{}, err
	}
	v, err := DecodeValue(it.Format, data)
	if err == nil && !v.Valid {
		err = fmt.Errorf("all bytes FF: %w", ErrBCD)
	}
	if err == nil {
		err = it.check(v.Raw)
	}
	if err != nil {
		return Value{}, fmt.Errorf("dlt645: %s (%s) value % X: %w", it.Name, di, data, err)
	}
	return v, nil
}

func writableItem(di DI) (Item, error) {
	it, ok := LookupItem(di)
	if !ok {
		return it, fmt.Errorf("dlt645: item %s: %w", di, ErrUnknownItem)
	}
	if !it.Writable || it.Block {
		return it, fmt.Errorf("dlt645: %s (%s): %w", it.Name, di, ErrNotWritable)
	}
	return it, nil
}

// scaleRaw turns v into the integer of BCD digits for decimals places; v
// must be representable (no finer digits than decimals).
func scaleRaw(v float64, decimals int) (int64, error) {
	f := v * math.Pow10(decimals)
	if math.IsNaN(f) || math.Abs(f) > 1e15 {
		return 0, fmt.Errorf("not a storable number: %w", ErrRange)
	}
	r := math.Round(f)
	// Allow the rounding error of the scaling multiply, nothing more.
	ulp := math.Nextafter(math.Abs(f), math.Inf(1)) - math.Abs(f)
	if math.Abs(f-r) > math.Max(1e-6, 2*ulp) {
		return 0, fmt.Errorf("more than %d decimal places: %w", decimals, ErrRange)
	}
	return int64(r), nil
}

// check applies the item's limit and, for dates and times, the calendar.
func (it Item) check(raw int64) error {
	if raw < 0 && !it.Format.Signed {
		return fmt.Errorf("negative: %w", ErrRange)
	}
	if it.Max > 0 && raw > it.Max {
		return fmt.Errorf("%d above the maximum %d: %w", raw, it.Max, ErrRange)
	}
	switch it.kind {
	case kindDate:
		yy, mm, dd, ww := raw/1000000, raw/10000%100, raw/100%100, raw%100
		if yy > 99 || mm < 1 || mm > 12 || dd < 1 || dd > int64(daysIn(int(yy), int(mm))) || ww > 6 {
			return fmt.Errorf("%08d is not a date YYMMDDWW (weekday 0-6): %w", raw, ErrRange)
		}
	case kindTime:
		if raw/10000 > 23 || raw/100%100 > 59 || raw%100 > 59 {
			return fmt.Errorf("%06d is not a time of day hhmmss: %w", raw, ErrRange)
		}
	}
	return nil
}

// daysIn returns the days of month mm in year 2000+yy.
func daysIn(yy, mm int) int {
	return time.Date(2000+yy, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
