package dlt645

import (
	"reflect"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.raw)
	}
	f.Add([]byte{0xFE, 0xFE, 0x68})
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
	})
}
