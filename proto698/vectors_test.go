package proto698

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// hdr is what a vector's meaning column says about the frame header.
type hdr struct {
	ctrl      Control
	fromSrv   bool
	prm       bool
	frag      bool
	fn        Function
	addrType  AddrType
	sa        string // natural order
	ca        uint8
	hcs, fcs  uint16 // 0 = not named by the meaning column
	fragSeq   uint16
	fragType  FragType
	fragBody  string
	checkAPDU func(t *testing.T, a APDU)
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func as[T any](t *testing.T, a APDU) T {
	t.Helper()
	v, ok := a.(T)
	if !ok {
		t.Fatalf("APDU is %T (%s), want %T", a, a.Service(), v)
	}
	return v
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func checkDataEq(t *testing.T, what string, got, want Data) {
	t.Helper()
	g, err1 := AppendData(nil, got)
	w, err2 := AppendData(nil, want)
	if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func voltages(t *testing.T, d Data, want ...uint16) {
	t.Helper()
	arr, ok := d.(Array)
	if !ok || len(arr) != len(want) {
		t.Fatalf("data = %#v, want array of %d long-unsigned", d, len(want))
	}
	for i, w := range want {
		wantEq(t, "voltage element", arr[i], Data(LongUnsigned(w)))
	}
}

func noTrailer(t *testing.T, s ServerTrailer) {
	t.Helper()
	if s.FollowReport != nil || s.TimeTag != nil {
		t.Errorf("FollowReport/TimeTag present, want both 00 (absent)")
	}
}

// vectorWant is keyed by line number in testdata/dlt698.tsv.
var vectorWant = map[int]hdr{
	2: {ctrl: 0x81, fromSrv: true, fn: FuncLink, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		l := as[*LinkRequest](t, a)
		wantEq(t, "PIID-ACD", l.PIID, 0)
		wantEq(t, "type", l.Type, LinkLogin)
		wantEq(t, "heartbeat", l.Heartbeat, 60)
		wantEq(t, "time", l.Time, DateTime{2023, 7, 5, 3, 15, 24, 17, 0})
	}},
	3: {ctrl: 0x01, fn: FuncLink, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		l := as[*LinkResponse](t, a)
		wantEq(t, "result", l.Result, 0x80)
		wantEq(t, "clock trusted", l.ClockTrusted(), true)
		wantEq(t, "success", l.Success(), true)
		wantEq(t, "request time", l.RequestTime, DateTime{2023, 7, 11, 2, 16, 43, 59, 0})
		wantEq(t, "receive time", l.ReceiveTime, DateTime{2023, 7, 11, 2, 16, 44, 1, 2})
		wantEq(t, "response time", l.ResponseTime, DateTime{2023, 7, 11, 2, 16, 44, 1, 2})
	}},
	4: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "PIID", g.PIID, 1)
		wantEq(t, "OAD", g.OAD.Uint32(), 0x20000200)
		wantEq(t, "attribute", g.OAD.AttrID(), 2)
		wantEq(t, "index", g.OAD.Index, 0)
		if g.TimeTag != nil {
			t.Error("TimeTag present")
		}
	}},
	5: {ctrl: 0xC3, fromSrv: true, prm: true, fn: FuncUserData, sa: "012503200001", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetResponseNormal](t, a)
		wantEq(t, "PIID-ACD", g.PIID, 0)
		wantEq(t, "OAD", g.Result.OAD.Uint32(), 0x20000200)
		voltages(t, g.Result.Data, 2241, 0, 0)
		noTrailer(t, g.ServerTrailer)
	}},
	6: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "000000000000", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "PIID", g.PIID, 0)
		wantEq(t, "OAD", g.OAD.Uint32(), 0x20000200)
	}},
	7: {ctrl: 0xC3, fromSrv: true, prm: true, fn: FuncUserData, sa: "000000000000", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetResponseNormal](t, a)
		voltages(t, g.Result.Data, 0x096D, 0x096E, 0x096F)
		noTrailer(t, g.ServerTrailer)
	}},
	8: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "000000000000", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "OAD", g.OAD.Uint32(), 0x20000201)
		wantEq(t, "index", g.OAD.Index, 1)
	}},
	9: {ctrl: 0xC3, fromSrv: true, prm: true, fn: FuncUserData, sa: "000000000000", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetResponseNormal](t, a)
		wantEq(t, "OAD", g.Result.OAD.Uint32(), 0x20000201)
		wantEq(t, "data", g.Result.Data, Data(LongUnsigned(2413)))
		noTrailer(t, g.ServerTrailer)
	}},
	10: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "000000000002", ca: 0x10, hcs: 0x5E48, fcs: 0x001A, checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "PIID", g.PIID, 0x15)
		wantEq(t, "OAD", g.OAD.Uint32(), 0xF1010200)
	}},
	// The meaning column says the user data is "fragment format 0x0105 +
	// fragment 050115..."; the bytes say the format field is 05 01 and the
	// fragment body is what follows it: 15 F1 01 02 00 00. Trusting the bytes.
	11: {ctrl: 0xA3, fromSrv: true, frag: true, fn: FuncUserData, sa: "000000000002", ca: 0x10, fcs: 0x001A,
		fragSeq: 0x105, fragType: FragStart, fragBody: "15F101020000"},
	12: {ctrl: 0x63, prm: true, frag: true, fn: FuncUserData, sa: "000000000002", ca: 0x10,
		fragSeq: 0x105, fragType: FragConfirm, fragBody: ""},
	13: {ctrl: 0xA3, fromSrv: true, frag: true, fn: FuncUserData, sa: "000000000002", ca: 0x10,
		fragSeq: 261, fragType: FragStart, fragBody: "050115"},
	// Format word 0xF106 also sets the reserved bits 12–13 (the meaning
	// column does not mention it); FragmentHeader.Reserved keeps them so the
	// frame re-encodes byte for byte.
	14: {ctrl: 0xA3, fromSrv: true, frag: true, fn: FuncUserData, sa: "000000000002", ca: 0x10,
		fragSeq: 262, fragType: FragMiddle, fragBody: "F10102"},
	15: {ctrl: 0xA3, fromSrv: true, frag: true, fn: FuncUserData, sa: "000000000002", ca: 0x10,
		fragSeq: 263, fragType: FragLast, fragBody: "0000"},
	16: {ctrl: 0x83, fromSrv: true, fn: FuncUserData, sa: "000000000002", ca: 0x10, fcs: 0x001A, checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "OAD", g.OAD.Uint32(), 0xF1010200)
	}},
	17: {ctrl: 0x83, fromSrv: true, fn: FuncUserData, sa: "111111111111", ca: 0xA0, checkAPDU: check3106},
	18: {ctrl: 0x03, fn: FuncUserData, sa: "000100026803", checkAPDU: func(t *testing.T, a APDU) {
		p := as[*ReportResponseRecordList](t, a)
		wantEq(t, "PIID", p.PIID, 0x27)
		if len(p.OADs) != 1 || p.OADs[0].Uint32() != 0x60120300 {
			t.Errorf("OADs = %v, want [60120300]", p.OADs)
		}
	}},
	19: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		s := as[*SetRequestNormal](t, a)
		wantEq(t, "PIID", s.PIID, 3)
		wantEq(t, "OAD", s.OAD.Uint32(), 0x40000200)
		wantEq(t, "value", s.Value, Data(DateTimeS{2023, 8, 15, 8, 39, 23}))
	}},
	20: {ctrl: 0xC3, fromSrv: true, prm: true, fn: FuncUserData, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		s := as[*SetResponseNormal](t, a)
		wantEq(t, "PIID-ACD", s.PIID, 5)
		wantEq(t, "OAD", s.OAD.Uint32(), 0x40000200)
		wantEq(t, "DAR", s.DAR, DARSuccess)
		noTrailer(t, s.ServerTrailer)
	}},
	21: {ctrl: 0xC3, fromSrv: true, prm: true, fn: FuncUserData, sa: "000000000322", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetResponseNormal](t, a)
		wantEq(t, "PIID-ACD", g.PIID, 1)
		wantEq(t, "OAD", g.Result.OAD.Uint32(), 0x40010200)
		checkDataEq(t, "data", g.Result.Data, OctetString(mustHex("000000000322")))
	}},
	22: {ctrl: 0x43, prm: true, fn: FuncUserData, sa: "431120000002", ca: 0x10, checkAPDU: func(t *testing.T, a APDU) {
		s := as[*SecurityRequest](t, a)
		wantEq(t, "cipher", s.Cipher, false)
		wantEq(t, "verify", s.Verify, uint8(VerifyRN))
		wantEq(t, "RN", hex.EncodeToString(s.RN), "087406efe4e8900cda5d3ec56df93d3a")
		if err := s.VerifyMAC(); err != nil {
			t.Errorf("VerifyMAC with RN only: %v", err)
		}
		in, err := s.Inner()
		if err != nil {
			t.Fatal(err)
		}
		g := as[*GetRequestNormalList](t, in)
		wantEq(t, "inner PIID", g.PIID, 0)
		if len(g.OADs) != 3 || g.OADs[0].Uint32() != 0x00100200 || g.OADs[1].Uint32() != 0x20000200 || g.OADs[2].Uint32() != 0x20040200 {
			t.Errorf("inner OADs = %v", g.OADs)
		}
	}},
	23: {ctrl: 0x43, prm: true, fn: FuncUserData, addrType: AddrWildcard, sa: "AAAAAAAAAAAA", checkAPDU: func(t *testing.T, a APDU) {
		p := as[*ProxyTransCommandRequest](t, a)
		wantEq(t, "PIID", p.PIID, 4)
		wantEq(t, "port", p.Port.Uint32(), 0xF2090201)
		wantEq(t, "COMDCB", p.DCB, COMDCB{3, 2, 8, 1, 0})
		wantEq(t, "frame timeout", p.FrameTimeout, 0x14)
		wantEq(t, "byte timeout", p.ByteTimeout, 0x32)
		wantEq(t, "command length", len(p.Command), 0x16)
		wantEq(t, "645 frame start", p.Command[0], 0x68)
		wantEq(t, "645 address", hex.EncodeToString(p.Command[1:7]), "610100000000")
		if p.TimeTag != nil {
			t.Error("TimeTag present")
		}
	}},
	24: {ctrl: 0x43, prm: true, fn: FuncUserData, addrType: AddrWildcard, sa: "0A8967452301", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "PIID", g.PIID, 0)
		wantEq(t, "OAD", g.OAD.Uint32(), 0x40010200)
	}},
	25: {ctrl: 0x43, prm: true, fn: FuncUserData, addrType: AddrWildcard, sa: "AAAAAAAAAAAA", checkAPDU: func(t *testing.T, a APDU) {
		g := as[*GetRequestNormal](t, a)
		wantEq(t, "PIID", g.PIID, 0x25)
		wantEq(t, "OAD", g.OAD.Uint32(), 0x40010200)
	}},
}

