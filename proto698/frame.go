package proto698

import "fmt"

// Frame delimiters and limits.
const (
	StartByte = 0x68 // frame start
	EndByte   = 0x16 // frame end
	Preamble  = 0xFE // wake-up byte senders may put before a frame
	// MaxFrameLen is the largest frame (0x68..0x16) the 14-bit length field
	// can describe in byte units.
	MaxFrameLen = 0x3FFF + 2
)

// Function is the link function code, control bits 0–2.
type Function uint8

// Link function codes.
const (
	FuncLink     Function = 1 // link management: login, heartbeat, logout
	FuncUserData Function = 3 // user data: application-layer APDUs
)

// Control is the frame's control byte C.
//
//	bit 7 DIR  0 client→server, 1 server→client
//	bit 6 PRM  1 frame from the initiator, 0 frame from the responder
//	bit 5 fragment flag (link user data starts with a fragment format field)
//	bit 4 reserved
//	bit 3 SC   scrambling: link user data bytes carried +0x33
//	bits 0–2 function code
type Control uint8

// NewControl assembles a control byte.
func NewControl(dirServer, prm, frag, scrambled bool, fn Function) Control {
	c := Control(fn & 7)
	if dirServer {
		c |= 0x80
	}
	if prm {
		c |= 0x40
	}
	if frag {
		c |= 0x20
	}
	if scrambled {
		c |= 0x08
	}
	return c
}

// FromServer reports DIR=1 (frame sent by the server, i.e. the terminal or meter).
func (c Control) FromServer() bool { return c&0x80 != 0 }

// PRM reports the start flag: 1 on the initiator's frame.
func (c Control) PRM() bool { return c&0x40 != 0 }

// Fragmented reports the fragment flag.
func (c Control) Fragmented() bool { return c&0x20 != 0 }

// Reserved reports control bit 4 (reserved).
func (c Control) Reserved() bool { return c&0x10 != 0 }

// Scrambled reports the SC flag.
func (c Control) Scrambled() bool { return c&0x08 != 0 }

// Function returns the function code.
func (c Control) Function() Function { return Function(c & 7) }

// Frame is one decoded DL/T 698.45 link frame.
//
// Scrambling (SC) covers all link user data, the fragment format field
// included; the standard's text is terse there and no public vector has
// SC set, so this is an interpretation.
//
// Data is the link user data with scrambling removed and, when the control
// byte's fragment flag is set, without the two-byte fragment format field
// (which is in Frag). Without fragmentation Data is a complete APDU. DecodeFrame
// makes Data alias its input unless the frame is scrambled.
type Frame struct {
	Control Control
	Addr    ServerAddress
	Client  uint8          // client address CA
	Frag    FragmentHeader // valid when Control.Fragmented()
	Data    []byte

	// Filled in by DecodeFrame (ignored by AppendFrame, which computes them).
	Preamble int    // number of FE bytes before the start byte
	Length   uint16 // length field value (frame length − 2)
	HCS      uint16
	FCS      uint16
}

// headerLen returns the bytes from the start byte through HCS.
func (f *Frame) headerLen() int { return 1 + 2 + 1 + 1 + f.Addr.wireLen() + 1 + 2 }

// EncodedLen returns the frame's size on the wire without preamble.
func (f *Frame) EncodedLen() int {
	n := f.headerLen() + len(f.Data) + 2 + 1
	if f.Control.Fragmented() {
		n += 2
	}
	return n
}

// AppendFrame appends the encoded frame (without preamble) to dst. It
// computes the length field, HCS and FCS; f's Length/HCS/FCS are ignored.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	af, err := f.Addr.af()
	if err != nil {
		return dst, err
	}
	total := f.EncodedLen()
	if total > MaxFrameLen {
		return dst, fmt.Errorf("proto698: frame of %d bytes: %w (max %d)", total, ErrLength, MaxFrameLen)
	}
	start := len(dst)
	l := uint16(total - 2)
	dst = append(dst, StartByte, byte(l), byte(l>>8), byte(f.Control), af)
	if f.Addr.Extended {
		// Extended logical address is the first SA byte on the wire.
		dst = append(dst, f.Addr.ExtLogical)
	}
	for i := int(f.Addr.Len) - 1; i >= 0; i-- {
		dst = append(dst, f.Addr.Addr[i])
	}
	dst = append(dst, f.Client)
	hcs := CRC16(dst[start+1:])
	dst = append(dst, byte(hcs), byte(hcs>>8))
	body := len(dst)
	if f.Control.Fragmented() {
		v := f.Frag.word()
		dst = append(dst, byte(v), byte(v>>8))
	}
	dst = append(dst, f.Data...)
	if f.Control.Scrambled() {
		for i := body; i < len(dst); i++ {
			dst[i] += 0x33
		}
	}
	fcs := CRC16(dst[start+1:])
	dst = append(dst, byte(fcs), byte(fcs>>8), EndByte)
	return dst, nil
}

