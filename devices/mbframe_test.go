package devices

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

type vector struct {
	frame     []byte
	direction string
	meaning   string
}

func loadVectors(t testing.TB, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		b, err := hex.DecodeString(strings.ReplaceAll(cols[0], " ", ""))
		if err != nil {
			t.Fatalf("%s: %q: %v", path, cols[0], err)
		}
		vs = append(vs, vector{b, cols[1], cols[2]})
	}
	return vs
}

// The public vectors carry correct CRCs: our CRC reproduces every one,
// and appending it to the body re-encodes the frame byte for byte.
func TestCRCPublicVectors(t *testing.T) {
	vs := loadVectors(t, "testdata/modbus_rtu.tsv")
	if len(vs) < 5 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		body := v.frame[:len(v.frame)-2]
		if got := appendCRC(append([]byte(nil), body...)); string(got) != string(v.frame) {
			t.Errorf("%s: re-encoded % X, want % X", v.meaning, got, v.frame)
		}
	}
}

// Request vectors predict the answer length; response vectors verify
// against the request they answer.
func TestResponseLengthAndCheck(t *testing.T) {
	vs := loadVectors(t, "testdata/modbus_rtu.tsv")
	req03, resp03, req01, resp01 := vs[0].frame, vs[1].frame, vs[2].frame, vs[3].frame
	if got := 1 + responsePDULen(req03[1:len(req03)-2]) + 2; got != len(resp03) {
		t.Errorf("fc3 answer length %d, want %d (%s)", got, len(resp03), vs[1].meaning)
	}
	if got := 1 + responsePDULen(req01[1:len(req01)-2]) + 2; got != len(resp01) {
		t.Errorf("fc1 answer length %d, want %d (%s)", got, len(resp01), vs[3].meaning)
	}
	if err := checkRTUFrame(resp03, 0x11, 3, len(resp03)); err != nil {
		t.Errorf("good fc3 answer: %v", err)
	}
	if w := unpackWords(resp03[3 : len(resp03)-2]); w[0] != 0xAE41 || w[1] != 0x5652 || w[2] != 0x4340 {
		t.Errorf("fc3 registers %04X", w)
	}
	bits := unpackBits(resp01[3:len(resp01)-2], 37)
	// 0xCD = 1100 1101: coils 20..27 read LSB first: 1 0 1 1 0 0 1 1.
	want := []bool{true, false, true, true, false, false, true, true}
	for i, b := range want {
		if bits[i] != b {
			t.Errorf("coil %d = %v, want %v", 20+i, bits[i], b)
		}
	}

	exc := appendCRC([]byte{0x11, 0x83, 0x02})
	corrupt := append([]byte(nil), resp03...)
	corrupt[4] ^= 0x01
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"exception answer", exc, nil},
		{"checksum", corrupt, ErrChecksumMismatch},
		{"truncated", resp03[:len(resp03)-1], ErrLengthMismatch},
		{"extra byte", append(append([]byte(nil), resp03...), 0), ErrLengthMismatch},
		{"too short", []byte{0x11, 0x03}, ErrLengthMismatch},
		{"wrong unit", appendCRC([]byte{0x12, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40}), ErrLengthMismatch},
	}
	for _, tc := range tests {
		err := checkRTUFrame(tc.frame, 0x11, 3, len(resp03))
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzCheckRTUFrame: the answer checker never panics, and whatever it
// accepts has a valid CRC and the asked unit and function.
func FuzzCheckRTUFrame(f *testing.F) {
	for _, v := range loadVectors(f, "testdata/modbus_rtu.tsv") {
		f.Add(v.frame, byte(0x11), byte(3), 11)
	}
	f.Fuzz(func(t *testing.T, frame []byte, unit, fc byte, want int) {
		if err := checkRTUFrame(frame, unit, fc, want); err == nil {
			n := len(frame)
			if n < 4 || crc16(frame[:n-2]) != frameCRC(frame) || frame[0] != unit || (frame[1] != fc && frame[1] != fc|0x80) {
				t.Fatalf("accepted bad frame % X", frame)
			}
		} else if Classify(err) != OutcomeLengthMismatch && Classify(err) != OutcomeChecksumMismatch {
			t.Fatalf("rejection %v classified %v", err, Classify(err))
		}
	})
}

// FuzzCheckTCPFrame: the Modbus TCP answer checker never panics on any
// answer to a valid request, and what it accepts echoes the request's
// transaction id, protocol 0, unit and function (or its exception).
func FuzzCheckTCPFrame(f *testing.F) {
	req := []byte{0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03}
	f.Add([]byte{0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x11, 0x03, 0x06, 0xAE, 0x41, 0x56, 0x52, 0x43, 0x40})
	f.Add([]byte{0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x11, 0x83, 0x02})
	f.Add([]byte{0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x11, 0x83, 0x02})
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < mbapLen+1 {
			return // Send never passes shorter frames
		}
		err := checkTCPFrame(frame, req)
		if err != nil {
			if Classify(err) != OutcomeLengthMismatch {
				t.Fatalf("rejection %v classified %v", err, Classify(err))
			}
			return
		}
		if frame[0] != 0 || frame[1] != 1 || frame[2] != 0 || frame[3] != 0 || frame[6] != 0x11 {
			t.Fatalf("accepted foreign header % X", frame[:7])
		}
		switch frame[7] {
		case 0x03:
			if len(frame) != mbapLen+2+6 {
				t.Fatalf("accepted fc3 answer of %d bytes", len(frame))
			}
		case 0x83:
			if len(frame) != mbapLen+2 {
				t.Fatalf("accepted exception of %d bytes", len(frame))
			}
		default:
			t.Fatalf("accepted function %02X", frame[7])
		}
	})
}

// FuzzSimSlave: the simulated slave's request decoder never panics, stays
// silent on anything without a valid CRC and address, and every answer it
// gives is a well-formed frame for the request.
func FuzzSimSlave(f *testing.F) {
	for _, v := range loadVectors(f, "testdata/modbus_rtu.tsv") {
		if v.direction == "request" {
			f.Add(v.frame)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewSimSlave(0x11, 300, 0)
		buf := in
		for {
			frame, rest, ok := splitRequest(buf)
			if !ok {
				return
			}
			buf = rest
			ans := s.handle(frame)
			valid := len(frame) >= 4 && crc16(frame[:len(frame)-2]) == frameCRC(frame) && frame[0] == 0x11
			if ans == nil {
				if valid {
					t.Fatalf("silent on valid frame % X", frame)
				}
				continue
			}
			if !valid {
				t.Fatalf("answered invalid frame % X", frame)
			}
			want := 0
			if n := responsePDULen(frame[1 : len(frame)-2]); n > 0 {
				want = 1 + n + 2
			}
			if err := checkRTUFrame(ans, 0x11, frame[1], want); err != nil {
				t.Fatalf("answer % X to % X: %v", ans, frame, err)
			}
		}
	})
}
