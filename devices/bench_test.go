package devices_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"holdup/devices"
	"holdup/sched"
)

func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// BenchmarkControlUnderLoadRTU is BenchmarkControlUnderLoad (sched) on a
// real RTU bus: the Modbus driver over a pty to the simulated slave, which
// times its answers for 115200 baud. Control writes a coil (8+8 bytes);
// collection reads two holding registers (8+9 bytes). Above 19,200 baud
// the Modbus spec fixes t3.5 at 1.75 ms, longer than either frame, so a
// control op behind a collection waits for the rest of that exchange and
// then for the silence before its own request: bound-ratio is that limit,
// 1 + (collection op incl. its t3.5 + t3.5) / control p99 unloaded, and
// wait-p99-coll the p99 extra wait in units of that (1: the limit). ns/op
// is one collection exchange through scheduler, driver and pty.
func BenchmarkControlUnderLoadRTU(b *testing.B) {
	sim := devices.NewSimSlave(1, 100, 115200)
	port := devices.StartSimPTYB(b, sim)
	d := devices.Device{Name: "m", Driver: devices.DriverModbusRTU, Port: port, Baud: 115200, DataBits: 8, Parity: "N", StopBits: 1, Unit: 1,
		Points: []devices.Point{
			{Name: "breaker", Class: devices.ClassControl, Kind: devices.KindCoil, Register: 1},
			{Name: "energy", Class: devices.ClassCollection, Kind: devices.KindHolding, Type: devices.TypeU32, Register: 10},
		}}
	set, err := devices.OpenAll([]devices.Device{d}, devices.Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer set.Close()
	drv := set.Drivers["m"]
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "m", Interface: devices.InterfaceOf(d)}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	ctlPoint, _ := d.Point("breaker")
	collPoint, _ := d.Point("energy")
	ctl := sched.Op{Device: "m", Point: "breaker", Class: sched.Control, Run: func(ctx context.Context) (sched.Result, error) {
		_, err := drv.Write(ctx, ctlPoint, 1)
		return sched.Result{}, err
	}}
	var (
		mu      sync.Mutex
		collLen []time.Duration
	)
	coll := sched.Op{Device: "m", Point: "energy", Class: sched.Collection, Run: func(ctx context.Context) (sched.Result, error) {
		t0 := time.Now()
		s, err := drv.Read(ctx, collPoint)
		mu.Lock()
		collLen = append(collLen, time.Since(t0))
		mu.Unlock()
		return sched.Result{Value: s.Value}, err
	}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Do(ctx, coll); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()

	rng := rand.New(rand.NewPCG(3, 4))
	measure := func(n int) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for range n {
			time.Sleep(time.Duration(rng.Int64N(int64(4 * time.Millisecond))))
			t0 := time.Now()
			if _, err := s.Do(ctx, ctl); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		return lat
	}
	const samples = 400
	unloaded := measure(samples)
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for lctx.Err() == nil {
				if _, err := s.Do(lctx, coll); err != nil && !errors.Is(err, context.Canceled) {
					b.Error(err)
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	collLen = collLen[:0] // the loaded phase's exchanges only
	mu.Unlock()
	loaded := measure(samples)
	stop()
	wg.Wait()
	mu.Lock()
	collP99 := p99(collLen)
	mu.Unlock()
	pu, pl := p99(unloaded), p99(loaded)
	limit := collP99 + devices.InterFrameGap(d)
	b.ReportMetric(float64(pl)/float64(pu), "ctl-p99-ratio")
	b.ReportMetric(1+float64(limit)/float64(pu), "bound-ratio")
	b.ReportMetric(float64(pl-pu)/float64(limit), "wait-p99-coll")
	b.ReportMetric(float64(p99(unloaded).Microseconds()), "ctl-p99-unloaded-us")
	b.ReportMetric(float64(p99(loaded).Microseconds()), "ctl-p99-loaded-us")
}
