package dlt645

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The expected frames below were assembled by hand from the standard's
// layout (68 A0..A5 68 C L DI0..DI3 PA P0 P1 P2 C0..C3 N1..Nm CS 16, every
// data byte +33) and their byte sums computed separately; no public capture
// of a write was available.
func TestWriteRequestFrames(t *testing.T) {
	meter, _ := ParseAddress("000000003304")
	pw := Password{Level: 0x02, Code: 0x123456}
	tests := []struct {
		name  string
		di    DI
		pw    Password
		op    Operator
		value []byte
		hex   string
		item  string
		shown string
	}{
		{"demand period 15 min", DIDemandPeriod, pw, 0x12345678, []byte{0x15},
			"6804330000000068140D3634333735896745AB896745488E16", "maximum demand period", "15"},
		{"time 12:30:45 level 04", DITime, Password{Level: 0x04, Code: 0x000000}, 0x00000001, []byte{0x45, 0x30, 0x12},
			"6804330000000068140F353433373733333334333333786345BA16", "time of day", "123045"},
		{"unknown item, raw value", 0x04009999, pw, 0, []byte{0xAB},
			"6804330000000068140DCCCC33373589674533333333DE3E16", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(t, tc.hex)
			f, err := NewWrite(meter, tc.di, tc.pw, tc.op, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			b, err := f.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("encoded\n %X\nwant\n %X", b, want)
			}
			g, n, err := Decode(want)
			if err != nil || n != len(want) {
				t.Fatalf("decode: n=%d err=%v", n, err)
			}
			w, err := g.WriteRequest()
			if err != nil {
				t.Fatal(err)
			}
			if w.DI != tc.di || w.Password != tc.pw || w.Operator != tc.op || !bytes.Equal(w.Data, tc.value) {
				t.Errorf("decoded %+v, want DI %s %+v operator %s value %X", w, tc.di, tc.pw, tc.op, tc.value)
			}
			// Re-encode from the decoded fields.
			h, err := NewWrite(g.Addr, w.DI, w.Password, w.Operator, w.Data)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := h.Encode(); !bytes.Equal(again, want) {
				t.Errorf("re-encode %X", again)
			}
			d, err := Describe(want)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(d)
			wants := []string{`"service":"write-request"`, `"di":"` + tc.di.String() + `"`,
				`"password_level":"` + hex.EncodeToString([]byte{tc.pw.Level}) + `"`, `"operator":"` + tc.op.String() + `"`}
			if tc.item != "" {
				wants = append(wants, `"item":"`+tc.item+`"`, `"value":"`+tc.shown+`"`)
			} else {
				wants = append(wants, `"raw_value":"AB"`)
			}
			for _, s := range wants {
				if !strings.Contains(string(js), s) {
					t.Errorf("describe lacks %s: %s", s, js)
				}
			}
		})
	}
}

func TestWriteResponses(t *testing.T) {
	meter, _ := ParseAddress("000000003304")
	ok := mustHex(t, "680433000000006894009B16")
	if b, _ := (&Frame{Addr: meter, C: 0x94}).Encode(); !bytes.Equal(b, ok) {
		t.Fatalf("normal answer encodes as %X", b)
	}
	if b, _ := func() ([]byte, error) { f := NewWriteResponse(meter); return f.Encode() }(); !bytes.Equal(b, ok) {
		t.Fatalf("NewWriteResponse encodes as %X, want %X", b, ok)
	}
	f, _, err := Decode(ok)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteResponse(); err != nil {
		t.Errorf("normal answer: %v", err)
	}
	if d, err := Describe(ok); err != nil || d.(*Description).Service != "write-response" {
		t.Errorf("describe normal answer: %+v %v", d, err)
	}

	// An abnormal answer, password bit: 68 … 68 D4 01 37 13 16.
	bad := mustHex(t, "6804330000000068D401371316")
	f, _, err = Decode(bad)
	if err != nil {
		t.Fatal(err)
	}
	err = f.WriteResponse()
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != ErrCodeAuth || ee.Func != FuncWrite || ee.Addr != meter {
		t.Fatalf("password answer: %#v", err)
	}
	if !errors.Is(err, ErrException) || !errors.Is(err, ErrCodeAuth) || errors.Is(err, ErrCodeNoData) {
		t.Errorf("errors.Is does not follow the flags: %v", err)
	}
	if !strings.Contains(err.Error(), "write exception: password error or unauthorised (04)") {
		t.Errorf("message %q", err)
	}

	wrong := []struct {
		name string
		f    Frame
		is   error
	}{
		{"read answer", NewReadResponse(meter, DIVoltageA, []byte{0x33, 0x22}), ErrFunction},
		{"request", Frame{Addr: meter, C: FuncWrite}, ErrFunction},
		{"normal answer with data", Frame{Addr: meter, C: 0x94, Data: []byte{0}}, ErrLength},
		{"abnormal answer without error byte", Frame{Addr: meter, C: 0xD4}, ErrLength},
	}
	for _, tc := range wrong {
		err := tc.f.WriteResponse()
		var fe *FrameError
		if !errors.Is(err, tc.is) || !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FrameError wrapping %v", tc.name, err, tc.is)
		}
	}
}

