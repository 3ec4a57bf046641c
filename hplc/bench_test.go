package hplc

import "testing"

var benchMonitor = mustHexT("682F00410500C800000E888888999904043300000000130100020000106804330000000068110434343445FD165716")

func BenchmarkDecodeMonitor(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMonitor)))
	for b.Loop() {
		f, _, err := Decode(benchMonitor)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Payload(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkDecodeHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(benchMonitor); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkEncodeMonitor(b *testing.B) {
	b.ReportAllocs()
	f, _, err := Decode(benchMonitor)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 128)
	for b.Loop() {
		buf, err = f.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
