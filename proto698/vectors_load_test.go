package proto698

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

type vector struct {
	line    int
	raw     []byte
	dir     string
	meaning string
}

// loadVectors reads testdata/dlt698.tsv (copied from shared/vectors).
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/dlt698.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			tb.Fatalf("dlt698.tsv:%d: %d columns", line, len(cols))
		}
		b, err := hex.DecodeString(cols[0])
		if err != nil {
			tb.Fatalf("dlt698.tsv:%d: %v", line, err)
		}
		out = append(out, vector{line, b, cols[1], cols[2]})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
