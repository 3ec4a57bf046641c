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
	var d Deframer
	d.Write(voltageResponse)
	if n := testing.AllocsPerRun(100, func() {
		d.Write(voltageResponse)
		d.Next()
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
