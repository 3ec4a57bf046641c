package sched

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestSetEnabled: a disabled device gets no exchange — direct, queued or
// periodic — until it is enabled again; its neighbours keep running.
func TestSetEnabled(t *testing.T) {
	s, err := New(Config{Devices: []Device{{Name: "a", Interface: "bus"}, {Name: "b", Interface: "bus"}}})
	if err != nil {
		t.Fatal(err)
	}
	var aRuns, bRuns atomic.Int64
	count := func(n *atomic.Int64) func(context.Context) (Result, error) {
		return func(context.Context) (Result, error) { n.Add(1); return Result{Value: 1.0}, nil }
	}
	if err := s.Collect(Op{Device: "a", Point: "p", Class: Collection, Integrity: Checked, Run: count(&aRuns)}, 2*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Collect(Op{Device: "b", Point: "p", Class: Collection, Integrity: Checked, Run: count(&bRuns)}, 2*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnabled("a", false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	ran := false
	_, err = s.Do(ctx, Op{Device: "a", Point: "sw", Class: Control, Run: func(context.Context) (Result, error) { ran = true; return Result{}, nil }})
	if !errors.Is(err, ErrDisabled) || ran {
		t.Fatalf("control to a disabled device: ran %v, err %v", ran, err)
	}
	for bRuns.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	if n := aRuns.Load(); n != 0 {
		t.Fatalf("disabled device collected %d times", n)
	}
	if ok, _ := s.Enabled("a"); ok {
		t.Fatal("Enabled reports a disabled device enabled")
	}
	if err := s.SetEnabled("a", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(ctx, Op{Device: "a", Point: "sw", Class: Control, Run: func(context.Context) (Result, error) { return Result{}, nil }}); err != nil {
		t.Fatalf("control after enabling: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for aRuns.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("enabled device never collected")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.SetEnabled("nope", false); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("unknown device: %v", err)
	}
}

// TestStatsQueueAndErrorWindow: Stats shows the ops waiting for an
// interface and the error-rate window's fill, for the console.
func TestStatsQueueAndErrorWindow(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "bus"}}, ErrorWindow: 10, ErrorThreshold: 5})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		s.Do(ctx, Op{Device: "m", Point: "p", Class: Collection, Integrity: Checked,
			Run: func(context.Context) (Result, error) { return Result{}, ioErr("checksum-mismatch") }})
	}
	s.Do(ctx, Op{Device: "m", Point: "p", Class: Collection, Integrity: Checked,
		Run: func(context.Context) (Result, error) { return Result{}, nil }})
	st, err := s.Stats("bus")
	if err != nil || st.WindowErrors != 3 || st.WindowFill != 4 || st.Closed {
		t.Fatalf("stats after 3 checksum errors and 1 success: %+v, %v", st, err)
	}
	release := blocker(t, s, "m")
	for i := 0; i < 2; i++ {
		go s.Do(ctx, Op{Device: "m", Point: "q", Class: Collection, Integrity: Checked,
			Run: func(context.Context) (Result, error) { return Result{}, nil }})
	}
	waitQueued(t, s, "m", 2)
	if st, _ := s.Stats("bus"); st.Queued != 2 {
		t.Fatalf("Queued = %d with two ops waiting", st.Queued)
	}
	release()
}
