package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
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

// arrayDoc is the minimal file with an array of n elements (elem(i) each,
// all on one line) under an unknown [sim] key: Parse scans, decodes and
// reports it like any other value.
func arrayDoc(n int, elem func(i int) string) []byte {
	var b strings.Builder
	b.WriteString(minimal + "\n[sim]\nbulk = [")
	for i := range n {
		b.WriteString(elem(i))
		b.WriteString(", ")
	}
	b.WriteString("\n]\n")
	return []byte(b.String())
}

// BenchmarkParseArray: parsing is linear in an array's length (issue 14:
// 160k elements took 21 s, the line lookup rescanning the file from its
// start for every element). Each iteration parses a 1k-element array 100
// times and a 100k-element array once; ns/elem-1k and ns/elem-100k must
// match, and ratio (100k over 1k) stay near 1 (it was over 100 for inline
// tables).
func BenchmarkParseArray(b *testing.B) {
	for _, kind := range []struct {
		name string
		elem func(i int) string
	}{
		{"ints", func(i int) string { return strconv.Itoa(i % 1000) }},
		{"tables", func(i int) string { return "{a = " + strconv.Itoa(i%1000) + "}" }},
	} {
		b.Run(kind.name, func(b *testing.B) {
			small, large := arrayDoc(1_000, kind.elem), arrayDoc(100_000, kind.elem)
			parse := func(data []byte) time.Duration {
				start := time.Now()
				if _, err := Parse(data, "bulk.toml"); err == nil {
					b.Fatal("unknown key accepted")
				}
				return time.Since(start)
			}
			var tSmall, tLarge time.Duration
			for b.Loop() {
				for range 100 {
					tSmall += parse(small)
				}
				tLarge += parse(large)
			}
			perSmall := float64(tSmall.Nanoseconds()) / float64(b.N*100*1_000)
			perLarge := float64(tLarge.Nanoseconds()) / float64(b.N*100_000)
			b.ReportMetric(perSmall, "ns/elem-1k")
			b.ReportMetric(perLarge, "ns/elem-100k")
			b.ReportMetric(perLarge/perSmall, "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