func check3106(t *testing.T, a APDU) {
	n := as[*ReportNotificationRecordList](t, a)
	wantEq(t, "PIID-ACD", n.PIID, 9)
	if len(n.Records) != 1 {
		t.Fatalf("%d records, want 1", len(n.Records))
	}
	rec := n.Records[0]
	wantEq(t, "OAD", rec.OAD.Uint32(), 0x31060200)
	cols := []uint32{0x20220200, 0x201E0200, 0x20200200, 0x20240200, 0x33000200, 0x33090206}
	if len(rec.RCSD) != len(cols) {
		t.Fatalf("RCSD has %d columns, want %d", len(rec.RCSD), len(cols))
	}
	for i, c := range cols {
		wantEq(t, "RCSD column OAD", rec.RCSD[i].OAD.Uint32(), c)
		wantEq(t, "RCSD column is ROAD", rec.RCSD[i].IsROAD, false)
	}
	if rec.IsDAR || len(rec.Rows) != 1 {
		t.Fatalf("rows = %d (DAR %v), want 1 row", len(rec.Rows), rec.IsDAR)
	}
	row := rec.Rows[0]
	wantEq(t, "event seq", row[0], Data(DoubleLongUnsigned(24)))
	wantEq(t, "start time", row[1], Data(DateTimeS{2025, 4, 10, 11, 29, 38}))
	wantEq(t, "end time", row[2], Data(Null{}))
	wantEq(t, "source", row[3], Data(Enum(0)))
	checkDataEq(t, "report status", row[4], Array{Structure{NewOAD(0x45000200), Unsigned(1)}})
	checkDataEq(t, "attribute flag", row[5], BitString{Len: 8, Bits: []byte{0x80}})
	noTrailer(t, n.ServerTrailer)
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != len(vectorWant) {
		t.Errorf("testdata has %d vectors, table covers %d", len(vs), len(vectorWant))
	}
	for _, v := range vs {
		w, ok := vectorWant[v.line]
		if !ok {
			t.Errorf("line %d: no expectations", v.line)
			continue
		}
		t.Run(v.meaning[:min(len(v.meaning), 40)], func(t *testing.T) {
			f, n, err := DecodeFrame(v.raw)
			if err != nil {
				t.Fatalf("line %d: %v", v.line, err)
			}
			wantEq(t, "consumed", n, len(v.raw))
			wantEq(t, "length field", int(f.Length), len(v.raw)-2)
			wantEq(t, "control", f.Control, w.ctrl)
			wantEq(t, "DIR", f.Control.FromServer(), w.fromSrv)
			wantEq(t, "PRM", f.Control.PRM(), w.prm)
			wantEq(t, "fragment", f.Control.Fragmented(), w.frag)
			wantEq(t, "scrambled", f.Control.Scrambled(), false)
			wantEq(t, "function", f.Control.Function(), w.fn)
			wantEq(t, "address type", f.Addr.Type, w.addrType)
			wantEq(t, "SA", f.Addr.String(), w.sa)
			wantEq(t, "CA", f.Client, w.ca)
			// HCS and FCS travel low byte first.
			hcsOff := 5 + int(f.Addr.Len) + 1
			wantEq(t, "HCS", f.HCS, uint16(v.raw[hcsOff])|uint16(v.raw[hcsOff+1])<<8)
			wantEq(t, "FCS", f.FCS, uint16(v.raw[len(v.raw)-3])|uint16(v.raw[len(v.raw)-2])<<8)
			if w.hcs != 0 {
				wantEq(t, "HCS value", f.HCS, w.hcs)
			}
			if w.fcs != 0 {
				wantEq(t, "FCS value", f.FCS, w.fcs)
			}
			// SA is byte-reversed on the wire.
			for i := 0; i < int(f.Addr.Len); i++ {
				wantEq(t, "SA wire byte", v.raw[5+i], f.Addr.Addr[int(f.Addr.Len)-1-i])
			}
			re, err := AppendFrame(nil, &f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re, v.raw) {
				t.Errorf("re-encoded frame\n got %X\nwant %X", re, v.raw)
			}
			if w.frag {
				wantEq(t, "fragment seq", f.Frag.Seq, w.fragSeq)
				wantEq(t, "fragment type", f.Frag.Type, w.fragType)
				wantEq(t, "fragment body", hex.EncodeToString(f.Data), hex.EncodeToString(mustHex(w.fragBody)))
				return
			}
			a, err := DecodeAPDU(f.Data)
			if err != nil {
				t.Fatal(err)
			}
			w.checkAPDU(t, a)
			ra, err := EncodeAPDU(a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ra, f.Data) {
				t.Errorf("re-encoded APDU\n got %X\nwant %X", ra, f.Data)
			}
		})
	}
}

// TestVectorReassembly feeds the start/middle/last vectors through the
// reassembler and checks the APDU the meaning column names, which is also
// the APDU of the unfragmented C=83 vector.
func TestVectorReassembly(t *testing.T) {
	vs := loadVectors(t)
	var r Reassembler
	var got []byte
	for _, line := range []int{13, 14, 15} {
		f, _, err := DecodeFrame(vs[line-2].raw)
		if err != nil {
			t.Fatal(err)
		}
		apdu, done, err := r.Add(f.Frag, f.Data)
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if done != (line == 15) {
			t.Fatalf("line %d: done=%v", line, done)
		}
		got = apdu
	}
	wantEq(t, "reassembled", hex.EncodeToString(got), "050115f101020000")
	whole, _, err := DecodeFrame(vs[16-2].raw)
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "same as unfragmented frame", hex.EncodeToString(got), hex.EncodeToString(whole.Data))
	// The confirm the receiver sends for the start fragment matches line 12's format field.
	start, _, _ := DecodeFrame(vs[11-2].raw)
	confirm, _, _ := DecodeFrame(vs[12-2].raw)
	wantEq(t, "confirm header", start.Frag.Confirm(), confirm.Frag)
}
