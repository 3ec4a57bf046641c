package proto698

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func seedFrames(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.raw)
	}
}

// FuzzDecodeFrame: never panics; whatever decodes re-encodes to a frame
// that decodes to the same value.
func FuzzDecodeFrame(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, n, err := DecodeFrame(in)
		if err != nil {
			return
		}
		if n <= 0 || n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		b, err := AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(b, in[fr.Preamble:n]) {
			t.Fatalf("re-encoded %X, input %X", b, in[fr.Preamble:n])
		}
		g, m, err := DecodeFrame(b)
		if err != nil || m != len(b) {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if g.Control != fr.Control || !g.Addr.Equal(fr.Addr) || g.Client != fr.Client || g.Frag != fr.Frag || !bytes.Equal(g.Data, fr.Data) {
			t.Fatalf("decoded %+v, want %+v", g, fr)
		}
		_, _ = Describe(in[:n])
	})
}

// FuzzDecodeAPDU: never panics; a decoded APDU re-encodes, and the
// re-encoding decodes to the same value (same canonical bytes), also when
// carried in a frame.
func FuzzDecodeAPDU(f *testing.F) {
	for _, v := range loadVectors(f) {
		fr, _, err := DecodeFrame(v.raw)
		if err == nil && !fr.Control.Fragmented() {
			f.Add(fr.Data)
		}
	}
	for _, a := range append(roundTripAPDUs(), connectionAPDUs()...) {
		b, _ := EncodeAPDU(a)
		f.Add(b)
	}
	for _, v := range reportListVectors { // hand-written REPORT List vectors
		f.Add(mustHex(v.hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeAPDU(in)
		if err != nil {
			return
		}
		_ = DescribeAPDU(a)
		b, err := EncodeAPDU(a)
		if err != nil {
			t.Fatalf("re-encode %s: %v", a.Service(), err)
		}
		fr := Frame{Control: NewControl(true, true, false, false, FuncUserData), Addr: mustAddr("000000000001"), Data: b}
		raw, err := AppendFrame(nil, &fr)
		if err != nil {
			if len(b) > MaxFrameLen-20 {
				return
			}
			t.Fatal(err)
		}
		g, _, err := DecodeFrame(raw)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := DecodeAPDU(g.Data)
		if err != nil {
			t.Fatalf("decode re-encoded %X: %v", b, err)
		}
		b2, err := EncodeAPDU(a2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("second round trip differs:\n%X\n%X (%v)", b, b2, err)
		}
	})
}

// FuzzDeframer: never panics, and every frame it yields decodes cleanly,
// however the stream is split into reads.
func FuzzDeframer(f *testing.F) {
	vs := loadVectors(f)
	for i, v := range vs {
		stream := append([]byte{0x00, 0x68, 0xFE, 0xFE}, v.raw...)
		stream = append(stream, vs[(i+1)%len(vs)].raw...)
		f.Add(uint8(i+1), stream)
	}
	f.Fuzz(func(t *testing.T, chunk uint8, in []byte) {
		step := int(chunk%32) + 1
		var d Deframer
		total := 0
		for i := 0; i < len(in); i += step {
			d.Write(in[i:min(i+step, len(in))])
			for {
				fr, skipped, ok := d.Next()
				if !ok {
					break
				}
				total += len(fr) + skipped
				if _, n, err := DecodeFrame(fr); err != nil || n != len(fr) {
					t.Fatalf("deframer yielded %X: %v", fr, err)
				}
			}
		}
		if total+d.Buffered()+d.Skipped() > len(in) {
			t.Fatalf("accounted %d bytes of %d", total+d.Buffered()+d.Skipped(), len(in))
		}
	})
}

// FuzzDecodeData: never panics; a decoded value re-encodes to bytes that
// decode to the same value.
func FuzzDecodeData(f *testing.F) {
	b, _ := AppendData(nil, allData)
	f.Add(b)
	f.Add([]byte{0x01, 0x03, 0x12, 0x08, 0xC1, 0x12, 0, 0, 0x12, 0, 0})
	f.Add([]byte{0x04, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := DecodeData(in)
		if err != nil {
			return
		}
		b, err := AppendData(nil, d)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", d, err)
		}
		d2, err := DecodeData(b)
		if err != nil {
			t.Fatalf("decode re-encoded %X: %v", b, err)
		}
		b2, _ := AppendData(nil, d2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip differs: %X vs %X", b, b2)
		}
	})
}

// FuzzServeRequest: whatever a master sends the terminal — any APDU,
// plain or inside SECURITY-Request with any verification, decodable or
// not (an undecodable one as readLink passes it on) — never panics
// and, when it decodes as a request to this terminal, gets an answer:
// at once, or from the Server on the replies channel. No unauthenticated
// SET or ACTION ever reaches the Server.
func FuzzServeRequest(f *testing.F) {
	key, _ := NewHMACVerifier(testKey)
	for _, a := range append(roundTripAPDUs(), connectionAPDUs()...) {
		b, _ := EncodeAPDU(a)
		f.Add(b, uint8(0), false)
		f.Add(b, uint8(VerifyRNMAC), true)
		f.Add(b, uint8(VerifyRN), false)
	}
	f.Add(mustHex(connectVector), uint8(0), false)
	f.Fuzz(func(t *testing.T, apdu []byte, verify uint8, goodMAC bool) {
		a, err := DecodeAPDU(apdu)
		if err != nil {
			a = undecoded(apdu, err) // what readLink hands the session
		}
		if !isMasterRequest(a) {
			return
		}
		srv := &countingServer{}
		u, err := NewUplink(UplinkConfig{Master: "127.0.0.1:1", Addr: mustAddr("000000000322"), Server: srv,
			Security: SecurityConfig{Verifier: key}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := &uplinkState{}
		st.conn.relink()
		in := inbound{apdu: a, sa: mustAddr("000000000322")}
		authentic := false
		if verify <= VerifySID {
			rn := []byte("fuzzing random n")
			sr := &SecurityRequest{Payload: apdu, Verify: verify % 4, RN: rn, SID: SID{Tag: 1}}
			if sr.Verify == VerifyRNMAC || sr.Verify == VerifySIDMAC {
				sr.MAC = make([]byte, 32)
				if goodMAC {
					sr.MAC = key.RequestMAC(rn, apdu)
					authentic = sr.Verify == VerifyRNMAC
				}
			}
			in.apdu = sr
		}
		replies := make(chan outbound, 1)
		done := make(chan struct{})
		resp := u.handleRequest(context.Background(), st, link{}, in, replies, done)
		if resp == nil {
			select {
			case r := <-replies:
				resp = r.apdu
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no answer", a.Service())
			}
		}
		if resp == nil {
			t.Fatalf("%s: nil answer", a.Service())
		}
		if _, err := EncodeAPDU(resp); err != nil {
			t.Fatalf("%s: answer %s cannot be encoded: %v", a.Service(), resp.Service(), err)
		}
		if srv.writes.Load() > 0 && !authentic {
			t.Fatalf("%s: unauthenticated control reached the server", a.Service())
		}
		close(done)
		u.calls.Wait()
	})
}

// countingServer answers every GET with NULL and counts SETs and ACTIONs.
type countingServer struct{ writes atomic.Int32 }

func (s *countingServer) Get(context.Context, OAD) (Data, DAR) { return Null{}, DARSuccess }
func (s *countingServer) Set(context.Context, OAD, Data) DAR {
	s.writes.Add(1)
	return DARSuccess
}
func (s *countingServer) Action(context.Context, OMD, Data) (Data, DAR) {
	s.writes.Add(1)
	return nil, DARSuccess
}