// Every bit of the error byte decodes to its own flag and name.
func TestWriteErrorBits(t *testing.T) {
	meter, _ := ParseAddress("000000003304")
	tests := []struct {
		code  ErrorCode
		names []string
	}{
		{ErrCodeOther, []string{"other error"}},
		{ErrCodeNoData, []string{"no requested data"}},
		{ErrCodeAuth, []string{"password error or unauthorised"}},
		{ErrCodeBaudFixed, []string{"baud rate cannot be changed"}},
		{ErrCodeYearZones, []string{"year zone count exceeded"}},
		{ErrCodeDaySegments, []string{"day period count exceeded"}},
		{ErrCodeTariffs, []string{"tariff count exceeded"}},
		{0x80, []string{"reserved bit 7"}},
		{ErrCodeYearZones | ErrCodeTariffs, []string{"year zone count exceeded", "tariff count exceeded"}},
	}
	all := []ErrorCode{ErrCodeOther, ErrCodeNoData, ErrCodeAuth, ErrCodeBaudFixed, ErrCodeYearZones, ErrCodeDaySegments, ErrCodeTariffs}
	for _, tc := range tests {
		e := NewException(meter, FuncWrite, tc.code)
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		err = f.WriteResponse()
		if !reflect.DeepEqual(tc.code.Reasons(), tc.names) {
			t.Errorf("%02X reasons %q, want %q", byte(tc.code), tc.code.Reasons(), tc.names)
		}
		for _, n := range tc.names {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("%02X: message %q lacks %q", byte(tc.code), err, n)
			}
		}
		for _, flag := range all {
			if got, want := errors.Is(err, flag), tc.code&flag != 0; got != want {
				t.Errorf("%02X: errors.Is(err, %02X) = %v", byte(tc.code), byte(flag), got)
			}
		}
	}
}

func TestEncodeValue(t *testing.T) {
	tests := []struct {
		di   DI
		v    float64
		hex  string // value bytes, low byte first; empty when err is set
		err  error
		name string // a word the error must name
	}{
		{DIDemandPeriod, 15, "15", nil, ""},
		{DISlipTime, 1, "01", nil, ""},
		{DIPulseWidth, 80, "8000", nil, ""},
		{DITime, 123045, "453012", nil, ""},
		{DITime, 0, "000000", nil, ""},
		{DIDateWeek, 24052001, "01200524", nil, ""},
		{DIDateWeek, 24022904, "04290224", nil, ""}, // 2024 is a leap year
		{DIYearZones, 14, "14", nil, ""},
		{DITariffs, 63, "63", nil, ""},
		{DIHolidays, 254, "5402", nil, ""},
		{DICTRatio, 200, "000200", nil, ""},
		{DIYearZones, 15, "", ErrRange, "maximum 14"},
		{DIDayTables, 9, "", ErrRange, "maximum 8"},
		{DIDayPeriods, 15, "", ErrRange, "maximum 14"},
		{DITariffs, 64, "", ErrRange, "maximum 63"},
		{DIHolidays, 255, "", ErrRange, "maximum 254"},
		{DIDemandPeriod, 100, "", ErrRange, "1 bytes"},
		{DIDemandPeriod, 15.5, "", ErrRange, "decimal"},
		{DIDemandPeriod, -1, "", ErrRange, "negative"},
		{DIDemandPeriod, math.NaN(), "", ErrRange, "04000103"},
		{DIDemandPeriod, math.Inf(1), "", ErrRange, "04000103"},
		{DITime, 240000, "", ErrRange, "hhmmss"},
		{DITime, 126000, "", ErrRange, "hhmmss"},
		{DITime, 123060, "", ErrRange, "hhmmss"},
		{DIDateWeek, 23022901, "", ErrRange, "YYMMDDWW"},
		{DIDateWeek, 24043101, "", ErrRange, "YYMMDDWW"},
		{DIDateWeek, 24130101, "", ErrRange, "YYMMDDWW"},
		{DIDateWeek, 24050007, "", ErrRange, "YYMMDDWW"},
		{DIDateWeek, 24052007, "", ErrRange, "YYMMDDWW"},
		{DIVoltageA, 220, "", ErrNotWritable, "A-phase voltage"},
		{DIVoltageBlock, 220, "", ErrNotWritable, "0201FF00"},
		{DIActiveConstant, 1200, "", ErrNotWritable, "active energy constant"},
		{DIProgramCount, 1, "", ErrNotWritable, "03300000"},
		{DIMeterAddress, 1, "", ErrUnknownItem, "04000401"},
	}
	for _, tc := range tests {
		b, err := EncodeValue(tc.di, tc.v)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("EncodeValue(%s, %v) = %X, %v; want %v naming %q", tc.di, tc.v, b, err, tc.err, tc.name)
			}
			continue
		}
		if err != nil || hex.EncodeToString(b) != strings.ToLower(tc.hex) {
			t.Errorf("EncodeValue(%s, %v) = %X, %v; want %s", tc.di, tc.v, b, err, tc.hex)
			continue
		}
		v, err := DecodeWriteValue(tc.di, b)
		if err != nil || v.Float64() != tc.v {
			t.Errorf("DecodeWriteValue(%s, %X) = %v, %v; want %v", tc.di, b, v, err, tc.v)
		}
		vals, known, err := DecodeValues(tc.di, b)
		if err != nil || !known || len(vals) != 1 || vals[0] != v {
			t.Errorf("read-back decode of %X: %v %v %v", b, vals, known, err)
		}
	}
}

