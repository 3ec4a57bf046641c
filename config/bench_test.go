package config

import (
	"os"
	"testing"
)

// BenchmarkParseExample measures validating the deploy example, the work
// `holdup run` and `check-config` do once at start-up.
func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile("../deploy/holdup.toml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "holdup.toml"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/file")
}
