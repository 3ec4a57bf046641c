package sched

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gateJournal holds each Append until the test lets it return, with the
// error the test chooses; appended counts the Appends that returned.
type gateJournal struct {
	mu       sync.Mutex
	recs     []CriticalRecord
	entered  chan string // the point of each Append as it starts
	release  chan error  // one value per Append: its result
	appended atomic.Int32
}

func newGateJournal() *gateJournal {
	return &gateJournal{entered: make(chan string, 16), release: make(chan error)}
}

func (j *gateJournal) Append(ctx context.Context, r CriticalRecord) error {
	j.entered <- r.Point
	err := <-j.release
	if err == nil {
		j.mu.Lock()
		j.recs = append(j.recs, r)
		j.mu.Unlock()
	}
	j.appended.Add(1)
	return err
}

type doResult struct {
	res Result
	err error
	// appended is how many Appends had returned when Do returned.
	appended int32
}

// doAsync runs Do on a goroutine and reports its outcome.
func doAsync(s *Scheduler, j *gateJournal, op Op) <-chan doResult {
	out := make(chan doResult, 1)
	go func() {
		res, err := s.Do(context.Background(), op)
		out <- doResult{res, err, j.appended.Load()}
	}()
	return out
}

func waitDo(t *testing.T, c <-chan doResult) doResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Do did not return")
		return doResult{}
	}
}

func waitEntered(t *testing.T, j *gateJournal, point string) {
	t.Helper()
	select {
	case p := <-j.entered:
		if p != point {
			t.Fatalf("journal append of %q, want %q", p, point)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no journal append of %q", point)
	}
}

// A Durable control op during an outage succeeds only after the journal's
// Append returned nil for its record; meanwhile the owner goes on serving
// the interface (a collection op and a second control op complete while
// the first record's Append is held), and a collection op never waits for
// its record.
func TestDurableWaitsForJournal(t *testing.T) {
	j := newGateJournal()
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	p := &port{bytes: map[string]int{}}
	s.GateMainsOnly()

	first := p.op("m", "relay-1", Control, Checked, 1)
	first.Durable = true
	done1 := doAsync(s, j, first)
	waitEntered(t, j, "relay-1") // the op ran, its record is being written

	// The owner is not held by the journal: collection (journaled, not
	// waited for) completes while relay-1's Append is still held.
	if _, err := s.Do(context.Background(), p.op("m", "energy", Collection, Checked, 7)); err != nil {
		t.Fatalf("collection while a record is being written: %v", err)
	}
	second := p.op("m", "relay-2", Control, Checked, 2)
	second.Durable = true
	done2 := doAsync(s, j, second)
	// relay-2 ran on the wire (the owner dispatched it) before any Append
	// returned.
	for end := time.Now().Add(10 * time.Second); p.sent("m") != 1+7+2; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d bytes sent, want 10: the owner is held by the journal", p.sent("m"))
		}
	}
	select {
	case r := <-done1:
		t.Fatalf("durable control returned before its Append did: %+v", r)
	default:
	}

	j.release <- nil // relay-1 stored
	r1 := waitDo(t, done1)
	if r1.err != nil || r1.res.Value != 1 || r1.appended < 1 {
		t.Fatalf("relay-1: %+v, want success after its Append", r1)
	}
	waitEntered(t, j, "energy")
	j.release <- nil
	waitEntered(t, j, "relay-2")
	j.release <- nil
	r2 := waitDo(t, done2)
	if r2.err != nil || r2.appended < 3 {
		t.Fatalf("relay-2: %+v, want success after its Append", r2)
	}
}

// A Durable op whose record the journal could not store fails with
// ErrNotJournaled wrapping the journal's error, and still returns the
// op's result (it ran). A Durable op that failed returns its own error at
// once, and outside an outage there is nothing to wait for.
func TestDurableJournalFailure(t *testing.T) {
	j := newGateJournal()
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	p := &port{bytes: map[string]int{}}
	ctx := context.Background()

	outside := p.op("m", "relay", Control, Checked, 3)
	outside.Durable = true
	if _, err := s.Do(ctx, outside); err != nil {
		t.Fatalf("durable control outside an outage: %v", err)
	}

	s.GateMainsOnly()
	full := errors.New("journal full")
	op := p.op("m", "relay", Control, Checked, 4)
	op.Durable = true
	done := doAsync(s, j, op)
	waitEntered(t, j, "relay")
	j.release <- full
	r := waitDo(t, done)
	if !errors.Is(r.err, ErrNotJournaled) || !errors.Is(r.err, full) || r.res.Value != 4 {
		t.Fatalf("durable control whose record failed: %+v, want ErrNotJournaled wrapping the journal's error, value 4", r)
	}

	failing := Op{Device: "m", Point: "breaker", Class: Control, Durable: true, Run: func(context.Context) (Result, error) {
		return Result{}, ioErr("timeout")
	}}
	done = doAsync(s, j, failing)
	r = waitDo(t, done) // its invalid record is still being written
	if Classify(r.err) != Timeout || errors.Is(r.err, ErrNotJournaled) {
		t.Fatalf("failed durable control: %v, want its own timeout", r.err)
	}
	waitEntered(t, j, "breaker")
	j.release <- nil
}

