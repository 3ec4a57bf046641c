package proto698

import "testing"

// The frame-header path (DecodeFrame, AppendFrame into a reused buffer)
// must not allocate.
func TestHeaderPathAllocFree(t *testing.T) {
	var f Frame
	if n := testing.AllocsPerRun(100, func() { f, _, _ = DecodeFrame(voltageResponse) }); n != 0 {
		t.Errorf("DecodeFrame: %v allocs/op, want 0", n)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendFrame(buf[:0], &f) }); n != 0 {
		t.Errorf("AppendFrame: %v allocs/op, want 0", n)
	}
	// Including resynchronisation over false starts (0x68 in line noise).
	noisy := append([]byte{0x68, 0x05, 0x00, 0x43, 0x68, 0xFF, 0x68, 0x24, 0x00, 0xC3, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9}, voltageResponse...)
	var d Deframer
	d.Write(noisy)
	if n := testing.AllocsPerRun(100, func() {
		d.Write(noisy)
		if _, skipped, ok := d.Next(); !ok || skipped == 0 {
			t.Fatalf("deframer: ok=%v skipped=%d", ok, skipped)
		}
	}); n != 0 {
		t.Errorf("Deframer: %v allocs/op, want 0", n)
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		if _, _, err := DecodeFrame(voltageResponse); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFrameAndAPDU(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		f, _, err := DecodeFrame(voltageResponse)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeAPDU(f.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	f, _, _ := DecodeFrame(voltageResponse)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], &f)
	}
	b.ReportMetric(float64(len(buf)), "frame-bytes")
}

func BenchmarkEncodeFrameAndAPDU(b *testing.B) {
	f, _, _ := DecodeFrame(voltageResponse)
	a, _ := DecodeAPDU(f.Data)
	apdu := make([]byte, 0, 64)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(voltageResponse)))
	for b.Loop() {
		apdu, _ = AppendAPDU(apdu[:0], a)
		f.Data = apdu
		buf, _ = AppendFrame(buf[:0], &f)
	}
}

// BenchmarkDeframer measures stream deframing of the voltage frame behind
// a 4-byte FE preamble and 3 bytes of line noise, fed in 16-byte reads.
func BenchmarkDeframer(b *testing.B) {
	var stream []byte
	for range 64 {
		stream = append(stream, 0x00, 0x68, 0xFF, 0xFE, 0xFE, 0xFE, 0xFE)
		stream = append(stream, voltageResponse...)
	}
	var d Deframer
	frames := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		for i := 0; i < len(stream); i += 16 {
			d.Write(stream[i:min(i+16, len(stream))])
			for {
				if _, _, ok := d.Next(); !ok {
					break
				}
				frames++
			}
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
}
