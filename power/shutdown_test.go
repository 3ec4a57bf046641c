package power

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeShutdowner records the end-of-window act into the shared call log.
// Prepare blocks while hold is set (until released or cancelled).
type fakeShutdowner struct {
	c    *calls
	mu   sync.Mutex
	hold chan struct{} // non-nil: Prepare waits for it to close
	left []time.Duration
	// cancelled: Prepare returned because its context ended.
	cancelled bool
}

func (f *fakeShutdowner) Prepare(ctx context.Context) (string, error) {
	f.c.add("prepare")
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			f.mu.Lock()
			f.cancelled = true
			f.mu.Unlock()
			return "", ctx.Err()
		}
	}
	return "synced /data", nil
}

func (f *fakeShutdowner) Shutdown(ctx context.Context, left time.Duration) (bool, string, error) {
	if ctx.Err() != nil {
		return false, "", nil
	}
	f.c.add("shutdown")
	f.mu.Lock()
	f.left = append(f.left, left)
	f.mu.Unlock()
	return true, "poweroff", nil
}

func (f *fakeShutdowner) Undo(ctx context.Context) (string, error) {
	f.c.add("undo")
	return "reopened", nil
}

// blockingFlusher's FinalFlush waits for release (the pending critical
// records being journaled) or for its context.
type blockingFlusher struct {
	c       *calls
	release chan struct{}
	entered chan struct{}
	err     chan error // what FinalFlush returned
}

func newBlockingFlusher(c *calls) *blockingFlusher {
	return &blockingFlusher{c: c, release: make(chan struct{}), entered: make(chan struct{}, 1), err: make(chan error, 1)}
}

func (f *blockingFlusher) FinalFlush(ctx context.Context, left time.Duration) error {
	f.c.add("flush")
	f.entered <- struct{}{}
	var err error
	select {
	case <-f.release:
	case <-ctx.Done():
		err = ctx.Err()
	}
	f.err <- err
	return err
}

// actCalls are the calls of the end-of-window act, in order.
func actCalls(c *calls) []string {
	var out []string
	for _, s := range c.all() {
		switch s {
		case "flush", "prepare", "shutdown", "undo":
			out = append(out, s)
		}
	}
	return out
}

func (h *harness) hasStep(step Step) bool {
	return slices.Contains(h.steps(), step)
}

func TestShutdownAfterFinalFlush(t *testing.T) {
	h := newHarness(t)
	sd := &fakeShutdowner{c: h.c}
	h.deps.Shutdown = sd
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(150 * time.Second)
	h.wait(StepFinalFlush)
	h.wait(StepFlushed)
	h.wait(StepSynced)
	e := h.wait(StepShutdown)
	if e.Detail != "poweroff" {
		t.Fatalf("shutdown detail %q", e.Detail)
	}
	if got := actCalls(h.c); !slices.Equal(got, []string{"flush", "prepare", "shutdown"}) {
		t.Fatalf("act calls %q, want flush, prepare, shutdown", got)
	}
	if s := h.stats(); s.Shutdowns != 1 || s.FinalFlushes != 1 {
		t.Fatalf("stats: %d shutdowns, %d final flushes, want 1 and 1", s.Shutdowns, s.FinalFlushes)
	}
	// What is left when the command runs: the 30 s margin less the time
	// the fake clock moved on while the act ran (the settle time at most).
	if l := sd.left[0]; l > 30*time.Second || l < 30*time.Second-h.m.cfg.Settle {
		t.Fatalf("shutdown got %v left, want 30 s less at most the settle time", l)
	}
	// Time passing does not run the command again.
	h.advance(20 * time.Second)
	if n := h.c.count("shutdown"); n != 1 {
		t.Fatalf("shutdown command run %d times", n)
	}
	// Mains returns after the command (the OS did not go down yet): the
	// recovery reopens the store first, and nothing says it was skipped.
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepFlushUndone)
	h.wait(StepSleeping)
	if h.hasStep(StepShutdownSkipped) {
		t.Fatal("a command that ran is reported as skipped")
	}
	calls := h.c.all()
	if u, r := slices.Index(calls, "undo"), slices.Index(calls, "reinit"); u < 0 || r < 0 || u > r {
		t.Fatalf("undo must come before the interfaces are re-initialised: %q", calls)
	}
	if len(h.alarms.codes()) != 0 {
		t.Fatalf("alarms %v", h.alarms.codes())
	}
}

