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

// exchange occupies the owner for d, blocked in the kernel as on a serial
// read (see blockFor; Go's own timers may fire up to a millisecond late on
// an idle machine, which would stretch every exchange), and, if busy is
// not nil, adds the time spent to it and counts the exchange in n.
func exchange(d time.Duration, busy, n *atomic.Int64) func(context.Context) (Result, error) {
	return func(context.Context) (Result, error) {
		t0 := time.Now()
		blockFor(d)
		if busy != nil {
			busy.Add(int64(time.Since(t0)))
			n.Add(1)
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

// controlLatencies issues n ops like op, spaced by a random pause of up to
// 2×ctl, and returns their submit-to-result latencies. A collection op is
// given the load's deadline rule, so it takes its turn in arrival order.
func controlLatencies(s *Scheduler, op Op, n int, ctl time.Duration, rng *rand.Rand) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for range n {
		blockFor(time.Duration(rng.Int64N(int64(2 * ctl))))
		t0 := time.Now()
		if op.Class == Collection {
			op.Deadline = t0.Add(10 * ctl) // as the load's: first come, first served
		}
		if _, err := s.Do(context.Background(), op); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// underLoad runs probe n times while four submitters keep the meter's
// collection queue full with exchanges of coll, and returns the probe's
// latencies, the share of the time the bus was busy, and the mean length
// of a collection exchange as it actually ran.
func underLoad(b *testing.B, s *Scheduler, probe Op, n int, ctl, coll time.Duration, rng *rand.Rand) ([]time.Duration, float64, time.Duration) {
	sameBus := s.devices[probe.Device].owner == s.devices["meter"].owner
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var busy, exchanges atomic.Int64
	for range 4 {
		wg.Go(func() {
			op := Op{Device: "meter", Point: "load", Class: Collection, Integrity: Checked, Run: exchange(coll, &busy, &exchanges)}
			for ctx.Err() == nil {
				op.Deadline = time.Now().Add(10 * ctl)
				if _, err := s.Do(ctx, op); err != nil && !errors.Is(err, context.Canceled) {
					b.Error(err)
					return
				}
			}
		})
	}
	time.Sleep(10 * ctl) // let the queue fill
	var probeBusy atomic.Int64
	run := probe.Run
	probe.Run = func(ctx context.Context) (Result, error) {
		t0 := time.Now()
		defer func() { probeBusy.Add(int64(time.Since(t0))) }()
		return run(ctx)
	}
	busy.Store(0)
	exchanges.Store(0)
	t0 := time.Now()
	lat, err := controlLatencies(s, probe, n, ctl, rng)
	elapsed := time.Since(t0)
	stop()
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	busyNs, count := busy.Load(), max(exchanges.Load(), 1)
	mean := time.Duration(busyNs / count)
	if sameBus {
		busyNs += probeBusy.Load()
	}
	return lat, 100 * float64(busyNs) / float64(elapsed), mean
}

// BenchmarkControlUnderLoad measures the scheduler's cost per dispatched
// op (ns/op: a no-op exchange submitted and answered) and then control-op
// latency on an interface saturated by collection: ctl-p99-ratio is the
// p99 under load over the p99 unloaded.
//
// The physical limit: an exchange on a half-duplex bus cannot be
// interrupted (the slave answers whatever was asked), so a control op that
// arrives during a collection exchange waits for its remainder; the p99
// cannot be below about ctl + coll, a ratio of 1 + coll/ctl. bound-ratio
// is that limit from the exchange lengths as they ran (p99 unloaded and
// the mean collection exchange), and wait-p99-coll the p99 extra wait in
// units of one collection exchange: 1 is the limit, anything above it is
// the scheduler's own delay. fifo-p99-ratio is the baseline in the same
// process: the same control exchange submitted as collection, so it
// queues behind the others as a first-come bus would make it.
//
// The sub-benchmarks set coll/ctl on a shared bus: ¼ and ½ are a control
// write against short collection reads (a Modbus FC16 setpoint write of two
// registers is 25 bytes on the wire, a one-register read 15; an FC05 coil
// write is 16, so a coil on a bus of reads sits near 1, where the limit is
// 2). switch-on=gpio is a switch output on its own interface — the
// terminal's relay lines — which collection on RS-485 cannot delay: one
// owner per physical interface.
func BenchmarkControlUnderLoad(b *testing.B) {
	const ctl = 2 * time.Millisecond
	for _, tc := range []struct {
		coll  time.Duration
		iface string // the switch's interface
	}{{ctl / 4, "rs485"}, {ctl / 2, "rs485"}, {ctl, "rs485"}, {ctl, "gpio"}} {
		coll := tc.coll
		b.Run(fmt.Sprintf("coll=%dus,ctl=%dus,switch-on=%s", coll.Microseconds(), ctl.Microseconds(), tc.iface), func(b *testing.B) {
			s := benchScheduler(b, Config{Devices: []Device{{Name: "switch", Interface: tc.iface}, {Name: "meter", Interface: "rs485"}}})
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
			control := Op{Device: "switch", Point: "relay", Class: Control, Integrity: Checked, Run: exchange(ctl, nil, nil)}
			unloaded, err := controlLatencies(s, control, samples, ctl, rng)
			if err != nil {
				b.Fatal(err)
			}
			loaded, busy, collRan := underLoad(b, s, control, samples, ctl, coll, rng)
			// Baseline: the same exchange without control's place, due
			// after everything already queued.
			fifo := control
			fifo.Class = Collection
			queued, _, _ := underLoad(b, s, fifo, samples/4, ctl, coll, rng)

			if testing.Verbose() {
				q := slices.Clone(loaded)
				slices.Sort(q)
				b.Logf("loaded p50 %v p90 %v p95 %v p99 %v max %v", q[len(q)/2], q[len(q)*9/10], q[len(q)*95/100], q[len(q)*99/100], q[len(q)-1])
			}
			pu, pl := p99(unloaded), p99(loaded)
			b.ReportMetric(float64(pl)/float64(pu), "ctl-p99-ratio")
			bound := 1 + float64(collRan)/float64(pu)
			if tc.iface != "rs485" {
				bound = 1 // nothing shares the switch's interface
			}
			b.ReportMetric(bound, "bound-ratio")
			b.ReportMetric(float64(pl-pu)/float64(collRan), "wait-p99-coll")
			b.ReportMetric(float64(p99(queued))/float64(pu), "fifo-p99-ratio")
			b.ReportMetric(float64(pu.Microseconds()), "ctl-p99-unloaded-us")
			b.ReportMetric(float64(pl.Microseconds()), "ctl-p99-loaded-us")
			b.ReportMetric(busy, "bus-busy-%")
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
			op := Op{Device: fmt.Sprint("d", i), Class: Collection, Integrity: Checked, Run: exchange(50*time.Microsecond, nil, nil)}
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
	_, err := s.Do(context.Background(), Op{Device: "d0", Class: Control, Run: exchange(0, nil, nil)})
	stop()
	wg.Wait()
	if !errors.Is(err, ErrGated) {
		b.Fatalf("after the gate: %v, want ErrGated", err)
	}
	b.ReportMetric(float64(p99(lat).Nanoseconds())/1e3, "p99-us")
}
