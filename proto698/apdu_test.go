package proto698

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var tt = &TimeTag{Send: DateTimeS{2026, 11, 27, 1, 2, 3}, Delay: TI{Unit: 1, Interval: 5}}

// allData exercises every data type the codec supports.
var allData = Structure{
	Null{}, Array{Unsigned(1), Unsigned(2)}, Bool(true), Bool(false),
	BitString{Len: 11, Bits: []byte{0xA5, 0xE0}}, DoubleLong(-2), DoubleLongUnsigned(0xDEADBEEF),
	OctetString{1, 2, 3}, VisibleString("holdup"), UTF8String("电压"), Integer(-1), Long(-300),
	Unsigned(200), LongUnsigned(2241), Long64(-1 << 40), Long64Unsigned(1 << 63), Enum(3),
	Float32(1.5), Float64(-2.25),
	DateTime{2026, 11, 27, 5, 1, 2, 3, 999}, Date{2026, 11, 27, 5}, Time{23, 59, 59},
	DateTimeS{2026, 11, 27, 1, 2, 3}, OI(0x3106), NewOAD(0x20000200),
	ROAD{OAD: NewOAD(0x50040200), Assoc: []OAD{NewOAD(0x00100200), NewOAD(0x00200200)}},
	OMD{0x4300, 1, 0}, TI{3, 1}, TSA{Addr: []byte{0, 0, 0, 0, 0, 1}}, TSA{Empty: true},
	MAC{9, 9, 9, 9}, RN(bytes.Repeat([]byte{7}, 16)), ScalerUnit{-1, 35},
	CSD{OAD: NewOAD(0x20220200)}, CSD{IsROAD: true, ROAD: ROAD{OAD: NewOAD(0x50020200), Assoc: []OAD{NewOAD(0x20000200)}}},
	COMDCB{6, 2, 8, 1, 0}, RCSD{{OAD: NewOAD(0x201E0200)}, {OAD: NewOAD(0x20200200)}},
	OctetString(bytes.Repeat([]byte{0x55}, 300)), // two-byte A-XDR length
}

