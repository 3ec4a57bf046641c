package dlt645

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.raw)
	}
	f.Add([]byte{0xFE, 0xFE, 0x68})
	for _, h := range []string{"6804330000000068140D3634333735896745AB896745488E16", "680433000000006894009B16",
		"6804330000000068D401371316"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Decode(b)
		if err != nil {
			if _, derr := Describe(b); derr == nil {
				t.Fatalf("Describe accepted what Decode rejected: %v", err)
			}
			return
		}
		if n > len(b) || n != fr.Len() {
			t.Fatalf("consumed %d, frame length %d, input %d", n, fr.Len(), len(b))
		}
		enc, err := fr.Encode()
		if err != nil {
			t.Fatalf("encode of decoded frame: %v", err)
		}
		again, m, err := Decode(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("re-decode: n=%d err=%v", m, err)
		}
		if !reflect.DeepEqual(fr, again) {
			t.Fatalf("re-decoded %+v != %+v", again, fr)
		}
		if string(enc) != string(b[:n]) {
			t.Fatalf("re-encode %X != input %X", enc, b[:n])
		}
		_, _ = Describe(b[:n]) // must not panic
		checkWriteFrame(t, fr)
	})
}

// checkWriteFrame: a decodable write request rebuilds from its fields to
// the same frame, and a write answer is accepted only as C=94 without data
// or as an exception carrying its error byte.
func checkWriteFrame(t *testing.T, fr Frame) {
	if w, err := fr.WriteRequest(); err == nil {
		g, err := NewWrite(fr.Addr, w.DI, w.Password, w.Operator, w.Data)
		if err != nil {
			t.Fatalf("NewWrite from decoded %+v: %v", w, err)
		}
		g.Preamble = fr.Preamble
		if !reflect.DeepEqual(g, fr) {
			t.Fatalf("write rebuilt as %+v, decoded %+v", g, fr)
		}
	}
	err := fr.WriteResponse()
	var ee *ExceptionError
	switch {
	case err == nil:
		if fr.C != CtrlResponse|FuncWrite || len(fr.Data) != 0 {
			t.Fatalf("C=%02X L=%d accepted as a normal write answer", byte(fr.C), len(fr.Data))
		}
	case errors.As(err, &ee):
		if !fr.C.Abnormal() || ee.Code != ErrorCode(fr.Data[0]) || ee.Addr != fr.Addr {
			t.Fatalf("exception %+v from C=%02X data %X", ee, byte(fr.C), fr.Data)
		}
	}
}

// writableDIs are the items EncodeValue accepts.
var writableDIs = []DI{DIDateWeek, DITime, DIDemandPeriod, DISlipTime, DIPulseWidth, DIYearZones,
	DIDayTables, DIDayPeriods, DITariffs, DIHolidays, DICTRatio, DIPTRatio}

// FuzzWriteValue: what EncodeValue produces the meter side decodes to the
// same number, and whatever value bytes DecodeWriteValue accepts encode
// back to the same bytes.
func FuzzWriteValue(f *testing.F) {
	f.Add(uint8(0), 24052001.0, []byte{0x01, 0x20, 0x05, 0x24})
	f.Add(uint8(1), 123045.0, []byte{0x45, 0x30, 0x12})
	f.Add(uint8(2), 15.0, []byte{0x15})
	f.Add(uint8(5), 15.0, []byte{0x15})
	f.Add(uint8(9), 254.5, []byte{0x54, 0x02})
	f.Fuzz(func(t *testing.T, idx uint8, v float64, data []byte) {
		di := writableDIs[int(idx)%len(writableDIs)]
		if b, err := EncodeValue(di, v); err == nil {
			got, err := DecodeWriteValue(di, b)
			if err != nil {
				t.Fatalf("EncodeValue(%s, %v) = %X, which DecodeWriteValue rejects: %v", di, v, b, err)
			}
			if d := math.Abs(got.Float64() - v); d > 2e-6*math.Max(1, math.Abs(v)) {
				t.Fatalf("EncodeValue(%s, %v) = %X decodes to %v", di, v, b, got)
			}
		}
		if got, err := DecodeWriteValue(di, data); err == nil {
			b, err := EncodeValue(di, got.Float64())
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("DecodeWriteValue(%s, %X) = %v re-encodes as %X, %v", di, data, got, b, err)
			}
		}
	})
}
