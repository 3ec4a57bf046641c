package dlt645

import (
	"encoding/hex"
	"testing"
)

var benchResp, _ = hex.DecodeString("FEFEFEFE684592662300106891063334343566556216")

func BenchmarkDecodeReadResponse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchResp)))
	for b.Loop() {
		f, _, err := Decode(benchResp)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.ReadResponse(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkEncodeRead(b *testing.B) {
	b.ReportAllocs()
	f := NewRead(Address{0x45, 0x92, 0x66, 0x23, 0x00, 0x10}, DIVoltageA)
	buf := make([]byte, 0, 64)
	for b.Loop() {
		var err error
		buf, err = f.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
