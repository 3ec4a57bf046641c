package proto698

import (
	"bytes"
	"testing"
)

func TestDeframerResync(t *testing.T) {
	vs := loadVectors(t)
	a, b := vs[0].raw, vs[3].raw
	// A false start: 0x68 followed by bytes whose HCS cannot match.
	falseStart := []byte{0x68, 0x10, 0x00, 0x43, 0x05, 1, 2, 3, 4, 5, 6, 0, 0x11, 0x22}
	// A frame with a broken FCS: header good, body corrupt.
	broken := bytes.Clone(b)
	broken[len(broken)-3] ^= 0xFF
	var stream []byte
	stream = append(stream, 0x01, 0x02, 0x03)       // 3 garbage
	stream = append(stream, 0xFE, 0xFE, 0xFE, 0xFE) // preamble, not counted
	stream = append(stream, a...)                   // frame 1
	stream = append(stream, falseStart...)          // 14 garbage
	stream = append(stream, broken...)              // len(b) garbage
	stream = append(stream, 0xFE, 0xFE)             // preamble
	stream = append(stream, b...)                   // frame 2
	stream = append(stream, 0x68, 0x24)             // incomplete tail
	want := []struct {
		frame   []byte
		skipped int
	}{{a, 3}, {b, len(falseStart) + len(broken)}}

	// Feed in every chunk size: the result must not depend on how reads split.
	for chunk := 1; chunk <= len(stream); chunk += 7 {
		var d Deframer
		var got [][]byte
		var skipped []int
		for i := 0; i < len(stream); i += chunk {
			d.Write(stream[i:min(i+chunk, len(stream))])
			for {
				f, s, ok := d.Next()
				if !ok {
					break
				}
				got = append(got, bytes.Clone(f))
				skipped = append(skipped, s)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i].frame) {
				t.Errorf("chunk %d frame %d = %X", chunk, i, got[i])
			}
			wantEq(t, "skipped", skipped[i], want[i].skipped)
		}
		wantEq(t, "buffered tail", d.Buffered(), 2)
	}
}

func TestDeframerMaxFrame(t *testing.T) {
	d := Deframer{MaxFrame: 20}
	d.Write(voltageResponse) // 38 bytes: too long for this link
	if _, _, ok := d.Next(); ok {
		t.Fatal("oversized frame accepted")
	}
	if d.Skipped() == 0 {
		t.Error("oversized frame not counted as skipped")
	}
}

// A header announcing a long frame holds the deframer until Expire (the
// link's inter-byte timeout): then the false start is dropped and the
// frames it had swallowed come out.
func TestDeframerExpire(t *testing.T) {
	vs := loadVectors(t)
	a, b := vs[0].raw, vs[3].raw
	// A valid header (HCS right) announcing 16 KB, from a real frame's
	// header with the length field raised.
	f, _, err := DecodeFrame(a)
	if err != nil {
		t.Fatal(err)
	}
	f.Data = make([]byte, 16000)
	long, err := AppendFrame(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	hdr := long[:f.headerLen()]
	tests := []struct {
		name    string
		stream  []byte
		frames  [][]byte // from Expire
		dropped int
	}{
		{"empty", nil, nil, 0},
		{"header only", hdr, nil, len(hdr)},
		{"header swallows two frames", cat(hdr, a, []byte{0xFE, 0xFE}, b), [][]byte{a, b}, len(hdr)},
		{"garbage then half a frame", cat([]byte{1, 2, 3}, a[:len(a)/2]), nil, 3 + len(a)/2},
		{"frame, header, trailing garbage", cat(hdr, a, []byte{9, 9}), [][]byte{a}, len(hdr) + 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Deframer
			d.Write(tc.stream)
			if raw, _, ok := d.Next(); ok {
				t.Fatalf("Next returned %X before the timeout", raw)
			}
			var got [][]byte
			dropped := d.Expire(func(raw []byte) { got = append(got, bytes.Clone(raw)) })
			wantEq(t, "dropped", dropped, tc.dropped)
			wantEq(t, "frames", len(got), len(tc.frames))
			for i := range min(len(got), len(tc.frames)) {
				if !bytes.Equal(got[i], tc.frames[i]) {
					t.Errorf("frame %d = %X, want %X", i, got[i], tc.frames[i])
				}
			}
			wantEq(t, "buffered after", d.Buffered(), 0)
			// The link goes on with the next frame.
			d.Write(b)
			raw, skipped, ok := d.Next()
			if !ok || !bytes.Equal(raw, b) || skipped != 0 {
				t.Errorf("next frame after Expire: ok %v skipped %d %X", ok, skipped, raw)
			}
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