func roundTripAPDUs() []APDU {
	rec := ResultRecord{OAD: NewOAD(0x31060200), RCSD: RCSD{{OAD: NewOAD(0x20220200)}, {OAD: NewOAD(0x20200200)}},
		Rows: [][]Data{{DoubleLongUnsigned(1), Null{}}, {DoubleLongUnsigned(2), DateTimeS{2026, 1, 2, 3, 4, 5}}}}
	return []APDU{
		&LinkRequest{PIID: 0x41, Type: LinkHeartbeat, Heartbeat: 300, Time: DateTime{2026, 11, 27, 5, 0, 0, 0, 0}},
		&LinkResponse{PIID: 1, Result: 0x81, RequestTime: DateTime{Year: 2026, Month: 1, Day: 1}},
		&GetRequestNormal{PIID: 0x3F, OAD: NewOAD(0x20000201), TimeTag: tt},
		&GetRequestNormalList{PIID: 2, OADs: []OAD{NewOAD(0x20000200), NewOAD(0x20010200)}},
		&GetResponseNormal{PIID: 0x40, Result: ResultNormal{OAD: NewOAD(0x20000200), Data: allData},
			ServerTrailer: ServerTrailer{TimeTag: tt}},
		&GetResponseNormal{PIID: 1, Result: ResultNormal{OAD: NewOAD(0x20000200), DAR: DARUndefined}},
		&GetResponseNormalList{PIID: 2, Results: []ResultNormal{{OAD: NewOAD(0x20000200), Data: LongUnsigned(1)}, {OAD: NewOAD(0x20010200), DAR: DARReadDenied}},
			ServerTrailer: ServerTrailer{FollowReport: &FollowReport{Kind: 1, Results: []ResultNormal{{OAD: NewOAD(0x40000200), Data: Null{}}}}}},
		&SetRequestNormal{PIID: 3, OAD: NewOAD(0x40000200), Value: DateTimeS{2026, 1, 1, 0, 0, 0}, TimeTag: tt},
		&SetResponseNormal{PIID: 3, OAD: NewOAD(0x40000200), DAR: DARTypeMismatch,
			ServerTrailer: ServerTrailer{FollowReport: &FollowReport{Kind: 2, Records: []ResultRecord{rec}}}},
		&ActionRequestNormal{PIID: 4, OMD: OMD{0x4300, 3, 0}, Param: Integer(0)},
		&ActionResponseNormal{PIID: 4, OMD: OMD{0x4300, 3, 0}, DAR: DARSuccess},
		&ActionResponseNormal{PIID: 4, OMD: OMD{0x5000, 1, 0}, DAR: DARSuccess, Return: Structure{Unsigned(1)}, ServerTrailer: ServerTrailer{TimeTag: tt}},
		&ReportNotificationRecordList{PIID: 5, Records: []ResultRecord{rec, {OAD: NewOAD(0x31050200), RCSD: RCSD{{OAD: NewOAD(0x20220200)}}, IsDAR: true, DAR: DARTemporary}}},
		&ReportResponseRecordList{PIID: 5, OADs: []OAD{NewOAD(0x31060200)}, TimeTag: tt},
		&ProxyTransCommandRequest{PIID: 6, Port: NewOAD(0xF2010201), DCB: COMDCB{6, 2, 8, 1, 0}, FrameTimeout: 5, ByteTimeout: 100, Command: []byte{0x68, 0x16}},
		&ProxyTransCommandResponse{PIID: 6, Port: NewOAD(0xF2010201), Answer: []byte{0x68, 1, 0x16}},
		&ProxyTransCommandResponse{PIID: 6, Port: NewOAD(0xF2010201), IsDAR: true, DAR: DARTemporary},
		&SecurityRequest{Payload: []byte{5, 1, 0, 0x20, 0, 2, 0, 0}, Verify: VerifyRNMAC, RN: []byte{1, 2}, MAC: []byte{3, 4, 5, 6}},
		&SecurityRequest{Cipher: true, Payload: []byte{0xAB}, Verify: VerifySIDMAC, SID: SID{Tag: 0x81000000, Data: []byte{1}}, MAC: []byte{1, 2, 3, 4}},
		&SecurityRequest{Payload: []byte{5, 1, 0, 0x20, 0, 2, 0, 0}, Verify: VerifySID, SID: SID{Tag: 7, Data: []byte{}}},
		&SecurityResponse{Kind: SecPlain, Payload: voltageResponse[14 : len(voltageResponse)-3], HasMAC: true, MAC: []byte{1, 2, 3, 4}},
		&SecurityResponse{Kind: SecDAR, DAR: DARHardware},
		&ErrorResponse{PIID: 1, DAR: DAROther},
		&ReportNotificationList{PIID: 0x47, Results: []ResultNormal{{OAD: OADVoltageAll, Data: Array{LongUnsigned(2301), Null{}, LongUnsigned(2310)}},
			{OAD: OADCurrentAll, Data: Null{}}, {OAD: OADFrequency, DAR: DARHardware}}, ServerTrailer: ServerTrailer{TimeTag: tt}},
		&ReportNotificationList{PIID: 1, Results: []ResultNormal{{OAD: OADDateTime, Data: allData}},
			ServerTrailer: ServerTrailer{FollowReport: &FollowReport{Kind: 2, Records: []ResultRecord{rec}}}},
		&ReportResponseList{PIID: 0x47, OADs: []OAD{OADVoltageAll, OADCurrentAll, OADFrequency}},
		&ReportResponseList{PIID: 1, OADs: []OAD{OADDateTime}, TimeTag: tt},
	}
}

func TestAPDURoundTrip(t *testing.T) {
	for _, a := range roundTripAPDUs() {
		t.Run(a.Service(), func(t *testing.T) {
			b, err := EncodeAPDU(a)
			if err != nil {
				t.Fatal(err)
			}
			g, err := DecodeAPDU(b)
			if err != nil {
				t.Fatalf("decode %X: %v", b, err)
			}
			wantEq(t, "service", g.Service(), a.Service())
			b2, err := EncodeAPDU(g)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoded\n got %X\nwant %X", b2, b)
			}
			if _, err := json.Marshal(DescribeAPDU(g)); err != nil {
				t.Errorf("describe: %v", err)
			}
			// Every strict prefix must fail cleanly as truncated, never panic.
			for i := 0; i < len(b); i++ {
				if _, err := DecodeAPDU(b[:i]); !errors.Is(err, ErrTruncated) {
					t.Fatalf("prefix %d/%d: err = %v, want truncated", i, len(b), err)
				}
			}
			if _, err := DecodeAPDU(append(b, 0)); !errors.Is(err, ErrTrailing) {
				t.Errorf("trailing byte: %v", err)
			}
		})
	}
}

func TestSecurityUnsupported(t *testing.T) {
	as := roundTripAPDUs()
	rnmac := as[17].(*SecurityRequest)
	if err := rnmac.VerifyMAC(); !errors.Is(err, ErrMACNotSupported) {
		t.Errorf("RN_MAC VerifyMAC = %v", err)
	}
	if in, err := rnmac.Inner(); err != nil || in.Service() != "GET-Request-Normal" {
		t.Errorf("plain inner = %v, %v", in, err)
	}
	if _, err := as[18].(*SecurityRequest).Inner(); !errors.Is(err, ErrCipherNotSupported) {
		t.Errorf("cipher inner = %v", err)
	}
	resp := as[20].(*SecurityResponse)
	if err := resp.VerifyMAC(); !errors.Is(err, ErrMACNotSupported) {
		t.Errorf("response VerifyMAC = %v", err)
	}
	in, err := resp.Inner()
	if err != nil {
		t.Fatal(err)
	}
	voltages(t, in.(*GetResponseNormal).Result.Data, 2241, 0, 0)
	if _, err := as[21].(*SecurityResponse).Inner(); !errors.Is(err, ErrDAR) {
		t.Errorf("DAR inner = %v", err)
	}
}

