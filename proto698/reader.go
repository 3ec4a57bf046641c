package proto698

// maxDepth bounds nesting of arrays/structures so hostile input cannot
// exhaust the stack.
const maxDepth = 32

// reader walks an APDU (big-endian, A-XDR lengths) and produces *FrameError
// values whose offsets are relative to base.
type reader struct {
	b     []byte
	off   int
	base  int
	depth int
}

func (r *reader) pos() int { return r.base + r.off }

func (r *reader) errf(field fname, sentinel error, format string, args ...any) error {
	return ferrf(r.pos(), field.String(), sentinel, format, args...)
}

func (r *reader) need(n int, field fname) error {
	if n < 0 || len(r.b)-r.off < n {
		return ferrf(r.pos(), field.String(), ErrTruncated, "need %d bytes, have %d", n, len(r.b)-r.off)
	}
	return nil
}

func (r *reader) u8(field fname) (uint8, error) {
	if err := r.need(1, field); err != nil {
		return 0, err
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *reader) u16(field fname) (uint16, error) {
	if err := r.need(2, field); err != nil {
		return 0, err
	}
	v := uint16(r.b[r.off])<<8 | uint16(r.b[r.off+1])
	r.off += 2
	return v, nil
}

func (r *reader) u32(field fname) (uint32, error) {
	if err := r.need(4, field); err != nil {
		return 0, err
	}
	b := r.b[r.off:]
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	r.off += 4
	return v, nil
}

func (r *reader) u64(field fname) (uint64, error) {
	hi, err := r.u32(field)
	if err != nil {
		return 0, err
	}
	lo, err := r.u32(field)
	return uint64(hi)<<32 | uint64(lo), err
}

// bytes returns a copy of the next n bytes.
func (r *reader) bytes(n int, field fname) ([]byte, error) {
	if err := r.need(n, field); err != nil {
		return nil, err
	}
	v := append([]byte{}, r.b[r.off:r.off+n]...)
	r.off += n
	return v, nil
}

// length reads an A-XDR length/count: one byte below 0x80, otherwise 0x8n
// followed by n big-endian bytes (n ≤ 4). The value is checked against the
// bytes left times minPer so a hostile count cannot force a huge allocation.
func (r *reader) length(field fname, minPer int) (int, error) {
	start := r.pos()
	b, err := r.u8(field)
	if err != nil {
		return 0, err
	}
	n := int(b)
	if b&0x80 != 0 {
		k := int(b & 0x7F)
		if k == 0 || k > 4 {
			return 0, ferrf(start, field.String(), ErrInvalid, "length prefix 0x%02X", b)
		}
		if err := r.need(k, field); err != nil {
			return 0, err
		}
		n = 0
		for range k {
			n = n<<8 | int(r.b[r.off])
			r.off++
		}
	}
	if minPer > 0 && n > (len(r.b)-r.off)/minPer {
		return 0, ferrf(start, field.String(), ErrTruncated, "length %d exceeds the %d bytes left", n, len(r.b)-r.off)
	}
	return n, nil
}

// appendLength appends an A-XDR length in its shortest form.
func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(dst, 0x82, byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendU64(dst []byte, v uint64) []byte {
	return appendU32(appendU32(dst, uint32(v>>32)), uint32(v))
}

// done reports trailing bytes as an error.
func (r *reader) done(field fname) error {
	if r.off != len(r.b) {
		return r.errf(field, ErrTrailing, "%d bytes after the end", len(r.b)-r.off)
	}
	return nil
}

func (r *reader) enter(field fname) error {
	r.depth++
	if r.depth > maxDepth {
		return r.errf(field, ErrInvalid, "nesting deeper than %d", maxDepth)
	}
	return nil
}

func (r *reader) leave() { r.depth-- }

// fname is a protocol field path built lazily: decoders pass it down the
// happy path without concatenating strings, and only an error joins it.
type fname struct{ a, b, c string }

func fn(s string) fname { return fname{a: s} }

// add appends a path component; past three components it concatenates.
func (f fname) add(s string) fname {
	switch {
	case f.b == "":
		f.b = s
	case f.c == "":
		f.c = s
	default:
		f.c += s
	}
	return f
}

func (f fname) String() string { return f.a + f.b + f.c }