func TestMainsBackBeforeShutdownCommand(t *testing.T) {
	h := newHarness(t)
	sd := &fakeShutdowner{c: h.c, hold: make(chan struct{})}
	h.deps.Shutdown = sd
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(150 * time.Second)
	h.wait(StepFlushed)
	// Prepare (sync, close) is in progress when the mains returns.
	waitCall(t, h.c, "prepare")
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepShutdownSkipped)
	h.wait(StepFlushUndone)
	h.wait(StepSleeping)
	if got := actCalls(h.c); !slices.Equal(got, []string{"flush", "prepare", "undo"}) {
		t.Fatalf("act calls %q, want flush, prepare, undo (no shutdown)", got)
	}
	sd.mu.Lock()
	cancelled := sd.cancelled
	sd.mu.Unlock()
	if !cancelled {
		t.Fatal("Prepare's context was not cancelled by the return")
	}
	if s := h.stats(); s.Shutdowns != 0 {
		t.Fatalf("%d shutdowns", s.Shutdowns)
	}
	if h.hasStep(StepSynced) || len(h.alarms.codes()) != 0 {
		t.Fatalf("a cancelled act left a step or alarm: alarms %v\n%s", h.alarms.codes(), h.dump())
	}
	// The next outage acts again from the start.
	sd.mu.Lock()
	sd.hold = nil
	sd.mu.Unlock()
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(150 * time.Second)
	h.wait(StepShutdown)
	if n := h.c.count("shutdown"); n != 1 {
		t.Fatalf("second outage: %d shutdown commands", n)
	}
}

func TestShutdownWaitsForTheFlush(t *testing.T) {
	h := newHarness(t)
	sd := &fakeShutdowner{c: h.c}
	fl := newBlockingFlusher(h.c)
	h.deps.Shutdown, h.deps.Flusher = sd, fl
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(150 * time.Second)
	h.wait(StepFinalFlush)
	<-fl.entered
	h.advance(10 * time.Second)
	if got := actCalls(h.c); !slices.Equal(got, []string{"flush"}) {
		t.Fatalf("calls %q while the flush is pending: nothing may be closed before it is done", got)
	}
	close(fl.release)
	h.wait(StepFlushed)
	h.wait(StepShutdown)
	if got := actCalls(h.c); !slices.Equal(got, []string{"flush", "prepare", "shutdown"}) {
		t.Fatalf("act calls %q", got)
	}
	if err := <-fl.err; err != nil {
		t.Fatalf("flush returned %v", err)
	}
}

func TestMainsBackDuringFlushCancelsIt(t *testing.T) {
	h := newHarness(t)
	sd := &fakeShutdowner{c: h.c}
	fl := newBlockingFlusher(h.c)
	h.deps.Shutdown, h.deps.Flusher = sd, fl
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(150 * time.Second)
	<-fl.entered
	h.back()
	h.advance(h.m.cfg.Settle)
	if err := <-fl.err; !errors.Is(err, context.Canceled) {
		t.Fatalf("flush returned %v, want its context cancelled by the return", err)
	}
	h.wait(StepShutdownSkipped)
	h.wait(StepSleeping)
	if got := actCalls(h.c); !slices.Equal(got, []string{"flush", "undo"}) {
		t.Fatalf("act calls %q, want flush, undo", got)
	}
	if len(h.alarms.codes()) != 0 {
		t.Fatalf("a flush cancelled by the return raised %v", h.alarms.codes())
	}
}

// waitCall waits (real time, bounded) until the call log holds name.
func waitCall(t *testing.T, c *calls, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.count(name) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %q call; calls %q", name, c.all())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCapacitorModel(t *testing.T) {
	c := Capacitor{EmptyV: 2.5, FullV: 5, Farads: 1, LoadW: 0.1}
	for _, tc := range []struct {
		v      float64
		holdUp time.Duration
		charge float64
	}{
		{5, 93750 * time.Millisecond, 1},
		{2.5, 0, 0},
		{1, 0, 0},
		{math.Sqrt(2.5*2.5 + 0.5*(25-6.25)), 46875 * time.Millisecond, 0.5},
		{6, 148750 * time.Millisecond, 1},
	} {
		d, ok := c.HoldUp(tc.v)
		if !ok || (d-tc.holdUp).Abs() > time.Millisecond {
			t.Errorf("HoldUp(%v) = %v, %v; want %v", tc.v, d, ok, tc.holdUp)
		}
		ch, ok := c.Charge(tc.v)
		if !ok || math.Abs(ch-tc.charge) > 1e-9 {
			t.Errorf("Charge(%v) = %v, %v; want %v", tc.v, ch, ok, tc.charge)
		}
	}
	if _, ok := (Capacitor{EmptyV: 2.5, FullV: 5}).HoldUp(5); ok {
		t.Error("HoldUp without farads and load gave an estimate")
	}
	if _, ok := (Capacitor{EmptyV: 2.5, Farads: 1, LoadW: 1}).Charge(5); ok {
		t.Error("Charge without a full voltage gave a value")
	}
}

