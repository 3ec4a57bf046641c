package hplc

import (
	"encoding/binary"
	"fmt"
)

// Frame layout constants.
const (
	Start = 0x68
	End   = 0x16
	// MinFrameLen is 0x68, L(2), C, R(6), AFN, DT(2), CS, 0x16.
	MinFrameLen = 15
	// MaxFrameLen bounds L. Modules announce at most a couple of kilobytes
	// (03 F10 "maximum message length"); a larger L is treated as corrupt so
	// that a deframer does not wait on garbage.
	MaxFrameLen = 2048
	// MaxRelays is the largest relay level the 4-bit R field can carry.
	MaxRelays = 15
)

// Frame is one Q/GDW 1376.2 frame. Src, Relays and Dst form the address
// field A, present when R.ModuleID is set (len(Relays) must equal
// R.Relays). Data is the data unit after DT; a decoded frame's Data
// aliases the input buffer.
type Frame struct {
	C      Control
	R      Info
	Src    Addr
	Relays []Addr
	Dst    Addr
	AFN    uint8
	Fn     uint16
	Data   []byte
}

// Len returns the encoded frame length (the L field).
func (f *Frame) Len() int {
	n := MinFrameLen + len(f.Data)
	if f.R.ModuleID {
		n += 12 + 6*len(f.Relays)
	}
	return n
}

// FnToDT returns the data-unit identifier DT1 (bit map) and DT2 (group) of
// Fn 1..248: Fn = DT2*8 + bit position + 1.
func FnToDT(fn uint16) (dt1, dt2 byte, err error) {
	if fn < 1 || fn > 248 {
		return 0, 0, fmt.Errorf("function number F%d outside F1..F248: %w", fn, ErrDT)
	}
	return 1 << ((fn - 1) % 8), byte((fn - 1) / 8), nil
}

// DTToFn returns the Fn that DT1/DT2 name; DT1 must have exactly one bit set.
func DTToFn(dt1, dt2 byte) (uint16, error) {
	if dt1 == 0 || dt1&(dt1-1) != 0 {
		return 0, fmt.Errorf("DT1=%02X must have exactly one bit set: %w", dt1, ErrDT)
	}
	if dt2 > 30 {
		return 0, fmt.Errorf("DT2=%02X above group 30 (F248): %w", dt2, ErrDT)
	}
	pos := uint16(0)
	for dt1>>pos != 1 {
		pos++
	}
	return uint16(dt2)*8 + pos + 1, nil
}

// Decode decodes the frame at the start of b and returns it with its length.
// Bytes after the frame are not examined. Every failure is a *FrameError.
func Decode(b []byte) (Frame, int, error) {
	var f Frame
	if len(b) < 3 {
		return f, 0, frameErr(len(b), "length", fmt.Errorf("need 3 bytes for start and L, have %d: %w", len(b), ErrShort))
	}
	if b[0] != Start {
		return f, 0, frameErr(0, "start", fmt.Errorf("got %02X: %w", b[0], ErrStart))
	}
	n := int(binary.LittleEndian.Uint16(b[1:]))
	if n < MinFrameLen || n > MaxFrameLen {
		return f, 0, frameErr(1, "length", fmt.Errorf("frame length L=%d outside %d..%d: %w", n, MinFrameLen, MaxFrameLen, ErrLength))
	}
	if len(b) < n {
		return f, 0, frameErr(len(b), "length", fmt.Errorf("frame length L=%d but only %d bytes: %w", n, len(b), ErrShort))
	}
	if b[n-1] != End {
		return f, 0, frameErr(n-1, "end", fmt.Errorf("got %02X: %w", b[n-1], ErrEnd))
	}
	var sum byte
	for _, c := range b[3 : n-2] {
		sum += c
	}
	if b[n-2] != sum {
		return f, 0, frameErr(n-2, "checksum", fmt.Errorf("got %02X, computed %02X: %w", b[n-2], sum, ErrChecksum))
	}
	f.C = ParseControl(b[3])
	f.R = parseInfo(b[4:10], f.C.Up)
	p := 10
	if f.R.ModuleID {
		need := 12 + 6*int(f.R.Relays)
		if p+need+3 > n-2 {
			return f, 0, frameErr(p, "address", fmt.Errorf("address field A of %d bytes (relay level %d) does not fit L=%d: %w", need, f.R.Relays, n, ErrLength))
		}
		copy(f.Src[:], b[p:])
		p += 6
		if f.R.Relays > 0 {
			f.Relays = make([]Addr, f.R.Relays)
			for i := range f.Relays {
				copy(f.Relays[i][:], b[p:])
				p += 6
			}
		}
		copy(f.Dst[:], b[p:])
		p += 6
	}
	f.AFN = b[p]
	fn, err := DTToFn(b[p+1], b[p+2])
	if err != nil {
		return f, 0, frameErr(p+1, "DT", err)
	}
	f.Fn = fn
	p += 3
	if p < n-2 {
		f.Data = b[p : n-2 : n-2]
	}
	return f, n, nil
}

// Append appends the encoded frame to dst.
func (f *Frame) Append(dst []byte) ([]byte, error) {
	if f.C.Mode > 0x3F {
		return dst, fmt.Errorf("hplc: encode: communication mode %d exceeds 63: %w", f.C.Mode, ErrValue)
	}
	if err := f.R.check(f.C.Up); err != nil {
		return dst, fmt.Errorf("hplc: encode: %w", err)
	}
	if f.R.ModuleID && len(f.Relays) != int(f.R.Relays) {
		return dst, fmt.Errorf("hplc: encode: R relay level %d but %d relay addresses: %w", f.R.Relays, len(f.Relays), ErrValue)
	}
	dt1, dt2, err := FnToDT(f.Fn)
	if err != nil {
		return dst, fmt.Errorf("hplc: encode: %w", err)
	}
	n := f.Len()
	if n > MaxFrameLen {
		return dst, fmt.Errorf("hplc: encode: frame length %d exceeds %d: %w", n, MaxFrameLen, ErrLength)
	}
	start := len(dst)
	dst = append(dst, Start, byte(n), byte(n>>8), f.C.Byte(), 0, 0, 0, 0, 0, 0)
	f.R.put(dst[start+4:start+10], f.C.Up)
	if f.R.ModuleID {
		dst = append(dst, f.Src[:]...)
		for _, r := range f.Relays {
			dst = append(dst, r[:]...)
		}
		dst = append(dst, f.Dst[:]...)
	}
	dst = append(dst, f.AFN, dt1, dt2)
	dst = append(dst, f.Data...)
	var sum byte
	for _, c := range dst[start+3:] {
		sum += c
	}
	return append(dst, sum, End), nil
}

// Encode returns the encoded frame.
func (f *Frame) Encode() ([]byte, error) {
	return f.Append(make([]byte, 0, f.Len()))
}