func TestDecodeWriteValueRejects(t *testing.T) {
	tests := []struct {
		di   DI
		data []byte
		err  error
	}{
		{DIDemandPeriod, []byte{0x15, 0x00}, ErrLength},
		{DIDemandPeriod, []byte{}, ErrLength},
		{DIDemandPeriod, []byte{0x1A}, ErrBCD},
		{DIDemandPeriod, []byte{0xFF}, ErrBCD},
		{DIYearZones, []byte{0x15}, ErrRange},
		{DITariffs, []byte{0x64}, ErrRange},
		{DITime, []byte{0x00, 0x00, 0x24}, ErrRange},
		{DIVoltageA, []byte{0x00, 0x22}, ErrNotWritable},
		{0x04009999, []byte{0x01}, ErrUnknownItem},
	}
	for _, tc := range tests {
		if _, err := DecodeWriteValue(tc.di, tc.data); !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.di.String()) {
			t.Errorf("DecodeWriteValue(%s, %X) = %v, want %v naming the DI", tc.di, tc.data, err, tc.err)
		}
	}
}

func TestPassword(t *testing.T) {
	p, err := ParsePassword("02123456")
	if err != nil || p != (Password{Level: 2, Code: 0x123456}) {
		t.Fatalf("ParsePassword = %+v, %v", p, err)
	}
	if s := p.String(); strings.Contains(s, "123456") || !strings.Contains(s, "02") {
		t.Errorf("String() = %q: must name the level and hide the password", s)
	}
	for _, s := range []string{"", "0212345", "021234567", "0212345G"} {
		if _, err := ParsePassword(s); err == nil {
			t.Errorf("ParsePassword(%q) accepted", s)
		}
	}
	if _, err := NewWrite(Address{}, DITime, Password{Code: 0x1000000}, 0, nil); !errors.Is(err, ErrRange) {
		t.Errorf("4-byte password: %v", err)
	}
	if _, err := NewWrite(Address{}, DITime, Password{}, 0, make([]byte, 244)); !errors.Is(err, ErrLength) {
		t.Errorf("oversized value: %v", err)
	}
	f := Frame{C: FuncWrite, Data: make([]byte, 11)}
	var fe *FrameError
	if _, err := f.WriteRequest(); !errors.As(err, &fe) || fe.Field != "length" || !errors.Is(err, ErrLength) {
		t.Errorf("11-byte write request: %v", err)
	}
	f = NewRead(Address{}, DITime)
	if _, err := f.WriteRequest(); !errors.Is(err, ErrFunction) {
		t.Errorf("WriteRequest on a read: %v", err)
	}
}
