package power

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SimVoltmeter is a simulated AC-sampling unit for `holdup sim` and tests
// until (and beside) the DL/T 698.45 client: it answers with the phase
// voltages last Set, after a response latency measured on its clock (the
// serial round trip), hangs until the caller gives up when unreachable,
// and can answer garbage.
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
