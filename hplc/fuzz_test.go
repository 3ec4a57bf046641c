package hplc

import (
	"errors"
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

// FuzzPayload reaches the data-unit decoders without the checksum barrier:
// whatever decodes re-encodes to data that decodes to the same value.
func FuzzPayload(f *testing.F) {
	for _, v := range loadVectors(f) {
		fr, _, err := Decode(v.raw)
		if err == nil {
			f.Add(fr.C.Up, fr.AFN, fr.Fn, []byte(fr.Data))
		}
	}
	seeds := []struct {
		up bool
		p  Payload
	}{
		{true, RunMode{Master: testMaster, Vendor: VendorInfo{Vendor: "HS", Chip: "SM", Version: 0x0101}, Rates: []Rate{{100, true}}}},
		{true, NodeInfoList{Total: 1, Nodes: []NodeInfo{{Addr: testMaster, Protocol: 2}}}},
		{true, RouteStatus{Total: 3}},
		{true, ReadReport{Frame: HexBytes{0x68}}},
		{true, NodeReport{Nodes: []ReportedNode{{Addr: testMaster}}}},
		{true, MonitorReply{Protocol: 2, Frame: HexBytes{0x68}}},
		{false, DeleteNodes{Addrs: []Addr{testMaster}}},
		{false, NodeInfoQuery{Start: 1, Count: 1}},
	}
	for _, s := range seeds {
		afn, fn := s.p.AFNFn()
		b, err := s.p.AppendTo(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.up, afn, fn, b)
	}
	f.Fuzz(func(t *testing.T, up bool, afn uint8, fn uint16, data []byte) {
		if len(data) == 0 {
			data = nil
		}
		p, err := DecodePayload(up, afn, fn, data)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > len(data) {
				t.Fatalf("error %v is not a FrameError within the data", err)
			}
			return
		}
		if a, n := p.AFNFn(); a != afn || n != fn {
			t.Fatalf("decoded AFN %02X F%d as %T naming AFN %02X F%d", afn, fn, p, a, n)
		}
		enc, err := p.AppendTo(nil)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", p, err)
		}
		if len(enc) == 0 {
			enc = nil
		}
		q, err := DecodePayload(up, afn, fn, enc)
		if err != nil {
			t.Fatalf("re-decode %X: %v", enc, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%#v re-decoded as %#v", p, q)
		}
	})
}
