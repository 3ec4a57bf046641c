package sched_test

import (
	"context"
	"errors"
	"fmt"

	"holdup/sched"
)

func Example() {
	s, err := sched.New(sched.Config{
		Devices: []sched.Device{
			{Name: "hplc", Interface: "/dev/ttyS2", MainsOnly: true},
			{Name: "meter", Interface: "/dev/ttyS1", DrawMW: 40},
		},
		DrawThresholdMW: 500,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	read := func(device string, v float64) sched.Op {
		return sched.Op{Device: device, Point: "p", Class: sched.Collection, Integrity: sched.Checked,
			Run: func(context.Context) (sched.Result, error) { return sched.Result{Value: v}, nil }}
	}
	r, err := s.Do(ctx, read("hplc", 1))
	fmt.Println("before the outage:", r.Value, err)

	s.GateMainsOnly() // from the power-fail edge
	_, err = s.Do(ctx, read("hplc", 1))
	fmt.Println("hplc gated:", errors.Is(err, sched.ErrGated))
	r, err = s.Do(ctx, read("meter", 7))
	fmt.Println("meter still read:", r.Value, err)
	last, _ := s.Latest(ctx, "hplc", "p")
	fmt.Println("hplc reported invalid:", last.Invalid)

	s.Restore()
	_, err = s.Do(ctx, read("hplc", 1))
	fmt.Println("before re-init:", errors.Is(err, sched.ErrAwaitingReinit))
	_ = s.Reinit(ctx, "/dev/ttyS2", func(context.Context) error { return nil /* reset the module */ })
	r, err = s.Do(ctx, read("hplc", 2))
	fmt.Println("after re-init:", r.Value, err)
	// Output:
	// before the outage: 1 <nil>
	// hplc gated: true
	// meter still read: 7 <nil>
	// hplc reported invalid: true
	// before re-init: true
	// after re-init: 2 <nil>
}
