package proto698

import (
	"bytes"
	"context"
	"errors"
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
// however the stream is split into reads and wherever the inter-byte
// timeout expires a partial frame (expire: bit i%64 set expires after
// read i); Expire leaves it empty, and no byte is accounted twice.
func FuzzDeframer(f *testing.F) {
	vs := loadVectors(f)
	for i, v := range vs {
		stream := append([]byte{0x00, 0x68, 0xFE, 0xFE}, v.raw...)
		stream = append(stream, vs[(i+1)%len(vs)].raw...)
		f.Add(uint8(i+1), uint64(0), stream)
		f.Add(uint8(i+1), uint64(1)<<(i%8), stream)
	}
	// A false header swallowing a whole frame, then silence.
	f.Add(uint8(64), uint64(1), append([]byte{0x68, 0xFF, 0x3F}, vs[0].raw...))
	f.Fuzz(func(t *testing.T, chunk uint8, expire uint64, in []byte) {
		step := int(chunk%32) + 1
		var d Deframer
		total := 0
		check := func(fr []byte) {
			if _, n, err := DecodeFrame(fr); err != nil || n != len(fr) {
				t.Fatalf("deframer yielded %X: %v", fr, err)
			}
			total += len(fr)
		}
		for i, read := 0, 0; i < len(in); i, read = i+step, read+1 {
			d.Write(in[i:min(i+step, len(in))])
			for {
				fr, skipped, ok := d.Next()
				if !ok {
					break
				}
				total += skipped
				check(fr)
			}
			if expire&(1<<(read%64)) != 0 {
				total += d.Expire(check)
				if d.Buffered() != 0 || d.Skipped() != 0 {
					t.Fatalf("after Expire: %d bytes buffered, %d skipped", d.Buffered(), d.Skipped())
				}
			}
		}
		if total+d.Buffered()+d.Skipped() > len(in) {
			t.Fatalf("accounted %d bytes of %d", total+d.Buffered()+d.Skipped(), len(in))
		}
	})
}

// FuzzReassembler: any sequence of fragment headers and bodies (each op
// in the input: a 2-byte header word, a body length byte, the body)
// never panics, and an APDU returned is exactly the bodies of the
// fragments taken since a start, in order, with consecutive sequence
// numbers (never one after a gap, never longer than the bodies given,
// never above MaxAPDU); a repeated fragment changes nothing.
func FuzzReassembler(f *testing.F) {
	op := func(seq uint16, t FragType, body string) []byte {
		w := FragmentHeader{Seq: seq, Type: t}.word()
		return append([]byte{byte(w), byte(w >> 8), byte(len(body))}, body...)
	}
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	f.Add(uint8(0), cat(op(7, FragStart, "ab"), op(8, FragMiddle, "cd"), op(9, FragLast, "e")))
	f.Add(uint8(0), cat(op(7, FragStart, "ab"), op(7, FragStart, "ab"), op(8, FragMiddle, "cd"), op(8, FragMiddle, "cd"), op(9, FragLast, "e"), op(9, FragLast, "e")))
	f.Add(uint8(0), cat(op(7, FragStart, "ab"), op(9, FragLast, "e")))
	f.Add(uint8(4), cat(op(4095, FragStart, "abc"), op(0, FragLast, "de")))
	f.Add(uint8(0), cat(op(1, FragLast, "x"), op(1, FragConfirm, ""), op(2, FragStart, ""), op(3, FragLast, "")))
	f.Fuzz(func(t *testing.T, limit uint8, in []byte) {
		r := Reassembler{MaxAPDU: int(limit)}
		max := r.MaxAPDU
		if max <= 0 {
			max = 64 << 10
		}
		var want []byte            // the bodies taken since the last start
		var taken []FragmentHeader // and their headers
		given := 0
		for len(in) >= 3 {
			h := fragmentFromWord(uint16(in[0]) | uint16(in[1])<<8)
			n := min(int(in[2]), len(in)-3)
			body := in[3 : 3+n]
			in = in[3+n:]
			given += n
			apdu, done, err := r.Add(h, body)
			switch {
			case errors.Is(err, ErrRepeatedFragment):
				if apdu != nil || done {
					t.Fatalf("repeat %+v returned %X, %v", h, apdu, done)
				}
				continue
			case err != nil:
				if apdu != nil || done {
					t.Fatalf("error %v with %X, %v", err, apdu, done)
				}
				want, taken = nil, nil // a gap or an overflow drops the partial APDU
				continue
			}
			if h.Type == FragStart {
				want, taken = nil, nil
			}
			want = append(want, body...)
			taken = append(taken, h)
			if !done {
				if apdu != nil {
					t.Fatalf("%X returned before the last fragment", apdu)
				}
				continue
			}
			if !bytes.Equal(apdu, want) {
				t.Fatalf("APDU %X, want the bodies taken %X", apdu, want)
			}
			if len(apdu) > given || len(apdu) > max {
				t.Fatalf("APDU of %d bytes from %d given, limit %d", len(apdu), given, max)
			}
			if taken[0].Type != FragStart || taken[len(taken)-1].Type != FragLast {
				t.Fatalf("APDU from fragments %+v", taken)
			}
			for i := 1; i < len(taken); i++ {
				if taken[i].Seq != (taken[i-1].Seq+1)&0x0FFF || (i < len(taken)-1 && taken[i].Type != FragMiddle) {
					t.Fatalf("APDU across a gap: %+v", taken)
				}
			}
			want, taken = nil, nil
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