// DecodeFrame decodes one frame from the start of b, skipping FE preamble
// bytes. It returns the frame and the number of bytes consumed (preamble
// included). Errors are *FrameError naming the field and its byte offset;
// a frame that is incomplete so far yields ErrTruncated.
//
// The header path does not allocate: Data aliases b unless the frame is
// scrambled, in which case it is a descrambled copy.
func DecodeFrame(b []byte) (Frame, int, error) {
	var f Frame
	p := 0
	for p < len(b) && b[p] == Preamble {
		p++
	}
	f.Preamble = p
	if p >= len(b) {
		return f, 0, ferr(p, "start", ErrTruncated)
	}
	if b[p] != StartByte {
		return f, 0, ferrf(p, "start", ErrStart, "got 0x%02X", b[p])
	}
	s := p // offset of 0x68
	hdr, st := decodeHeader(&f, b, s)
	if st != headerOK {
		return f, 0, headerError(&f, b, s, hdr, st)
	}
	total := int(f.Length) + 2
	if len(b)-s < total {
		return f, 0, ferrf(len(b), "frame", ErrTruncated, "have %d of %d bytes", len(b)-s, total)
	}
	fcsOff := s + total - 3
	f.FCS = uint16(b[fcsOff]) | uint16(b[fcsOff+1])<<8
	if got := CRC16(b[s+1 : fcsOff]); got != f.FCS {
		return f, 0, ferrf(fcsOff, "FCS", ErrChecksum, "frame says %04X, computed %04X", f.FCS, got)
	}
	if b[s+total-1] != EndByte {
		return f, 0, ferrf(s+total-1, "end", ErrEnd, "got 0x%02X", b[s+total-1])
	}
	data := b[s+hdr : fcsOff]
	if f.Control.Scrambled() {
		plain := make([]byte, len(data))
		for i, x := range data {
			plain[i] = x - 0x33
		}
		data = plain
	}
	if f.Control.Fragmented() {
		if len(data) < 2 {
			return f, 0, ferr(s+hdr, "fragment format", ErrTruncated)
		}
		f.Frag = fragmentFromWord(uint16(data[0]) | uint16(data[1])<<8)
		data = data[2:]
	}
	f.Data = data
	return f, s + total, nil
}

// headerStatus is decodeHeader's allocation-free verdict; DecodeFrame turns
// it into a *FrameError, the deframer only needs to know which kind.
type headerStatus uint8

const (
	headerOK          headerStatus = iota
	headerShort                    // fewer bytes than the header needs so far
	headerLengthBits               // length bits 14–15 set
	headerLengthSmall              // length smaller than header + FCS + end
	headerHCS                      // HCS mismatch
)

// decodeHeader decodes length, control, address, CA and HCS of the frame
// whose start byte is at b[s], and returns the header length (start byte
// through HCS). It checks the length field against the header but does not
// need the rest of the frame, so the deframer can use it to reject a false
// start early. It never allocates.
func decodeHeader(f *Frame, b []byte, s int) (int, headerStatus) {
	if len(b)-s < 5 {
		return 0, headerShort
	}
	l := uint16(b[s+1]) | uint16(b[s+2])<<8
	if l&0xC000 != 0 {
		return 0, headerLengthBits
	}
	f.Length = l
	f.Control = Control(b[s+3])
	af := b[s+4]
	f.Addr.Type = AddrType(af >> 6)
	f.Addr.Logical = af >> 4 & 1
	f.Addr.Extended = af&0x20 != 0
	n := int(af&0x0F) + 1
	hdr := 5 + n + 1 + 2
	least := hdr + 3 // FCS and end byte
	if f.Control.Fragmented() {
		least += 2
	}
	if int(l)+2 < least {
		return hdr, headerLengthSmall
	}
	if len(b)-s < hdr {
		return hdr, headerShort
	}
	sa := b[s+5 : s+5+n]
	if f.Addr.Extended {
		f.Addr.ExtLogical = sa[0]
		sa = sa[1:]
	}
	f.Addr.Len = uint8(len(sa))
	for i, x := range sa {
		f.Addr.Addr[len(sa)-1-i] = x
	}
	f.Client = b[s+5+n]
	hcsOff := s + hdr - 2
	f.HCS = uint16(b[hcsOff]) | uint16(b[hcsOff+1])<<8
	if CRC16(b[s+1:hcsOff]) != f.HCS {
		return hdr, headerHCS
	}
	return hdr, headerOK
}

// headerError explains a header verdict as a *FrameError.
func headerError(f *Frame, b []byte, s, hdr int, st headerStatus) error {
	switch st {
	case headerShort:
		return ferr(len(b), "header", ErrTruncated)
	case headerLengthBits:
		// bit 14 is the kilobyte unit flag of DL/T 698.45-2017, bit 15 reserved.
		l := uint16(b[s+1]) | uint16(b[s+2])<<8
		return ferrf(s+1, "length", ErrUnsupported, "length field 0x%04X has unit/reserved bits 14–15 set", l)
	case headerLengthSmall:
		return ferrf(s+1, "length", ErrLength, "length %d too short for a %d-byte header", f.Length, hdr)
	case headerHCS:
		hcsOff := s + hdr - 2
		return ferrf(hcsOff, "HCS", ErrChecksum, "frame says %04X, computed %04X", f.HCS, CRC16(b[s+1:hcsOff]))
	}
	return nil
}

// LooksLikeFrame reports whether b (after optional FE preambles) starts
// with a DL/T 698.45 frame header whose HCS is right — enough to tell a
// 698.45 frame from Q/GDW 1376.2 and DL/T 645 frames, which also start
// with 0x68, even when the rest of the frame is damaged. A CLI can use it
// to pick the decoder and then report the decoder's precise error.
func LooksLikeFrame(b []byte) bool {
	p := 0
	for p < len(b) && b[p] == Preamble {
		p++
	}
	if p >= len(b) || b[p] != StartByte {
		return false
	}
	var f Frame
	_, st := decodeHeader(&f, b, p)
	return st == headerOK
}
