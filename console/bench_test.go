package console

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkInputGarbage measures how fast the console discards a flood of
// binary input, the worst a noisy serial line can send.
func BenchmarkInputGarbage(b *testing.B) {
	fd := &fakeDaemon{log: NewLogRing(4)}
	c, err := New(Options{State: fd, Actions: fd, Echo: true, CRLF: true})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = byte(rng.Uint32())
	}
	ctx := context.Background()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	out := 0
	for b.Loop() {
		c.input(ctx, io.Discard, chunk)
		out += c.out.Len()
		c.out.Reset()
	}
	b.ReportMetric(float64(out)/float64(b.N), "out-bytes/chunk")
}
