package dlt645

import "fmt"

// Frame layout constants.
const (
	Start    = 0x68
	End      = 0x16
	Preamble = 0xFE
	// Scramble is added to every data byte on the wire.
	Scramble = 0x33
	// MaxPreamble bounds the FE bytes the decoder skips.
	MaxPreamble = 16
	// HeaderLen is start, address, start, control and length.
	HeaderLen = 10
	// MinFrameLen is a frame with no data.
	MinFrameLen = HeaderLen + 2
)

// Frame is one DL/T 645-2007 frame. Data holds the data field with the
// 0x33 scrambling removed.
type Frame struct {
	// Preamble is the number of 0xFE wake-up bytes before the first 0x68.
	Preamble int
	Addr     Address
	C        Control
	Data     []byte
}

// Len returns the encoded length in bytes, preambles included.
func (f *Frame) Len() int { return f.Preamble + MinFrameLen + len(f.Data) }

// Decode decodes one frame at the start of b (after optional FE bytes) and
// returns it with the number of bytes consumed. Bytes after the frame are
// ignored. Every failure is a *FrameError.
func Decode(b []byte) (Frame, int, error) {
	var f Frame
	p := 0
	for p < len(b) && b[p] == Preamble {
		p++
		if p > MaxPreamble {
			return f, 0, frameErr(p-1, "preamble", fmt.Errorf("more than %d FE bytes: %w", MaxPreamble, ErrStart))
		}
	}
	f.Preamble = p
	if len(b) < p+MinFrameLen {
		return f, 0, frameErr(len(b), "header", fmt.Errorf("need %d bytes, have %d: %w", p+MinFrameLen, len(b), ErrShort))
	}
	if b[p] != Start {
		return f, 0, frameErr(p, "start", fmt.Errorf("got %02X: %w", b[p], ErrStart))
	}
	copy(f.Addr[:], b[p+1:p+7])
	if b[p+7] != Start {
		return f, 0, frameErr(p+7, "second start", fmt.Errorf("got %02X: %w", b[p+7], ErrStart))
	}
	f.C = Control(b[p+8])
	n := int(b[p+9])
	total := p + MinFrameLen + n
	if len(b) < total {
		return f, 0, frameErr(len(b), "data", fmt.Errorf("data length L=%d needs %d bytes, have %d: %w", n, total, len(b), ErrShort))
	}
	body := b[p : p+HeaderLen+n]
	var sum byte
	for _, c := range body {
		sum += c
	}
	cs := p + HeaderLen + n
	if b[cs] != sum {
		return f, 0, frameErr(cs, "checksum", fmt.Errorf("got %02X, computed %02X: %w", b[cs], sum, ErrChecksum))
	}
	if b[cs+1] != End {
		return f, 0, frameErr(cs+1, "end", fmt.Errorf("got %02X: %w", b[cs+1], ErrEnd))
	}
	if n > 0 {
		f.Data = make([]byte, n)
		for i, c := range b[p+HeaderLen : p+HeaderLen+n] {
			f.Data[i] = c - Scramble
		}
	}
	return f, total, nil
}

// Append appends the encoded frame to dst.
func (f *Frame) Append(dst []byte) ([]byte, error) {
	if len(f.Data) > 255 {
		return dst, fmt.Errorf("dlt645: encode: data length %d exceeds 255: %w", len(f.Data), ErrLength)
	}
	if f.Preamble < 0 || f.Preamble > MaxPreamble {
		return dst, fmt.Errorf("dlt645: encode: preamble count %d outside 0..%d: %w", f.Preamble, MaxPreamble, ErrLength)
	}
	for range f.Preamble {
		dst = append(dst, Preamble)
	}
	start := len(dst)
	dst = append(dst, Start)
	dst = append(dst, f.Addr[:]...)
	dst = append(dst, Start, byte(f.C), byte(len(f.Data)))
	for _, c := range f.Data {
		dst = append(dst, c+Scramble)
	}
	var sum byte
	for _, c := range dst[start:] {
		sum += c
	}
	return append(dst, sum, End), nil
}

// Encode returns the encoded frame.
func (f *Frame) Encode() ([]byte, error) {
	return f.Append(make([]byte, 0, f.Len()))
}
