package power

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkEdgeToGate measures a simulated power-fail edge to the gate's
// GateMainsOnly call: SimLine.Set → Monitor.Edge → Gate, the path that must
// shed mains-only IO within the target of 1 ms (p99).
func BenchmarkEdgeToGate(b *testing.B) {
	gate := &fakeGate{}
	deps := newHarness(b).deps
	deps.Gate = gate
	deps.Clock = RealClock{}
	deps.Logger = nil
	m, err := NewMonitor(Config{}, deps)
	if err != nil {
		b.Fatal(err)
	}
	line, err := NewSimLine(SimLineConfig{Initial: 1}, RealClock{}, m.Edge)
	if err != nil {
		b.Fatal(err)
	}
	defer line.Close()
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := line.Fail(); err != nil {
			b.Fatal(err)
		}
		gate.mu.Lock()
		lat[i] = gate.at.Sub(start)
		gate.mu.Unlock()
		b.StopTimer()
		if err := line.Restore(); err != nil {
			b.Fatal(err)
		}
		m.ungate()
		b.StartTimer()
	}
	b.StopTimer()
	if gated, misuse := gate.state(); gated || misuse != 0 {
		b.Fatalf("gate left gated=%v misuse=%d", gated, misuse)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-us")
	b.ReportMetric(pct(0.99), "p99-us")
	b.ReportMetric(pct(1), "max-us")
}