// A caller that stops waiting gets its context's error; the record is
// written all the same.
func TestDurableCallerGivesUp(t *testing.T) {
	j := newGateJournal()
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	p := &port{bytes: map[string]int{}}
	s.GateMainsOnly()
	ctx, cancel := context.WithCancel(context.Background())
	op := p.op("m", "relay", Control, Checked, 5)
	op.Durable = true
	out := make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, op)
		out <- err
	}()
	waitEntered(t, j, "relay")
	cancel()
	if err := <-out; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after cancel: %v", err)
	}
	j.release <- nil
	for end := time.Now().Add(10 * time.Second); j.appended.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the record was not written")
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) != 1 || j.recs[0].Point != "relay" {
		t.Fatalf("records %+v", j.recs)
	}
}

// slotJournal holds at most slots records and implements JournalAdmitter
// by the same rule; it records the order of appends and questions.
type slotJournal struct {
	mu    sync.Mutex
	slots int
	recs  []CriticalRecord
	asked []string // "append:point" / "admits:point" in the order served
}

var errSlotsFull = errors.New("slot journal full")

func (j *slotJournal) Append(_ context.Context, r CriticalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.asked = append(j.asked, "append:"+r.Point)
	if len(j.recs) >= j.slots {
		return errSlotsFull
	}
	j.recs = append(j.recs, r)
	return nil
}

func (j *slotJournal) Admits(_ context.Context, r CriticalRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.asked = append(j.asked, "admits:"+r.Point)
	if r.Class != Control || r.Value != 0 || r.Checksum != 0 || r.Time.IsZero() {
		return errors.New("admission question carries more than is known before the exchange")
	}
	if len(j.recs) >= j.slots {
		return errSlotsFull
	}
	return nil
}

// With a journal that answers admission questions, a Durable control
// during an outage runs only when the journal takes its record: the
// question waits for the records handed over before it (a checked reading
// takes the last slot), a refused control never reaches the device and
// fails with ErrJournalFull wrapping the journal's reason — not
// ErrNotJournaled, which means "ran, not stored". Outside an outage and
// for ops that are not Durable nothing is asked.
func TestDurableControlAdmittedFirst(t *testing.T) {
	j := &slotJournal{slots: 2}
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	p := &port{bytes: map[string]int{}}
	ctx := context.Background()
	durable := func(point string, n int) Op {
		op := p.op("m", point, Control, Checked, n)
		op.Durable = true
		return op
	}
	if _, err := s.Do(ctx, durable("relay-0", 1)); err != nil {
		t.Fatalf("durable control outside an outage: %v", err)
	}
	s.GateMainsOnly()
	if _, err := s.Do(ctx, durable("relay-1", 2)); err != nil {
		t.Fatalf("first durable control in the outage: %v", err)
	}
	if _, err := s.Do(ctx, p.op("m", "energy", Collection, Checked, 4)); err != nil {
		t.Fatalf("collection: %v", err)
	}
	_, err := s.Do(ctx, durable("relay-2", 8))
	if !errors.Is(err, ErrJournalFull) || !errors.Is(err, errSlotsFull) || errors.Is(err, ErrNotJournaled) {
		t.Fatalf("durable control with the journal full: %v, want ErrJournalFull wrapping the journal's error", err)
	}
	if got := p.sent("m"); got != 1+2+4 {
		t.Fatalf("%d bytes sent, want 7: the refused control reached the device", got)
	}
	// Not durable: it runs, its record is refused and only logged.
	if _, err := s.Do(ctx, p.op("m", "relay-3", Control, Checked, 16)); err != nil {
		t.Fatalf("plain control: %v", err)
	}
	if err := s.FlushJournal(ctx); err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	want := []string{"admits:relay-1", "append:relay-1", "append:energy", "admits:relay-2", "append:relay-3"}
	if !slices.Equal(j.asked, want) {
		t.Fatalf("journal served %q, want %q", j.asked, want)
	}
}
