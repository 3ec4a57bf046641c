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

// Communication modes (C bits D5..D0).
const (
	ModeNarrowband  = 1  // centralised-routing narrowband carrier
	ModeDistributed = 2  // distributed-routing narrowband carrier
	ModeHPLC        = 3  // broadband (HPLC) carrier
	ModeWireless    = 10 // micro-power wireless
	ModeEthernet    = 20 // Ethernet
)

// Control is the control field C: D7 DIR (0 concentrator → module, 1
// module → concentrator), D6 PRM (1 = sent by the initiator), D5..D0 the
// communication mode.
type Control struct {
	Up      bool  `json:"up"`
	Primary bool  `json:"primary"`
	Mode    uint8 `json:"mode"`
}

// ParseControl splits the control byte.
func ParseControl(b byte) Control {
	return Control{Up: b&0x80 != 0, Primary: b&0x40 != 0, Mode: b & 0x3F}
}

// Byte packs the control field.
func (c Control) Byte() byte {
	b := c.Mode & 0x3F
	if c.Up {
		b |= 0x80
	}
	if c.Primary {
		b |= 0x40
	}
	return b
}

// Info is the 6-byte information field R. Its layout differs by direction:
// fields marked "down" exist only in concentrator → module frames, those
// marked "up" only in module → concentrator frames; the encoder writes the
// layout that Frame.C.Up selects and the decoder fills only that layout's
// fields. Reserved bits of the uplink layout are not kept.
type Info struct {
	Route      bool   `json:"route"`         // D0 byte 1: route flag (1 = module does not route)
	Subsidiary bool   `json:"subsidiary"`    // D1 byte 1: attached-node flag
	ModuleID   bool   `json:"module_id"`     // D2 byte 1: 1 = addressed to a node's module; A field present
	Conflict   bool   `json:"conflict"`      // D3 byte 1 (down): conflict detection
	Relays     uint8  `json:"relay_level"`   // D4..D7 byte 1: relay level (relay addresses in A)
	Channel    uint8  `json:"channel"`       // D0..D3 byte 2: channel identifier
	ECC        uint8  `json:"ecc"`           // D4..D7 byte 2 (down): error-correction code identifier
	ReplyBytes uint8  `json:"reply_bytes"`   // byte 3 (down): expected reply length
	Rate       uint16 `json:"rate"`          // bytes 4-5 D0..D14 (down): communication rate
	RateKbps   bool   `json:"rate_kbps"`     // byte 5 D7 (down): rate unit kbit/s (else bit/s)
	Phase      uint8  `json:"phase"`         // D0..D3 byte 3 (up): measured phase
	MeterCh    uint8  `json:"meter_channel"` // D4..D7 byte 3 (up): meter channel characteristic
	CmdQuality uint8  `json:"cmd_quality"`   // D0..D3 byte 4 (up): end-node command signal quality
	AckQuality uint8  `json:"ack_quality"`   // D4..D7 byte 4 (up): end-node reply signal quality
	Event      bool   `json:"event"`         // D0 byte 5 (up): event flag
	Seq        uint8  `json:"seq"`           // byte 6: message sequence number, echoed in the reply
}

func (r *Info) check(up bool) error {
	over := func(name string, v, max uint16) error {
		if v > max {
			return fmt.Errorf("R %s %d exceeds %d: %w", name, v, max, ErrValue)
		}
		return nil
	}
	errs := [...]error{over("relay level", uint16(r.Relays), 15), over("channel", uint16(r.Channel), 15),
		nil, nil, nil, nil}
	if up {
		errs[2] = over("phase", uint16(r.Phase), 15)
		errs[3] = over("meter channel", uint16(r.MeterCh), 15)
		errs[4] = over("command quality", uint16(r.CmdQuality), 15)
		errs[5] = over("reply quality", uint16(r.AckQuality), 15)
	} else {
		errs[2] = over("ecc", uint16(r.ECC), 15)
		errs[3] = over("rate", r.Rate, 0x7FFF)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Info) put(b []byte, up bool) {
	b0 := r.Relays << 4
	if r.Route {
		b0 |= 0x01
	}
	if r.Subsidiary {
		b0 |= 0x02
	}
	if r.ModuleID {
		b0 |= 0x04
	}
	if !up && r.Conflict {
		b0 |= 0x08
	}
	b[0] = b0
	if up {
		b[1] = r.Channel & 0x0F
		b[2] = r.Phase&0x0F | r.MeterCh<<4
		b[3] = r.CmdQuality&0x0F | r.AckQuality<<4
		b[4] = 0
		if r.Event {
			b[4] = 1
		}
	} else {
		b[1] = r.Channel&0x0F | r.ECC<<4
		b[2] = r.ReplyBytes
		rate := r.Rate & 0x7FFF
		if r.RateKbps {
			rate |= 0x8000
		}
		binary.LittleEndian.PutUint16(b[3:], rate)
	}
	b[5] = r.Seq
}

func parseInfo(b []byte, up bool) Info {
	r := Info{
		Route:      b[0]&0x01 != 0,
		Subsidiary: b[0]&0x02 != 0,
		ModuleID:   b[0]&0x04 != 0,
		Relays:     b[0] >> 4,
		Channel:    b[1] & 0x0F,
		Seq:        b[5],
	}
	if up {
		r.Phase, r.MeterCh = b[2]&0x0F, b[2]>>4
		r.CmdQuality, r.AckQuality = b[3]&0x0F, b[3]>>4
		r.Event = b[4]&0x01 != 0
	} else {
		r.Conflict = b[0]&0x08 != 0
		r.ECC = b[1] >> 4
		r.ReplyBytes = b[2]
		rate := binary.LittleEndian.Uint16(b[3:])
		r.Rate, r.RateKbps = rate&0x7FFF, rate&0x8000 != 0
	}
	return r
}

// Addr is a 6-byte node address in wire order (lowest byte first); String
// prints it highest byte first, as written on the meter.
type Addr [6]byte

// ParseAddr parses 12 hexadecimal digits written highest byte first.
func ParseAddr(s string) (Addr, error) {
	var a Addr
	if len(s) != 12 {
		return a, fmt.Errorf("hplc: address %q: want 12 digits", s)
	}
	for i := range 6 {
		var v byte
		for _, c := range []byte(s[2*i : 2*i+2]) {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				return a, fmt.Errorf("hplc: address %q: %q is not a hex digit", s, c)
			}
			v = v<<4 | d
		}
		a[5-i] = v
	}
	return a, nil
}

// MustParseAddr is ParseAddr for constants; it panics on a bad literal.
func MustParseAddr(s string) Addr {
	a, err := ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String formats the value for logs and JSON.
func (a Addr) String() string {
	return fmt.Sprintf("%02X%02X%02X%02X%02X%02X", a[5], a[4], a[3], a[2], a[1], a[0])
}

// MarshalText implements encoding.TextMarshaler.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	v, err := ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

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
		return 0, 0, fmt.Errorf("F%d outside 1..248: %w", fn, ErrDT)
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
		return f, 0, frameErr(1, "length", fmt.Errorf("L=%d outside %d..%d: %w", n, MinFrameLen, MaxFrameLen, ErrLength))
	}
	if len(b) < n {
		return f, 0, frameErr(len(b), "length", fmt.Errorf("L=%d but only %d bytes: %w", n, len(b), ErrShort))
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
			return f, 0, frameErr(p, "address", fmt.Errorf("A field of %d bytes (relay level %d) does not fit L=%d: %w", need, f.R.Relays, n, ErrLength))
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