func TestDecodeAPDUErrors(t *testing.T) {
	tests := []struct {
		hex    string
		field  string
		offset int
		err    error
	}{
		{"04", "APDU tag", 0, ErrUnsupported},
		{"03", "RELEASE-Request.PIID", 1, ErrTruncated},
		{"0503", "GET-Request-Record.PIID", 2, ErrTruncated},
		{"8503", "APDU choice", 1, ErrUnsupported}, // a response choice not decoded
		{"8501002000020001FF", "GET-Response-Normal.Data.type", 8, ErrUnsupported},
		{"850100200002000201", "GET-Response-Normal.result choice", 7, ErrInvalid},
		{"010003003C07E70705030F18110000", "LINK-Request.type", 2, ErrInvalid},
		{"8501002000020001010312", "GET-Response-Normal.Data.count", 9, ErrTruncated},
		{"85010020000200010302", "GET-Response-Normal.Data", 9, ErrInvalid},
		{"0501012000020002", "GET-Request-Normal.TimeTag", 7, ErrInvalid},
		{"85010020000200015503050000", "GET-Response-Normal.Data", 9, ErrLength},
	}
	for _, tc := range tests {
		_, err := DecodeAPDU(mustHex(tc.hex))
		var fe *FrameError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FrameError", tc.hex, err)
			continue
		}
		if fe.Field != tc.field || fe.Offset != tc.offset || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %q at %d (%v), want %q at %d (%v)", tc.hex, fe.Field, fe.Offset, fe.Err, tc.field, tc.offset, tc.err)
		}
	}
}

func TestDeepNestingRejected(t *testing.T) {
	b := []byte{0x85, 1, 0, 0x20, 0, 2, 0, 1}
	for range 100 {
		b = append(b, 1, 1) // array of 1
	}
	b = append(b, 0, 0, 0)
	if _, err := DecodeAPDU(b); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("err = %v, want nesting error", err)
	}
}

func TestDescribe(t *testing.T) {
	d, err := Describe(append([]byte{0xFE, 0xFE}, voltageResponse...))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(js, &m)
	ctl := m["control"].(map[string]any)
	wantEq(t, "dir", ctl["dir"], any("server-to-client"))
	wantEq(t, "sa", m["server_address"].(map[string]any)["sa"], any("012503200001"))
	wantEq(t, "preamble", m["preamble"], any(2.0))
	wantEq(t, "hcs", m["hcs"], any("290E"))
	ap := m["apdu"].(map[string]any)
	wantEq(t, "service", ap["service"], any("GET-Response-Normal"))
	res := ap["result"].(map[string]any)
	wantEq(t, "oad", res["oad"], any("20000200"))
	data := res["data"].(map[string]any)
	wantEq(t, "type", data["type"], any("array"))
	first := data["value"].([]any)[0].(map[string]any)
	wantEq(t, "element type", first["type"], any("long-unsigned"))
	wantEq(t, "element value", first["value"], any(2241.0))
	wantEq(t, "object", res["object"], any("voltage"))
	wantEq(t, "unit", res["unit"], any("V"))
	scaled := res["scaled"].([]any)
	if len(scaled) != 3 || !near(scaled[0].(float64), 224.1) || scaled[1].(float64) != 0 {
		t.Errorf("scaled = %v, want [224.1 0 0]", scaled)
	}

	// A bad APDU byte inside a valid frame is reported at its frame offset.
	bad := Frame{Control: 0xC3, Addr: mustAddr("012503200001"), Data: mustHex("8501002000020001FF0000")}
	raw, _ := AppendFrame(nil, &bad)
	_, err = Describe(raw)
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Offset != 14+8 || fe.Field != "GET-Response-Normal.Data.type" {
		t.Errorf("bad APDU: %v", err)
	}
	if _, err := Describe(append(bytes.Clone(voltageResponse), 0x00)); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing: %v", err)
	}
	// Every vector describes and marshals.
	for _, v := range loadVectors(t) {
		d, err := Describe(v.raw)
		if err != nil {
			t.Errorf("line %d: %v", v.line, err)
			continue
		}
		if _, err := json.Marshal(d); err != nil {
			t.Errorf("line %d: %v", v.line, err)
		}
	}
}
