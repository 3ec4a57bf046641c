package proto698

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// voltageResponse is the GET-Response-Normal voltage frame of the vectors
// (SA 012503200001, 224.1 V on phase A).
var voltageResponse = mustHex("682400C305010020032501000E29850100200002000101031208C11200001200000000F2EC16")

func TestCRC16KnownValue(t *testing.T) {
	// CRC-16/X-25 check value of "123456789".
	wantEq(t, "CRC16(123456789)", CRC16([]byte("123456789")), 0x906E)
}

func TestDecodeFrameErrors(t *testing.T) {
	good := voltageResponse
	mut := func(off int, v byte) []byte {
		b := bytes.Clone(good)
		b[off] = v
		return b
	}
	tests := []struct {
		name   string
		in     []byte
		field  string
		offset int
		err    error
	}{
		{"empty", nil, "start", 0, ErrTruncated},
		{"bad start", mut(0, 0x69), "start", 0, ErrStart},
		{"bad start after preamble", append([]byte{0xFE, 0xFE}, mut(0, 0x00)...), "start", 2, ErrStart},
		{"header cut", good[:6], "header", 6, ErrTruncated},
		{"length bit 14", mut(2, 0x40), "length", 1, ErrUnsupported},
		{"length too short", mut(1, 0x05), "length", 1, ErrLength},
		{"control flipped breaks HCS", mut(3, 0x43), "HCS", 12, ErrChecksum},
		{"SA byte flipped", mut(7, 0x21), "HCS", 12, ErrChecksum},
		{"HCS corrupted", mut(12, 0x0F), "HCS", 12, ErrChecksum},
		{"APDU byte flipped", mut(20, 0x03), "FCS", len(good) - 3, ErrChecksum},
		{"FCS corrupted", mut(len(good)-2, 0), "FCS", len(good) - 3, ErrChecksum},
		{"bad end", mut(len(good)-1, 0x17), "end", len(good) - 1, ErrEnd},
		{"truncated body", good[:len(good)-4], "frame", len(good) - 4, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := DecodeFrame(tc.in)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FrameError", err)
			}
			wantEq(t, "field", fe.Field, tc.field)
			wantEq(t, "offset", fe.Offset, tc.offset)
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			wantEq(t, "consumed", n, 0)
		})
	}
}

func TestDecodeFramePreamble(t *testing.T) {
	in := append([]byte{0xFE, 0xFE, 0xFE, 0xFE}, voltageResponse...)
	in = append(in, 0x99) // the next frame's garbage is not consumed
	f, n, err := DecodeFrame(in)
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "preamble", f.Preamble, 4)
	wantEq(t, "consumed", n, 4+len(voltageResponse))
}

func TestFrameRoundTripOptions(t *testing.T) {
	apdu := mustHex("0501012000020000")
	addr, _ := ParseAddress(AddrGroup, "0102030405060708")
	tests := []Frame{
		{Control: NewControl(false, true, false, false, FuncUserData), Addr: addr, Client: 0x10, Data: apdu},
		{Control: NewControl(false, true, false, true, FuncUserData), Addr: addr, Client: 0x10, Data: apdu},
		{Control: NewControl(true, false, true, false, FuncUserData), Addr: addr, Frag: FragmentHeader{Seq: 4095, Type: FragMiddle}, Data: apdu},
		{Control: NewControl(true, true, false, false, FuncUserData), Addr: ServerAddress{Type: AddrSingle, Logical: 1, Extended: true, ExtLogical: 7, Len: 2, Addr: [16]byte{0x12, 0x34}}, Data: apdu},
		{Control: NewControl(true, true, false, false, FuncUserData), Addr: ServerAddress{Type: AddrBroadcast, Len: 1, Addr: [16]byte{0xAA}}, Data: nil},
	}
	for i, f := range tests {
		b, err := AppendFrame(nil, &f)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		wantEq(t, "EncodedLen", len(b), f.EncodedLen())
		g, n, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("%d: decode %X: %v", i, b, err)
		}
		wantEq(t, "consumed", n, len(b))
		wantEq(t, "control", g.Control, f.Control)
		if !g.Addr.Equal(f.Addr) {
			t.Errorf("%d: addr %+v, want %+v", i, g.Addr, f.Addr)
		}
		wantEq(t, "client", g.Client, f.Client)
		if f.Control.Fragmented() {
			wantEq(t, "frag", g.Frag, f.Frag)
		}
		if !bytes.Equal(g.Data, f.Data) {
			t.Errorf("%d: data %X, want %X", i, g.Data, f.Data)
		}
		if f.Control.Scrambled() && bytes.Contains(b, apdu) {
			t.Errorf("%d: scrambled frame carries plain APDU: %X", i, b)
		}
	}
}

func TestAddressMatches(t *testing.T) {
	own, _ := ParseAddress(AddrSingle, "012503200001")
	for _, tc := range []struct {
		t    AddrType
		sa   string
		want bool
	}{
		{AddrSingle, "012503200001", true},
		{AddrSingle, "012503200002", false},
		{AddrWildcard, "AAAAAAAAAAAA", true},
		{AddrWildcard, "0125032000AA", true},
		{AddrWildcard, "0225032000AA", false},
		{AddrBroadcast, "AA", true},
	} {
		a, _ := ParseAddress(tc.t, tc.sa)
		wantEq(t, tc.sa+" matches", a.Matches(own), tc.want)
	}
}

