package proto698

import (
	"errors"
	"fmt"
)

// ErrRepeatedFragment: a fragment repeats the one accepted last (the
// sender did not see its confirm and sent it again). The receiver
// confirms it again and takes nothing from it; Reassembler.Add reports it
// without disturbing the APDU being collected.
var ErrRepeatedFragment = errors.New("repeated fragment")

// FragType is the fragment type in bits 14–15 of the fragment format field.
type FragType uint8

// Fragment types.
const (
	FragStart   FragType = 0 // first fragment
	FragLast    FragType = 1 // last fragment
	FragConfirm FragType = 2 // receiver's confirmation of a fragment (no body)
	FragMiddle  FragType = 3 // intermediate fragment
)

// String implements fmt.Stringer.
func (t FragType) String() string {
	switch t {
	case FragStart:
		return "start"
	case FragLast:
		return "last"
	case FragConfirm:
		return "confirm"
	default:
		return "middle"
	}
}

// FragmentHeader is the two-byte fragment format field (little-endian on
// the wire): bits 0–11 sequence number, bits 12–13 reserved, bits 14–15 type.
type FragmentHeader struct {
	Seq      uint16 // 0..4095, incremented per fragment, wraps
	Type     FragType
	Reserved uint8 // bits 12–13 as received; kept so re-encoding is exact
}

func (h FragmentHeader) word() uint16 {
	return h.Seq&0x0FFF | uint16(h.Reserved&3)<<12 | uint16(h.Type&3)<<14
}

func fragmentFromWord(v uint16) FragmentHeader {
	return FragmentHeader{Seq: v & 0x0FFF, Reserved: uint8(v>>12) & 3, Type: FragType(v >> 14)}
}

// Confirm returns the header of the confirmation for fragment h.
func (h FragmentHeader) Confirm() FragmentHeader {
	return FragmentHeader{Seq: h.Seq, Type: FragConfirm}
}

// Fragment is one piece of a split APDU.
type Fragment struct {
	Header FragmentHeader
	Body   []byte // aliases the APDU passed to SplitAPDU
}

// SplitAPDU cuts apdu into fragments of at most maxBody bytes, numbered from
// seq. An APDU that fits in one fragment is returned as a single fragment of
// type start — callers should then send it unfragmented instead.
func SplitAPDU(apdu []byte, maxBody int, seq uint16) ([]Fragment, error) {
	if maxBody < 1 {
		return nil, fmt.Errorf("proto698: split APDU: fragment size %d: %w", maxBody, ErrInvalid)
	}
	if len(apdu) == 0 {
		return nil, fmt.Errorf("proto698: split APDU: empty APDU: %w", ErrInvalid)
	}
	n := (len(apdu) + maxBody - 1) / maxBody
	out := make([]Fragment, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*maxBody, min((i+1)*maxBody, len(apdu))
		t := FragMiddle
		switch {
		case i == 0:
			t = FragStart
		case i == n-1:
			t = FragLast
		}
		out = append(out, Fragment{
			Header: FragmentHeader{Seq: (seq + uint16(i)) & 0x0FFF, Type: t},
			Body:   apdu[lo:hi],
		})
	}
	return out, nil
}

// Reassembler collects fragments back into an APDU. The zero value is ready;
// it is not safe for concurrent use (one per link, owned by its reader).
//
// On a live link every data fragment is confirmed (ConfirmFrame) and the
// sender sends the next one only on that confirm, resending a fragment
// whose confirm does not come. So a fragment may arrive twice (its confirm
// was lost): Add reports the repeat of the fragment accepted last with
// ErrRepeatedFragment, and the receiver confirms it again. A fragment
// that skips a sequence number cannot come from a sender that waits for
// confirms: Add drops the partial APDU (ErrFragment) and the sender, whose
// fragments are no longer confirmed, gives up after its retries.
type Reassembler struct {
	// MaxAPDU bounds the reassembled size; 0 means 64 KiB.
	MaxAPDU int

	buf     []byte
	next    uint16
	started bool
	last    FragmentHeader // the fragment accepted last
	hasLast bool
}

