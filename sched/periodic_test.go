package sched

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestPeriodicCollection(t *testing.T) {
	readings := make(chan Reading, 64)
	s, err := New(Config{
		Devices:   []Device{{Name: "ac", Interface: "ttyS1", MainsOnly: true}, {Name: "m", Interface: "rs485"}},
		OnReading: func(r Reading) { readings <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	var acRuns, tempRuns, energyRuns atomic.Int64
	counter := func(n *atomic.Int64) func(context.Context) (Result, error) {
		return func(context.Context) (Result, error) { return Result{Value: float64(n.Add(1))}, nil }
	}
	const period = 5 * time.Millisecond
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Collect(Op{Device: "ac", Point: "voltage", Class: Collection, Integrity: Checked, Run: counter(&acRuns)}, period, 0))
	must(s.Collect(Op{Device: "m", Point: "temp", Class: Collection, Integrity: Unchecked, Run: counter(&tempRuns)}, period, 0))
	must(s.Collect(Op{Device: "m", Point: "energy", Class: Collection, Integrity: Checked, Run: counter(&energyRuns)}, period, 0))
	if err := s.Collect(Op{Device: "m", Point: "x", Class: Control, Run: counter(&energyRuns)}, period, 0); err == nil {
		t.Error("periodic control accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// Each point is read, repeatedly, with successive values.
	last := map[string]float64{}
	for len(last) < 3 || last["ac/voltage"] < 3 || last["m/temp"] < 3 || last["m/energy"] < 3 {
		r := <-readings
		k := r.Device + "/" + r.Point
		if r.Invalid || r.Value != last[k]+1 {
			t.Fatalf("%s: reading %+v after %v", k, r, last[k])
		}
		last[k] = r.Value
	}

	s.GateMainsOnly()
	// Wait until the owners acted on the outage, then for three more
	// energy readings: meanwhile the gated and unchecked points must not run.
	if _, err := s.Latest(ctx, "ac", "voltage"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Latest(ctx, "m", "temp"); err != nil {
		t.Fatal(err)
	}
	ac0, temp0, e0 := acRuns.Load(), tempRuns.Load(), energyRuns.Load()
	for energyRuns.Load() < e0+3 {
		<-readings
	}
	if acRuns.Load() != ac0 || tempRuns.Load() != temp0 {
		t.Fatalf("during outage: ac ran %d→%d, temp ran %d→%d", ac0, acRuns.Load(), temp0, tempRuns.Load())
	}
	st, _ := s.Stats("rs485")
	if st.Dropped == 0 {
		t.Error("no periodic unchecked collection counted as dropped")
	}
}

func TestPeriodicOverrun(t *testing.T) {
	s, err := New(Config{Devices: []Device{{Name: "m", Interface: "rs485"}}})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	if err := s.Collect(Op{Device: "m", Point: "slow", Class: Collection, Run: func(context.Context) (Result, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return Result{}, nil
	}}, time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Collect(Op{Device: "m", Point: "other", Class: Collection, Run: func(context.Context) (Result, error) { return Result{}, nil }}, time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-started
	// "slow" (registered first) runs first; "other" waits queued behind
	// it. Once the slow exchange ends after several periods, the owner
	// finds "other" due again while still queued: an overrun, not a
	// second copy in the queue.
	time.Sleep(10 * time.Millisecond)
	if st, _ := s.Stats("rs485"); st.Overruns != 0 || st.Dispatched != 0 {
		t.Fatalf("while blocked: %+v", st)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := s.Stats("rs485")
		if st.Overruns > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no overrun counted: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}
