package hplc

import (
	"reflect"
	"testing"
)

// FuzzDecode: the decoder never panics; whatever decodes (frame and
// payload) re-encodes to bytes that decode to the same value.
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Decode(b)
		if err != nil {
			return
		}
		if n != fr.Len() {
			t.Fatalf("consumed %d, Len() %d", n, fr.Len())
		}
		enc, err := fr.Encode()
		if err != nil {
			t.Fatalf("encode decoded frame: %v", err)
		}
		again, m, err := Decode(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(fr, again) {
			t.Fatalf("frame %+v re-decoded as %+v", fr, again)
		}
		p, err := fr.Payload()
		_, derr := Describe(b[:n])
		if (err == nil) != (derr == nil) {
			t.Fatalf("Payload err %v but Describe err %v", err, derr)
		}
		if err != nil {
			return
		}
		g, err := NewFrame(fr.C, fr.R, p)
		if err != nil {
			t.Fatalf("encode payload %#v: %v", p, err)
		}
		g.Src, g.Relays, g.Dst = fr.Src, fr.Relays, fr.Dst
		enc2, err := g.Encode()
		if err != nil {
			t.Fatalf("encode frame from payload: %v", err)
		}
		h, _, err := Decode(enc2)
		if err != nil {
			t.Fatalf("decode re-encoded payload frame: %v", err)
		}
		p2, err := h.Payload()
		if err != nil {
			t.Fatalf("re-decode payload: %v", err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("payload %#v re-decoded as %#v", p, p2)
		}
	})
}

// FuzzDeframer: the stream deframer never panics, and every frame it
// yields decodes.
func FuzzDeframer(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(append([]byte{0x68, 0x00, 0xFE}, v.raw...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Deframer
		d.Write(b)
		for {
			raw, _, ok := d.Next()
			if !ok {
				break
			}
			if _, _, err := Decode(raw); err != nil {
				t.Fatalf("deframer yielded %X: %v", raw, err)
			}
		}
	})
}