// Add feeds one fragment. It returns the complete APDU (a fresh slice) when
// the last fragment arrives. A fragment equal in sequence number and type
// to the one accepted last (also after the APDU completed) is a repeat:
// ErrRepeatedFragment, nothing changes. A middle or last fragment that
// does not follow the previous sequence number, or one without a start,
// resets the reassembler and returns ErrFragment; a start fragment always
// begins anew.
func (r *Reassembler) Add(h FragmentHeader, body []byte) ([]byte, bool, error) {
	limit := r.MaxAPDU
	if limit <= 0 {
		limit = 64 << 10
	}
	switch h.Type {
	case FragConfirm:
		return nil, false, fmt.Errorf("proto698: reassemble: confirm fragment seq %d carries no data: %w", h.Seq, ErrFragment)
	case FragStart:
		if r.started && r.hasLast && r.last.Type == FragStart && r.last.Seq == h.Seq && len(r.buf) == len(body) {
			return nil, false, fmt.Errorf("proto698: reassemble: start fragment seq %d again: %w", h.Seq, ErrRepeatedFragment)
		}
		r.buf = append(r.buf[:0], body...)
		r.started = true
		r.next = (h.Seq + 1) & 0x0FFF
		r.last, r.hasLast = FragmentHeader{Seq: h.Seq, Type: h.Type}, true
		return nil, false, nil
	}
	if r.hasLast && r.last.Seq == h.Seq && r.last.Type == h.Type {
		return nil, false, fmt.Errorf("proto698: reassemble: %s fragment seq %d again: %w", h.Type, h.Seq, ErrRepeatedFragment)
	}
	if !r.started {
		return nil, false, fmt.Errorf("proto698: reassemble: %s fragment seq %d without start: %w", h.Type, h.Seq, ErrFragment)
	}
	if h.Seq != r.next {
		r.Reset()
		return nil, false, fmt.Errorf("proto698: reassemble: %s fragment seq %d, expected %d: %w", h.Type, h.Seq, r.next, ErrFragment)
	}
	if len(r.buf)+len(body) > limit {
		r.Reset()
		return nil, false, fmt.Errorf("proto698: reassemble: APDU exceeds %d bytes: %w", limit, ErrLength)
	}
	r.buf = append(r.buf, body...)
	r.next = (h.Seq + 1) & 0x0FFF
	r.last, r.hasLast = FragmentHeader{Seq: h.Seq, Type: h.Type}, true
	if h.Type == FragLast {
		out := append([]byte(nil), r.buf...)
		r.buf = r.buf[:0]
		r.started = false
		return out, true, nil
	}
	return nil, false, nil
}

// Reset discards a partial APDU (and forgets the fragment accepted last).
func (r *Reassembler) Reset() {
	r.buf = r.buf[:0]
	r.started = false
	r.hasLast = false
}

// FragmentFrames splits the APDU in f.Data into fragment frames carrying
// at most maxBody APDU bytes each, numbered from seq; every frame copies
// f's control (with the fragment flag set), address and CA.
func FragmentFrames(f Frame, maxBody int, seq uint16) ([]Frame, error) {
	parts, err := SplitAPDU(f.Data, maxBody, seq)
	if err != nil {
		return nil, err
	}
	out := make([]Frame, len(parts))
	for i, p := range parts {
		g := f
		g.Control |= 0x20
		g.Frag = p.Header
		g.Data = p.Body
		out[i] = g
	}
	return out, nil
}

// ConfirmFrame returns the frame that confirms the received fragment
// frame f: direction and PRM reversed, fragment flag set, the fragment's
// sequence number with type confirm, and no APDU bytes.
func ConfirmFrame(f Frame) Frame {
	return Frame{
		Control: (f.Control ^ 0xC0) | 0x20,
		Addr:    f.Addr,
		Client:  f.Client,
		Frag:    f.Frag.Confirm(),
	}
}
