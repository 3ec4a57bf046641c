package sched

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// exchange occupies the owner for d, blocked as on a serial read; busy,
// if not nil, accumulates the time actually spent.
func exchange(d time.Duration, busy *atomic.Int64) func(context.Context) (Result, error) {
	return func(context.Context) (Result, error) {
		t0 := time.Now()
		if d > 0 {
			time.Sleep(d)
		}
		if busy != nil {
			busy.Add(int64(time.Since(t0)))
		}
		return Result{}, nil
	}
}

func p99(samples []time.Duration) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

func benchScheduler(b *testing.B, cfg Config) *Scheduler {
	b.Helper()
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return s
}

// controlLatencies issues n control ops, spaced by a random pause of up to
// 2×ctl, and returns their submit-to-result latencies.
func controlLatencies(s *Scheduler, n int, ctl time.Duration, rng *rand.Rand, busy *atomic.Int64) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	op := Op{Device: "switch", Class: Control, Integrity: Checked, Run: exchange(ctl, busy)}
	for range n {
		time.Sleep(time.Duration(rng.Int64N(int64(2 * ctl))))
		t0 := time.Now()
		if _, err := s.Do(context.Background(), op); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// BenchmarkControlUnderLoad measures the scheduler's cost per dispatched
// op (ns/op: a no-op exchange submitted and answered) and then control-op
// latency on an interface saturated by collection: ctl-p99-ratio is the
// p99 under load over the p99 unloaded. An exchange on the wire is never
// interrupted, so the bound is 1 + (collection exchange / control
// exchange); the sub-benchmarks set that ratio of exchange times.
func BenchmarkControlUnderLoad(b *testing.B) {
	const ctl = 2 * time.Millisecond
	for _, coll := range []time.Duration{ctl / 4, ctl / 2, ctl} {
		b.Run(fmt.Sprintf("coll=%dus,ctl=%dus", coll.Microseconds(), ctl.Microseconds()), func(b *testing.B) {
			s := benchScheduler(b, Config{Devices: []Device{{Name: "switch", Interface: "rs485"}, {Name: "meter", Interface: "rs485"}}})
			ctx := context.Background()
			noop := Op{Device: "meter", Class: Collection, Integrity: Checked, Run: func(context.Context) (Result, error) { return Result{}, nil }}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Do(ctx, noop); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()

			rng := rand.New(rand.NewPCG(7, 9))
			const samples = 400
			unloaded, err := controlLatencies(s, samples, ctl, rng, nil)
			if err != nil {
				b.Fatal(err)
			}
			// Saturate: more collection submitters than the bus can serve.
			lctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var busy atomic.Int64
			for range 4 {
				wg.Go(func() {
					op := Op{Device: "meter", Class: Collection, Integrity: Checked, Run: exchange(coll, &busy)}
					for lctx.Err() == nil {
						op.Deadline = time.Now().Add(10 * time.Millisecond)
						if _, err := s.Do(lctx, op); err != nil && !errors.Is(err, context.Canceled) {
							b.Error(err)
							return
						}
					}
				})
			}
			time.Sleep(10 * ctl) // let the queue fill
			busy.Store(0)
			t0 := time.Now()
			loaded, err := controlLatencies(s, samples, ctl, rng, &busy)
			elapsed := time.Since(t0)
			stop()
			wg.Wait()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(p99(loaded))/float64(p99(unloaded)), "ctl-p99-ratio")
			b.ReportMetric(float64(p99(unloaded).Microseconds()), "ctl-p99-unloaded-us")
			b.ReportMetric(float64(p99(loaded).Microseconds()), "ctl-p99-loaded-us")
			b.ReportMetric(100*float64(busy.Load())/float64(elapsed), "bus-busy-%")
		})
	}
}

// BenchmarkGateMainsOnly measures the power-fail edge to gated time: the
// duration of GateMainsOnly, after which no new exchange reaches a gated
// device, with eight interfaces whose owners are kept busy.
func BenchmarkGateMainsOnly(b *testing.B) {
	var devs []Device
	for i := range 8 {
		devs = append(devs, Device{Name: fmt.Sprint("d", i), Interface: fmt.Sprint("if", i), MainsOnly: i%2 == 0})
	}
	s := benchScheduler(b, Config{Devices: devs})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 1; i < 8; i += 2 {
		wg.Go(func() {
			op := Op{Device: fmt.Sprint("d", i), Class: Collection, Integrity: Checked, Run: exchange(50*time.Microsecond, nil)}
			for ctx.Err() == nil {
				_, _ = s.Do(ctx, op)
			}
		})
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Restore()
		t0 := time.Now()
		s.GateMainsOnly()
		d := time.Since(t0)
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
	}
	b.StopTimer()
	_, err := s.Do(context.Background(), Op{Device: "d0", Class: Control, Run: exchange(0, nil)})
	stop()
	wg.Wait()
	if !errors.Is(err, ErrGated) {
		b.Fatalf("after the gate: %v, want ErrGated", err)
	}
	b.ReportMetric(float64(p99(lat).Nanoseconds())/1e3, "p99-us")
}
