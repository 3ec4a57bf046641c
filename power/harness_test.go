package power

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// harness runs a Monitor on a SimLine, a fake clock and recording fakes.
type harness struct {
	t      testing.TB
	clk    *FakeClock
	c      *calls
	gate   *fakeGate
	jr     *fakeJournal
	up     *fakeUplink
	mods   *fakeModules
	reinit *fakeReinit
	rec    *fakeRecoverer
	olog   *fakeOutageLog
	vm     *fakeVoltmeter
	alarms *fakeAlarms
	flush  *fakeFlusher
	cfg    Config
	deps   Deps

	m      *Monitor
	line   *SimLine
	cancel context.CancelFunc
	done   chan error
	mark   uint64
}

func newHarness(t testing.TB) *harness {
	c := &calls{}
	h := &harness{
		t:      t,
		clk:    NewFakeClock(t0),
		c:      c,
		gate:   &fakeGate{c: c},
		jr:     &fakeJournal{c: c},
		up:     &fakeUplink{c: c},
		mods:   &fakeModules{c: c},
		reinit: &fakeReinit{c: c, names: []string{"hplc", "rs485-1"}},
		rec:    newFakeRecoverer(c),
		olog:   &fakeOutageLog{c: c},
		vm:     &fakeVoltmeter{},
		alarms: &fakeAlarms{},
		flush:  &fakeFlusher{c: c},
	}
	h.vm.set(220, 221, 219)
	h.deps = Deps{
		Gate: h.gate, Journal: h.jr, Uplink: h.up, Modules: h.mods, Reinit: h.reinit,
		Resume: &fakeResumer{c: c}, Recoverer: h.rec, OutageLog: h.olog,
		Voltmeter: h.vm, Alarms: h.alarms, Flusher: h.flush, Clock: h.clk,
		Logger: testLogger(),
	}
	return h
}

func testLogger() *slog.Logger {
	if os.Getenv("POWER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return nil
}

// start builds the monitor and line (mains present unless lost) and runs it.
func (h *harness) start(lost bool) {
	h.t.Helper()
	m, err := NewMonitor(h.cfg, h.deps)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
	lc := SimLineConfig{Initial: 1}
	if lost {
		lc.Initial = 0
	}
	h.line, err = NewSimLine(lc, h.clk, m.Edge)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- m.Run(ctx, h.line) }()
	h.t.Cleanup(h.stop)
	h.sync()
}

// stop cancels Run and checks that it returns (every goroutine waited for).
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
	h.line.Close()
}

// restart kills the monitor (as the capacitor running out would: nothing
// more is written) and starts a new process on the same journal, data
// store, outage log and voltmeter, with a fresh scheduler gate.
func (h *harness) restart(lost bool) {
	h.t.Helper()
	h.stop()
	h.gate = &fakeGate{c: h.c}
	h.deps.Gate = h.gate
	h.mark = 0
	h.start(lost)
}

func (h *harness) sync() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.m.Sync(ctx); err != nil {
		h.t.Fatalf("Sync: %v", err)
	}
}

// advance moves the fake clock by d timer by timer, letting the monitor
// handle each fire before the next.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.clk.Now().Add(d)
	for {
		h.sync()
		h.awaitReading()
		next, ok := h.clk.NextDeadline()
		if !ok || next.After(end) {
			h.clk.AdvanceTo(end)
			h.sync()
			return
		}
		h.clk.AdvanceTo(next)
	}
}

// awaitReading lets the answer of the fake voltmeter reach the monitor
// before time moves on. The fake answers at once (unless blocked), but the
// answer travels on the reading's own goroutine, which a scheduler with
// one P (-cpu 1) may not run while the test and the monitor goroutine hand
// the processor to each other: the fake clock would then pass the reading's
// timeout with the answer still on its way. Other voltmeters answer on the
// fake clock and are not waited for.
func (h *harness) awaitReading() {
	h.t.Helper()
	if h.m.d.Voltmeter != Voltmeter(h.vm) {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var active bool
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := h.m.call(ctx, func() { active = h.m.read.active })
		cancel()
		if err != nil {
			h.t.Fatalf("awaitReading: %v", err)
		}
		if !active || h.vm.blocking() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the fake voltmeter's answer did not reach the monitor\n%s", h.dump())
		}
		runtime.Gosched()
	}
}

// wait blocks (real time, bounded) until step appears after the last
// waited-for entry.
func (h *harness) wait(step Step) Entry {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := h.m.Timeline().Wait(ctx, step, h.mark)
	if err != nil {
		h.t.Fatalf("waiting for %q: %v\ntimeline:\n%s", step, err, h.dump())
	}
	h.mark = e.Seq
	h.sync()
	return e
}

func (h *harness) dump() string {
	var b strings.Builder
	for _, e := range h.m.Timeline().Entries() {
		fmt.Fprintf(&b, "  %3d +%-12v %s  %s\n", e.Seq, e.At.Sub(t0), e.Step, e.Detail)
	}
	return b.String()
}

// steps returns the timeline's steps, leaving out voltage readings (their
// timing relative to settling is not part of the method's order).
func (h *harness) steps() []Step {
	var out []Step
	for _, e := range h.m.Timeline().Entries() {
		if e.Step != StepVoltages && e.Step != StepReturnVoltages {
			out = append(out, e.Step)
		}
	}
	return out
}

func (h *harness) assertSteps(want ...Step) {
	h.t.Helper()
	h.sync()
	if got := h.steps(); !slices.Equal(got, want) {
		h.t.Fatalf("step order:\n got  %q\n want %q\ntimeline:\n%s", got, want, h.dump())
	}
}

func (h *harness) stats() Stats {
	h.t.Helper()
	s, err := h.m.Stats(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) assertCalls(want ...string) {
	h.t.Helper()
	if got := h.c.all(); !slices.Equal(got, want) {
		h.t.Fatalf("calls:\n got  %q\n want %q\ntimeline:\n%s", got, want, h.dump())
	}
}

func (h *harness) assertGate(gated bool) {
	h.t.Helper()
	g, misuse := h.gate.state()
	if g != gated || misuse != 0 {
		h.t.Fatalf("gate gated=%v misuse=%d, want gated=%v and no misuse", g, misuse, gated)
	}
}

// lose cuts the mains: the line falls and the voltages drop.
func (h *harness) lose() {
	h.t.Helper()
	h.vm.set(0, 0, 0)
	if err := h.line.Fail(); err != nil {
		h.t.Fatal(err)
	}
	h.sync()
}

// back returns the mains.
func (h *harness) back() {
	h.t.Helper()
	h.vm.set(220, 221, 219)
	if err := h.line.Restore(); err != nil {
		h.t.Fatal(err)
	}
	h.sync()
}