func TestSplitReassemble(t *testing.T) {
	apdu := make([]byte, 1000)
	for i := range apdu {
		apdu[i] = byte(i * 7)
	}
	frags, err := SplitAPDU(apdu, 300, 4094) // sequence wraps 4095 → 0
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "fragments", len(frags), 4)
	wantTypes := []FragType{FragStart, FragMiddle, FragMiddle, FragLast}
	wantSeq := []uint16{4094, 4095, 0, 1}
	var r Reassembler
	var out []byte
	for i, f := range frags {
		wantEq(t, "type", f.Header.Type, wantTypes[i])
		wantEq(t, "seq", f.Header.Seq, wantSeq[i])
		// Through a frame and back, as on a link.
		fr := Frame{Control: NewControl(true, true, true, false, FuncUserData), Addr: mustAddr("000000000001"), Frag: f.Header, Data: f.Body}
		b, err := AppendFrame(nil, &fr)
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := DecodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		a, done, err := r.Add(g.Frag, g.Data)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			out = a
		}
	}
	if !bytes.Equal(out, apdu) {
		t.Fatal("reassembled APDU differs")
	}
	// Out of order: middle without start, and a skipped sequence number.
	var r2 Reassembler
	if _, _, err := r2.Add(frags[1].Header, frags[1].Body); !errors.Is(err, ErrFragment) {
		t.Errorf("middle without start: %v", err)
	}
	r2.Add(frags[0].Header, frags[0].Body)
	if _, _, err := r2.Add(frags[2].Header, frags[2].Body); !errors.Is(err, ErrFragment) {
		t.Errorf("skipped fragment: %v", err)
	}
	if _, _, err := r2.Add(frags[3].Header, frags[3].Body); !errors.Is(err, ErrFragment) {
		t.Errorf("after reset: %v", err)
	}
	r3 := Reassembler{MaxAPDU: 500}
	var lerr error
	for _, f := range frags {
		if _, _, lerr = r3.Add(f.Header, f.Body); lerr != nil {
			break
		}
	}
	if !errors.Is(lerr, ErrLength) {
		t.Errorf("oversize APDU: %v", lerr)
	}
}

func mustAddr(s string) ServerAddress {
	a, err := ParseAddress(AddrSingle, s)
	if err != nil {
		panic(err)
	}
	return a
}

// Confirming the public start-fragment vector yields the public confirm
// vector byte for byte.
func TestConfirmFrameMatchesVector(t *testing.T) {
	vs := loadVectors(t)
	start, _, err := DecodeFrame(vs[11-2].raw)
	if err != nil {
		t.Fatal(err)
	}
	c := ConfirmFrame(start)
	b, err := AppendFrame(nil, &c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, vs[12-2].raw) {
		t.Errorf("confirm\n got %X\nwant %X", b, vs[12-2].raw)
	}
}

func TestFragmentFrames(t *testing.T) {
	vs := loadVectors(t)
	whole, _, _ := DecodeFrame(vs[16-2].raw) // C=83, APDU 050115F101020000
	frames, err := FragmentFrames(whole, 3, 261)
	if err != nil {
		t.Fatal(err)
	}
	// The public start and last fragments (lines 13, 15) are exactly ours;
	// the public middle fragment (line 14) differs only in its reserved bits.
	wantEq(t, "fragments", len(frames), 3)
	for i, line := range []int{13, 0, 15} {
		if line == 0 {
			continue
		}
		b, _ := AppendFrame(nil, &frames[i])
		if !bytes.Equal(b, vs[line-2].raw) {
			t.Errorf("fragment %d\n got %X\nwant %X", i, b, vs[line-2].raw)
		}
	}
	mid := frames[1]
	mid.Frag.Reserved = 3
	if b, _ := AppendFrame(nil, &mid); !bytes.Equal(b, vs[14-2].raw) {
		t.Errorf("middle fragment\n got %X\nwant %X", b, vs[14-2].raw)
	}
	var r Reassembler
	var out []byte
	for _, f := range frames {
		raw, _ := AppendFrame(nil, &f)
		g, _, err := DecodeFrame(raw)
		if err != nil {
			t.Fatal(err)
		}
		if a, done, err := r.Add(g.Frag, g.Data); err != nil {
			t.Fatal(err)
		} else if done {
			out = a
		}
	}
	if !bytes.Equal(out, whole.Data) {
		t.Errorf("reassembled %X, want %X", out, whole.Data)
	}
}

func TestLooksLikeFrame(t *testing.T) {
	for _, v := range loadVectors(t) {
		if !LooksLikeFrame(v.raw) {
			t.Errorf("line %d not recognised", v.line)
		}
	}
	broken := bytes.Clone(voltageResponse)
	broken[len(broken)-2] ^= 0xFF // FCS broken, header intact: still 698.45
	wantEq(t, "FCS-broken 698 frame", LooksLikeFrame(broken), true)
	for _, s := range []string{
		"681C0068AAAAAAAAAAAA6811041234567890AB16",             // DL/T 645-shaped
		"681500C1000000000000000001030405060708090A0B0C0D0E16", // 1376.2-shaped
		"",
		"FEFE",
	} {
		if LooksLikeFrame(mustHex(s)) {
			t.Errorf("%s taken for DL/T 698.45", s)
		}
	}
}

// No public Q/GDW 1376.2 or DL/T 645 vector is taken for a 698.45 frame
// (all three start with 0x68; the 698.45 HCS tells them apart).
func TestLooksLikeFrameOtherProtocols(t *testing.T) {
	for _, name := range []string{"testdata/q1376_2.tsv", "testdata/dlt645.tsv"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if i == 0 {
				continue
			}
			b, err := hex.DecodeString(strings.Split(line, "\t")[0])
			if err != nil {
				t.Fatalf("%s:%d: %v", name, i+1, err)
			}
			n++
			if LooksLikeFrame(b) {
				t.Errorf("%s:%d taken for DL/T 698.45", name, i+1)
			}
		}
		if n == 0 {
			t.Errorf("%s: no vectors", name)
		}
	}
}
