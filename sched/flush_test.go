package sched

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gatedJournal appends only when a release token arrives, counting what
// it appended.
type gatedJournal struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
}

func (j *gatedJournal) Append(ctx context.Context, _ CriticalRecord) error {
	select {
	case <-j.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	j.mu.Lock()
	j.n++
	j.mu.Unlock()
	return nil
}

func (j *gatedJournal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

func TestFlushJournalWaitsForPendingRecords(t *testing.T) {
	j := &gatedJournal{release: make(chan struct{})}
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}, {Name: "n", Interface: "rs485-2"}}, Journal: j})
	ctx := context.Background()
	p := &port{bytes: map[string]int{}}
	s.GateMainsOnly()
	for _, dev := range []string{"m", "n", "m"} {
		if _, err := s.Do(ctx, p.op(dev, "energy", Collection, Checked, 1)); err != nil {
			t.Fatal(err)
		}
	}
	// An exchange in progress on "n" when the flush starts: its record
	// is one of those the flush waits for.
	inEx, finish := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = s.Do(ctx, Op{Device: "n", Point: "breaker", Class: Control, Run: func(context.Context) (Result, error) {
			close(inEx)
			<-finish
			return Result{Value: 1}, nil
		}})
	}()
	<-inEx
	type result struct {
		err error
		n   int // records journaled when the flush returned
	}
	flushed := make(chan result, 1)
	go func() {
		err := s.FlushJournal(ctx)
		flushed <- result{err, j.count()}
	}()
	for i := 0; i < 3; i++ {
		j.release <- struct{}{}
	}
	close(finish)
	j.release <- struct{}{}
	select {
	case r := <-flushed:
		if r.err != nil || r.n != 4 {
			t.Fatalf("flush returned %v with %d records journaled, want nil with all 4", r.err, r.n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("flush did not return once every record was journaled")
	}
	// Nothing pending: it returns at once.
	if err := s.FlushJournal(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFlushJournalGivesUpWithContext(t *testing.T) {
	j := &gatedJournal{release: make(chan struct{})}
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	s.GateMainsOnly()
	p := &port{bytes: map[string]int{}}
	if _, err := s.Do(context.Background(), p.op("m", "breaker", Control, Checked, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.FlushJournal(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("flush returned %v, want the context's error", err)
	}
	j.release <- struct{}{} // let the writer finish for the cleanup
}

func TestHoldCollection(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}})
	ctx := context.Background()
	p := &port{bytes: map[string]int{}}
	s.HoldCollection(true)
	if !s.CollectionHeld() {
		t.Fatal("not held")
	}
	if _, err := s.Do(ctx, p.op("m", "energy", Collection, Checked, 5)); !errors.Is(err, ErrHeld) {
		t.Fatalf("collection while held: %v, want ErrHeld", err)
	}
	if _, err := s.Do(ctx, p.op("m", "breaker", Control, Checked, 1)); err != nil {
		t.Fatalf("control while collection is held: %v", err)
	}
	if got := p.sent("m"); got != 1 {
		t.Fatalf("%d bytes sent, want only the control's 1", got)
	}
	s.HoldCollection(false)
	if _, err := s.Do(ctx, p.op("m", "energy", Collection, Checked, 5)); err != nil {
		t.Fatalf("collection after release: %v", err)
	}
	if got := p.sent("m"); got != 6 {
		t.Fatalf("%d bytes sent, want 6", got)
	}
}

// Periodic collection skips its turns while held and resumes after.
func TestHoldCollectionPeriodic(t *testing.T) {
	s, err := New(Config{Devices: []Device{{Name: "m", Interface: "rs485"}}})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 64)
	op := Op{Device: "m", Point: "energy", Class: Collection, Run: func(context.Context) (Result, error) {
		ran <- struct{}{}
		return Result{Value: 1}, nil
	}}
	if err := s.Collect(op, time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	s.HoldCollection(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// Periods pass (a control exchange after 20 ms of them) without a run.
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Do(context.Background(), Op{Device: "m", Point: "x", Class: Control, Run: func(context.Context) (Result, error) { return Result{}, nil }}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Fatal("periodic collection ran while held")
	default:
	}
	s.HoldCollection(false)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("periodic collection did not resume")
	}
}