// With the capacitor's parameters one reading gives the estimate at once.
func TestBudgetFromOneReading(t *testing.T) {
	b := NewBudget(180*time.Second, 2.5)
	b.SetCapacitor(Capacitor{Farads: 1, LoadW: 0.1})
	b.Start(t0)
	if err := b.AddSample(t0, 5); err != nil {
		t.Fatal(err)
	}
	left, fromCap := b.Left(t0.Add(10 * time.Second))
	if !fromCap || (left-83750*time.Millisecond).Abs() > time.Millisecond {
		t.Fatalf("left %v fromCap %v, want 83.75 s from the capacitor", left, fromCap)
	}
	// A capacitor holding more than the configured time: the configured
	// time bounds the budget.
	b = NewBudget(60*time.Second, 2.5)
	b.SetCapacitor(Capacitor{Farads: 1, LoadW: 0.1})
	b.Start(t0)
	_ = b.AddSample(t0, 5)
	if left, fromCap := b.Left(t0); fromCap || left != 60*time.Second {
		t.Fatalf("left %v fromCap %v, want the configured 60 s", left, fromCap)
	}
}

// A capacitor only partly charged at the loss (a cold start moments ago)
// brings the final flush forward by what it lacks.
func TestFinalFlushFromPartlyChargedCapacitor(t *testing.T) {
	h := newHarness(t)
	// 1 F, 0.1 W, 2.5 V empty: at 4 V it holds 48.75 s.
	sc := &supercapModel{clk: h.clk, c: 1, p: 0.1, v0: 4}
	h.deps.Supercap = sc.read
	h.cfg.SupercapMinV, h.cfg.SupercapFarads, h.cfg.SupercapLoadW, h.cfg.SupercapFullV = 2.5, 1, 0.1, 5
	h.cfg.FlushMargin = 10 * time.Second
	h.start(false)
	h.lose()
	sc.startDischarge()
	lossAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(time.Minute)
	e := h.wait(StepFinalFlush)
	if got := e.At.Sub(lossAt); got < 38*time.Second || got > 40*time.Second {
		t.Fatalf("final flush %v after the loss, want about 38.75 s (48.75 s − 10 s margin)\n%s", got, h.dump())
	}
}

func TestChargeWait(t *testing.T) {
	cap5 := Capacitor{EmptyV: 2.5, FullV: 5}
	for _, tc := range []struct {
		name     string
		volts    func(s float64) float64 // by seconds since the start
		fail     bool
		charged  bool
		timedOut bool
		waited   time.Duration
		readings int
	}{
		{"charged at start", func(float64) float64 { return 4.9 }, false, true, false, 0, 0},
		// 0.1 V/s from 2.5 V: charge ≥ 0.8 at V² ≥ 6.25+0.8·18.75 = 21.25,
		// V ≥ 4.61 V, after 21.1 s: the reading at 22 s releases it.
		{"released at threshold", func(s float64) float64 { return 2.5 + 0.1*s }, false, true, false, 22 * time.Second, 22},
		{"released at timeout", func(s float64) float64 { return 3 }, false, false, true, time.Minute, 30},
		{"unreadable until timeout", nil, true, false, true, time.Minute, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := NewFakeClock(t0)
			w := ChargeWait{
				Read: func() (float64, error) {
					if tc.fail {
						return 0, errors.New("adc: no answer")
					}
					return tc.volts(clk.Now().Sub(t0).Seconds()), nil
				},
				Cap: cap5, Min: 0.8, Timeout: time.Minute, Every: time.Second, Clock: clk,
			}
			if err := w.Validate(); err != nil {
				t.Fatal(err)
			}
			if tc.name == "released at timeout" {
				w.Every = 2 * time.Second
			}
			progress := make(chan ChargeStatus)
			done := make(chan ChargeStatus, 1)
			go func() {
				done <- w.Wait(context.Background(), func(s ChargeStatus) { progress <- s })
			}()
			n := 0
			for {
				select {
				case st := <-done:
					if st.Charged != tc.charged || st.TimedOut != tc.timedOut || !st.Done || st.Waited != tc.waited {
						t.Fatalf("status %+v, want charged %v timed out %v after %v", st, tc.charged, tc.timedOut, tc.waited)
					}
					if n != tc.readings {
						t.Fatalf("%d progress reports, want %d", n, tc.readings)
					}
					if tc.fail && (st.Err == nil || st.Charge != -1) {
						t.Fatalf("unreadable capacitor: status %+v", st)
					}
					return
				case st := <-progress:
					n++
					if st.Done || st.Charged {
						t.Fatalf("progress %+v says done", st)
					}
					clk.Advance(w.Every)
				}
			}
		})
	}
	if err := (ChargeWait{Read: func() (float64, error) { return 0, nil }, Cap: Capacitor{EmptyV: 2.5}, Min: 0.8, Timeout: 1, Every: 1}).Validate(); err == nil {
		t.Error("a wait without the full voltage validated")
	}
}

func TestChargeWaitStopsWithContext(t *testing.T) {
	clk := NewFakeClock(t0)
	ctx, cancel := context.WithCancel(context.Background())
	w := ChargeWait{Read: func() (float64, error) { return 3, nil }, Cap: Capacitor{EmptyV: 2.5, FullV: 5}, Min: 0.8,
		Timeout: time.Minute, Every: time.Second, Clock: clk}
	st := w.Wait(ctx, func(ChargeStatus) { cancel() })
	if st.Done {
		t.Fatalf("a cancelled wait says done: %+v", st)
	}
}
