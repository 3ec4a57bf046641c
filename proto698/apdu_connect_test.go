package proto698

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// A CONNECT-Request as a public DL/T 698.45 test bench documents it
// (YuChaoYuan1/LYTEST.WPF, AppConnectionStructure.cs): PIID 0, version
// 0x0010, every conformance bit set, send/receive frames of 1024 bytes,
// window 1, APDU 1024, timeout 100 s, public connection, no time tag.
const connectVector = "0200" + "0010" + "FFFFFFFFFFFFFFFF" + "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" +
	"0400" + "0400" + "01" + "0400" + "00000064" + "00" + "00"

func TestConnectRequestPublicVector(t *testing.T) {
	a, err := DecodeAPDU(mustHex(connectVector))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := a.(*ConnectRequest)
	if !ok {
		t.Fatalf("decoded %T", a)
	}
	want := ConnectParams{Version: 0x10, SendMax: 1024, RecvMax: 1024, RecvWindow: 1, APDUMax: 1024, Timeout: 100}
	for i := range want.Protocol {
		want.Protocol[i] = 0xFF
	}
	for i := range want.Function {
		want.Function[i] = 0xFF
	}
	if c.PIID != 0 || c.ConnectParams != want || c.Mechanism.Kind != ConnectNull || c.TimeTag != nil {
		t.Errorf("decoded %+v", c)
	}
	b, err := EncodeAPDU(c)
	if err != nil || !bytes.Equal(b, mustHex(connectVector)) {
		t.Errorf("re-encoded %X, %v", b, err)
	}
	// As `holdup frame decode` shows it.
	raw, err := AppendFrame(nil, &Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: mustAddr("000000000322"), Client: 0x10, Data: b})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Describe(raw)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(d.APDU)
	for _, s := range []string{`"service":"CONNECT-Request"`, `"send_max":1024`, `"timeout_s":100`, `"mechanism":{"kind":"null"}`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("description %s lacks %s", js, s)
		}
	}
}

func TestConnectDecodeErrors(t *testing.T) {
	full := mustHex(connectVector)
	for _, tc := range []struct {
		name  string
		in    []byte
		field string
		err   error
	}{
		{"no PIID", full[:1], "CONNECT-Request.PIID", ErrTruncated},
		{"short conformance", full[:10], "CONNECT-Request.protocol conformance", ErrTruncated},
		{"no timeout", full[:36], "CONNECT-Request.timeout", ErrTruncated},
		{"bad mechanism", append(bytes.Clone(full[:len(full)-2]), 7, 0), "CONNECT-Request.mechanism choice", ErrInvalid},
		{"password without its bytes", append(bytes.Clone(full[:len(full)-2]), 1, 6, '0'), "CONNECT-Request.password.length", ErrTruncated},
		{"response factory version short", mustHex("8200484C4450"), "CONNECT-Response.factory version", ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeAPDU(tc.in)
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %s %v", err, tc.field, tc.err)
			}
		})
	}
}

func connectionAPDUs() []APDU {
	p := ConnectParams{Version: 0x16, SendMax: 1043, RecvMax: 512, RecvWindow: 1, APDUMax: 4096, Timeout: 7200}
	p.Protocol[7], p.Function[0] = 0x81, 0x40
	return []APDU{
		&ConnectRequest{PIID: 5, ConnectParams: p, TimeTag: tt},
		&ConnectRequest{PIID: 6, ConnectParams: p, Mechanism: ConnectMechanism{Kind: ConnectPassword, Password: "123456"}},
		&ConnectRequest{PIID: 7, ConnectParams: p, Mechanism: ConnectMechanism{Kind: ConnectSymmetry, Cipher: []byte{1, 2}, Signature: []byte{3}}},
		&ConnectResponse{PIID: 5, Factory: FactoryVersion{"HLDP", "0001", "260101", "0100", "250601", "holdup  "}, ConnectParams: p, Result: ConnectAllowed},
		&ConnectResponse{PIID: 6, Factory: FactoryVersion{"HLDP", "0001", "260101", "0100", "250601", "holdup  "}, ConnectParams: p, Result: ConnectBadPassword,
			HasSecurity: true, RN: []byte{9, 9}, MAC: []byte{1, 2, 3, 4}, ServerTrailer: ServerTrailer{TimeTag: tt}},
		&ReleaseRequest{PIID: 8},
		&ReleaseResponse{PIID: 8},
		&GetRequestNext{PIID: 9, LastBlock: 2, TimeTag: tt},
		&GetResponseNext{PIID: 9, Last: true, Block: 2, DAR: DARNotFragmented},
		&SetRequestNormalList{PIID: 10, Items: []SetItem{{NewOAD(0x40000200), DateTimeS{2026, 1, 2, 3, 4, 5}}, {NewOAD(0x2F010200), LongUnsigned(60)}}},
		&SetResponseNormalList{PIID: 10, Results: []SetResult{{NewOAD(0x40000200), DARSuccess}, {NewOAD(0x2F010200), DARSecurityMismatch}}},
		&UnsupportedRequest{Tag: TagGetRequest, Choice: 3, PIID: 11, Raw: mustHex("05030B601203000901" + "00" + "00")},
		&ErrorResponse{PIID: 11, DAR: ErrorServiceUnsupported},
	}
}

func TestConnectionAPDUsRoundTrip(t *testing.T) {
	for _, a := range connectionAPDUs() {
		t.Run(a.Service(), func(t *testing.T) {
			b, err := EncodeAPDU(a)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeAPDU(b)
			if err != nil {
				t.Fatalf("decode %X: %v", b, err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, a)
			}
			if DescribeAPDU(got)["service"] != a.Service() {
				t.Error("description names another service")
			}
		})
	}
	// A factory version field longer than its size is not encoded.
	_, err := EncodeAPDU(&ConnectResponse{Factory: FactoryVersion{Vendor: "TOO LONG"}})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("long vendor: %v", err)
	}
}
