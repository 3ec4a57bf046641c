package dlt645

import (
	"fmt"
	"strconv"
)

// DecodeBCD decodes n = len(b) bytes of packed BCD stored low byte first, as
// DL/T 645 carries values. With signed, bit 7 of the last (highest) byte is
// the sign. A nibble above 9 returns ErrBCD naming its byte index.
func DecodeBCD(b []byte, signed bool) (int64, error) {
	var v int64
	neg := false
	for i := len(b) - 1; i >= 0; i-- {
		c := b[i]
		if signed && i == len(b)-1 {
			neg = c&0x80 != 0
			c &^= 0x80
		}
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0, fmt.Errorf("byte %d = %02X: %w", i, b[i], ErrBCD)
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// AppendBCD appends v as n bytes of packed BCD, low byte first. With signed,
// a negative v sets bit 7 of the highest byte.
func AppendBCD(dst []byte, v int64, n int, signed bool) ([]byte, error) {
	neg := v < 0
	if neg && !signed {
		return dst, fmt.Errorf("dlt645: BCD: negative value %d for an unsigned item", v)
	}
	if neg {
		v = -v
	}
	start := len(dst)
	for range n {
		d := v % 100
		v /= 100
		dst = append(dst, byte(d/10)<<4|byte(d%10))
	}
	top := dst[len(dst)-1]
	if v != 0 || (signed && top&0x80 != 0) {
		return dst[:start], fmt.Errorf("dlt645: BCD: value does not fit in %d bytes", n)
	}
	if neg {
		dst[len(dst)-1] |= 0x80
	}
	return dst, nil
}

// Format describes how a value is stored: byte count, implied decimal
// places, sign bit and unit.
type Format struct {
	Bytes    int
	Decimals int
	Signed   bool
	Unit     string
}

// Item names a data identifier and its value format.
type Item struct {
	Name   string
	Format Format
	// Block is true for a block DI (an FF byte) that repeats Format.
	Block bool
	// Writable is true for a parameter the standard lets a master set with
	// write-data (C=14) and the right password.
	Writable bool
	// Max is the largest raw value (the BCD digits, before scaling) the
	// standard allows, 0 when only the byte count limits it.
	Max int64
	// kind says whether the digits are a number, a date or a time of day.
	kind valueKind
}

type valueKind uint8

const (
	kindNumber valueKind = iota
	kindDate             // YYMMDDWW: year, month, day, weekday 0 (Sunday) … 6
	kindTime             // hhmmss
)

// Value is one decoded item value: Raw scaled by 10^-Decimals. Valid is
// false when the meter sent all-FF bytes (item absent, e.g. a phase the
// meter does not have).
type Value struct {
	Raw      int64
	Decimals int
	Unit     string
	Valid    bool
}

// Float64 returns the scaled value.
func (v Value) Float64() float64 {
	f := float64(v.Raw)
	for range v.Decimals {
		f /= 10
	}
	return f
}

// String formats the value with its decimals ("223.3"), "absent" when not valid.
func (v Value) String() string {
	if !v.Valid {
		return "absent"
	}
	s := strconv.FormatInt(abs(v.Raw), 10)
	for len(s) <= v.Decimals {
		s = "0" + s
	}
	if v.Decimals > 0 {
		s = s[:len(s)-v.Decimals] + "." + s[len(s)-v.Decimals:]
	}
	if v.Raw < 0 {
		s = "-" + s
	}
	return s
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// DecodeValue decodes one value of format fm from b (len(b) == fm.Bytes).
func DecodeValue(fm Format, b []byte) (Value, error) {
	v := Value{Decimals: fm.Decimals, Unit: fm.Unit}
	if len(b) != fm.Bytes {
		return v, fmt.Errorf("value needs %d bytes, have %d: %w", fm.Bytes, len(b), ErrLength)
	}
	allFF := true
	for _, c := range b {
		if c != 0xFF {
			allFF = false
			break
		}
	}
	if allFF {
		return v, nil
	}
	raw, err := DecodeBCD(b, fm.Signed)
	if err != nil {
		return v, err
	}
	v.Raw, v.Valid = raw, true
	return v, nil
}

// AppendValue appends v in format fm; an invalid v is written as all FF.
func AppendValue(dst []byte, fm Format, v Value) ([]byte, error) {
	if !v.Valid {
		for range fm.Bytes {
			dst = append(dst, 0xFF)
		}
		return dst, nil
	}
	raw := v.Raw
	for d := v.Decimals; d < fm.Decimals; d++ {
		raw *= 10
	}
	for d := v.Decimals; d > fm.Decimals; d-- {
		raw /= 10
	}
	return AppendBCD(dst, raw, fm.Bytes, fm.Signed)
}
