package power

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// SimVoltmeter is a simulated AC-sampling unit for this package's tests
// (`holdup sim` confirms through proto698's client against proto698.ACSim):
// it answers with the phase voltages last Set, after a response latency
// measured on its clock (the serial round trip), hangs until the caller
// gives up when unreachable, and can answer garbage.
type SimVoltmeter struct {
	clock   Clock
	latency time.Duration

	mu          sync.Mutex
	volts       [3]float64
	unreachable bool
	reads       int
}

// NewSimVoltmeter returns a simulated unit reading the nominal 220 V on all
// phases, answering after latency. A nil clock means the real clock.
func NewSimVoltmeter(clock Clock, latency time.Duration) *SimVoltmeter {
	if clock == nil {
		clock = RealClock{}
	}
	return &SimVoltmeter{clock: clock, latency: latency, volts: [3]float64{220, 220, 220}}
}

// Set sets the phase voltages the unit measures (NaN or out-of-range
// values simulate a unit answering garbage).
func (s *SimVoltmeter) Set(a, b, c float64) {
	s.mu.Lock()
	s.volts = [3]float64{a, b, c}
	s.mu.Unlock()
}

// SetUnreachable makes the unit stop answering (true) or answer again.
func (s *SimVoltmeter) SetUnreachable(u bool) {
	s.mu.Lock()
	s.unreachable = u
	s.mu.Unlock()
}

// Reads returns how many readings were requested.
func (s *SimVoltmeter) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// ReadVoltages answers after the latency with the voltages current at
// that moment, or fails when ctx ends first.
func (s *SimVoltmeter) ReadVoltages(ctx context.Context) ([3]float64, error) {
	s.mu.Lock()
	s.reads++
	unreachable := s.unreachable
	s.mu.Unlock()
	if unreachable {
		<-ctx.Done()
		return [3]float64{}, fmt.Errorf("power: sim voltmeter: no answer: %w", ctx.Err())
	}
	if s.latency > 0 {
		t := s.clock.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
			return [3]float64{}, fmt.Errorf("power: sim voltmeter: no answer: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.volts, nil
}

func TestSimVoltmeterLatencyAndUnreachable(t *testing.T) {
	clk := NewFakeClock(t0)
	vm := NewSimVoltmeter(clk, 80*time.Millisecond)
	type res struct {
		v   [3]float64
		err error
	}
	done := make(chan res, 1)
	go func() {
		v, err := vm.ReadVoltages(context.Background())
		done <- res{v, err}
	}()
	// The answer comes only when the latency has passed on the clock, and
	// carries the voltages of that moment.
	for clk.Pending() == 0 {
		select {
		case r := <-done:
			t.Fatalf("answered %+v before the latency", r)
		case <-time.After(time.Millisecond):
		}
	}
	vm.Set(0, 0, 1.5)
	clk.Advance(80 * time.Millisecond)
	r := <-done
	if r.err != nil || r.v != [3]float64{0, 0, 1.5} {
		t.Fatalf("reading %+v, want the voltages at the answer", r)
	}

	vm.SetUnreachable(true)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		v, err := vm.ReadVoltages(ctx)
		done <- res{v, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("unreachable unit answered %+v", r)
	case <-time.After(5 * time.Millisecond):
	}
	cancel()
	if r := <-done; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("unreachable read: %v, want context.Canceled", r.err)
	}
	if vm.Reads() != 2 {
		t.Fatalf("reads %d, want 2", vm.Reads())
	}
}

// The monitor with the simulated unit: a 300 ms answer is fine within the
// 1 s confirmation timeout.
func TestMonitorWithSimVoltmeter(t *testing.T) {
	h := newHarness(t)
	vm := NewSimVoltmeter(h.clk, 300*time.Millisecond)
	h.deps.Voltmeter = vm
	h.start(false)
	vm.Set(0, 0, 0)
	if err := h.line.Fail(); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(h.m.cfg.Settle)
	// Wait (real time, bounded) until the read goroutine has armed the
	// unit's 300 ms timer (before the 1 s confirmation timeout), then let
	// it answer. It may have started after the settle advance.
	timeoutAt := t0.Add(h.m.cfg.ConfirmTimeout)
	giveUp := time.After(5 * time.Second)
	next, _ := h.clk.NextDeadline()
	for ; !next.Before(timeoutAt); next, _ = h.clk.NextDeadline() {
		select {
		case <-giveUp:
			t.Fatalf("the unit never armed its answer timer; next deadline %v", next.Sub(t0))
		case <-time.After(100 * time.Microsecond):
		}
	}
	if d := next.Sub(t0); d < 300*time.Millisecond || d > 320*time.Millisecond {
		t.Fatalf("unit answers at %v, want 300 ms after the read started", d)
	}
	h.advance(next.Sub(h.clk.Now()))
	h.wait(StepModulesInvalid)
	h.assertSteps(cat([]Step{StepIdle}, lossSteps)...)
}
