package dlt645

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeErrorsNameFieldAndOffset(t *testing.T) {
	good := "FEFE68459266230010681104333434352516"
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		field  string
		offset int
		is     error
	}{
		{"first start", func(b []byte) []byte { b[2] = 0x69; return b }, "start", 2, ErrStart},
		{"second start", func(b []byte) []byte { b[9] = 0x00; return b }, "second start", 9, ErrStart},
		{"checksum", func(b []byte) []byte { b[16] ^= 0x01; return b }, "checksum", 16, ErrChecksum},
		{"data byte flipped", func(b []byte) []byte { b[13]++; return b }, "checksum", 16, ErrChecksum},
		{"end", func(b []byte) []byte { b[17] = 0x17; return b }, "end", 17, ErrEnd},
		{"truncated data", func(b []byte) []byte { return b[:14] }, "data", 14, ErrShort},
		{"truncated header", func(b []byte) []byte { return b[:8] }, "header", 8, ErrShort},
		{"length too long", func(b []byte) []byte { b[11] = 0x40; return b }, "data", 18, ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(mustHex(t, good))
			_, _, err := Decode(b)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FrameError", err)
			}
			if fe.Field != tc.field || fe.Offset != tc.offset || !errors.Is(err, tc.is) {
				t.Errorf("got field %q offset %d (%v), want %q at %d (%v)", fe.Field, fe.Offset, err, tc.field, tc.offset, tc.is)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestPreambleRoundTrip(t *testing.T) {
	f := NewRead(Address{0x45, 0x92, 0x66, 0x23, 0x00, 0x10}, DIVoltageA)
	f.Preamble = 4
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xFE, 0xFE, 0xFE, 0xFE, 0x68}) {
		t.Fatalf("encoded %X lacks 4 FE preambles", b)
	}
	g, n, err := Decode(append(b, 0x00, 0x01)) // trailing bytes are not consumed
	if err != nil || n != len(b) {
		t.Fatalf("decode: n=%d err=%v", n, err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("round trip %+v != %+v", g, f)
	}
	if _, err := Describe(append(b, 0x00)); err == nil {
		t.Error("Describe accepted a trailing byte")
	}
}

func TestTooManyPreambles(t *testing.T) {
	b := append(bytes.Repeat([]byte{0xFE}, MaxPreamble+1), mustHex(t, "68459266230010681104333434352516")...)
	_, _, err := Decode(b)
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Field != "preamble" {
		t.Fatalf("err = %v, want preamble FrameError", err)
	}
}

func TestExceptionResponse(t *testing.T) {
	addr, _ := ParseAddress("100023669245")
	f := NewException(addr, FuncRead, ErrCodeNoData)
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// C=D1, L=01, data 02+33=35
	if want := "6845926623001068D10135"; !strings.HasPrefix(strings.ToUpper(hex.EncodeToString(b)), want) {
		t.Fatalf("encoded %X, want prefix %s", b, want)
	}
	g, _, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = g.ReadResponse()
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != ErrCodeNoData || !errors.Is(err, ErrException) {
		t.Fatalf("ReadResponse err = %v, want exception no-data", err)
	}
	if !strings.Contains(err.Error(), "no requested data") {
		t.Errorf("message %q lacks the reason", err)
	}
	d, err := Describe(b)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(d)
	if !strings.Contains(string(js), `"reasons":["no requested data"]`) {
		t.Errorf("describe = %s", js)
	}
}

func TestReadAddressBroadcast(t *testing.T) {
	req := NewReadAddress()
	b, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.ToUpper(hex.EncodeToString(b)), "68AAAAAAAAAAAA681300DF16"; got != want {
		t.Fatalf("read-address request %s, want %s", got, want)
	}
	addr, _ := ParseAddress("201000000012")
	resp := NewReadAddressResponse(addr)
	rb, _ := resp.Encode()
	g, _, err := Decode(rb)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.ReadAddressResponse()
	if err != nil || a != addr {
		t.Fatalf("address %s err %v, want %s", a, err, addr)
	}
	if BroadcastAddress.String() != "999999999999" {
		t.Errorf("broadcast address %s", BroadcastAddress)
	}
}

func TestServiceMismatch(t *testing.T) {
	f := NewRead(Address{1}, DIVoltageA)
	if _, _, err := f.ReadResponse(); !errors.Is(err, ErrFunction) {
		t.Errorf("ReadResponse on a request: %v", err)
	}
	f.Data = f.Data[:3]
	if _, _, err := f.ReadRequest(); !errors.Is(err, ErrLength) {
		t.Errorf("short DI: %v", err)
	}
}

func TestBCD(t *testing.T) {
	tests := []struct {
		b      string
		signed bool
		want   int64
	}{
		{"3322", false, 2233},
		{"000000", false, 0},
		{"345612", false, 125634},
		{"500180", true, -150},
		{"158080", true, -8015},
		{"99999999", false, 99999999},
	}
	for _, tc := range tests {
		b := mustHex(t, tc.b)
		v, err := DecodeBCD(b, tc.signed)
		if err != nil || v != tc.want {
			t.Errorf("DecodeBCD(%s) = %d, %v; want %d", tc.b, v, err, tc.want)
		}
		enc, err := AppendBCD(nil, tc.want, len(b), tc.signed)
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("AppendBCD(%d) = %X, %v; want %s", tc.want, enc, err, tc.b)
		}
	}
	if _, err := DecodeBCD([]byte{0x3A}, false); !errors.Is(err, ErrBCD) {
		t.Errorf("nibble A accepted: %v", err)
	}
	if _, err := AppendBCD(nil, 10000, 2, false); err == nil {
		t.Error("10000 fitted in 2 BCD bytes")
	}
	if _, err := AppendBCD(nil, -1, 2, false); err == nil {
		t.Error("negative unsigned accepted")
	}
}

func TestValuesCurrentSigned(t *testing.T) {
	// -1.234 A: 001234 with sign bit -> bytes 34 12 80
	vals, known, err := DecodeValues(DICurrentA, []byte{0x34, 0x12, 0x80})
	if err != nil || !known || len(vals) != 1 {
		t.Fatalf("vals %v known %v err %v", vals, known, err)
	}
	if vals[0].String() != "-1.234" || vals[0].Unit != "A" {
		t.Errorf("current = %s %s", vals[0], vals[0].Unit)
	}
	if _, _, err := DecodeValues(DIVoltageA, []byte{0x33}); !errors.Is(err, ErrLength) {
		t.Errorf("1-byte voltage: %v", err)
	}
	back, err := AppendValue(nil, fmtCurrent, vals[0])
	if err != nil || !bytes.Equal(back, []byte{0x34, 0x12, 0x80}) {
		t.Errorf("AppendValue = %X, %v", back, err)
	}
}

func TestDescribeVoltageResponse(t *testing.T) {
	d, err := Describe(mustHex(t, "684592662300106891063334343566556216"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"address":"100023669245"`, `"di":"02010100"`, `"value":"223.3"`,
		`"unit":"V"`, `"service":"read-response"`, `"checksum":"62"`, `"direction":"meter to master"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("describe JSON lacks %s: %s", want, js)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, s := range []string{"", "12345", "10002366924G", "1000236692451"} {
		if _, err := ParseAddress(s); err == nil {
			t.Errorf("ParseAddress(%q) accepted", s)
		}
	}
}
