package power

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRandomNestedEvents drives the monitor through random sequences of
// losses, returns, chatter, slow or unreachable voltmeters and journal
// writes, then lets power return for good and checks what must always
// hold: every journaled record is in the data store exactly once, every
// outage-begin has an end and a completion record, the gate was never
// misused and ends open, and the monitor is back asleep.
func TestRandomNestedEvents(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, seed, false) })
	}
}

// TestRandomNestedEventsWithCrashes adds process deaths at random points
// (the capacitor running out, or a crash) followed by a restart on the same
// journal and data store: cold starts and left-over replays.
func TestRandomNestedEventsWithCrashes(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, seed, true) })
	}
}

func randomRun(t *testing.T, seed int, crashes bool) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	h := newHarness(t)
	h.rec.batch = 3
	h.start(false)
	on := true
	nextID := 1
	restarts := 0
	ops := 7
	if crashes {
		ops = 8
	}
	for i := 0; i < 80; i++ {
		switch rng.IntN(ops) {
		case 0, 1:
			if on {
				h.lose()
			} else {
				h.back()
			}
			on = !on
		case 2:
			h.advance(time.Duration(1+rng.IntN(30)) * time.Millisecond)
		case 3:
			h.advance(time.Duration(100+rng.IntN(3000)) * time.Millisecond)
		case 4:
			if on {
				break // the scheduler journals only while IO is shed
			}
			n := 1 + rng.IntN(5)
			for k := 0; k < n; k++ {
				h.rec.journalAdd(nextID)
				nextID++
			}
		case 5:
			h.vm.setBlock(rng.IntN(3) == 0)
		case 6:
			final := MainsPresent
			if !on {
				final = MainsLost
			}
			if err := h.line.Chatter(2*(1+rng.IntN(20)), func() { h.clk.Advance(50 * time.Microsecond) }, final); err != nil {
				t.Fatal(err)
			}
			h.sync()
		case 7:
			if _, misuse := h.gate.state(); misuse != 0 {
				t.Fatalf("gate misused before restart %d\n%s", restarts, h.dump())
			}
			h.restart(!on)
			restarts++
		}
	}
	h.vm.setBlock(false)
	if !on {
		h.back()
	}
	settled := false
	for i := 0; i < 400 && !settled; i++ {
		h.advance(500 * time.Millisecond)
		s := h.stats()
		pending, _ := h.rec.Pending(t.Context())
		settled = s.State == StateNormal && pending == 0 && !h.m.working
		if !settled {
			select {
			case <-h.m.Timeline().Changed():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if !settled {
		t.Fatalf("monitor did not settle (restarts %d): %+v\n%s", restarts, h.stats(), h.dump())
	}
	if err := h.rec.exactlyOnce(nextID - 1); err != nil {
		t.Fatalf("%v\n%s", err, h.dump())
	}
	if g, misuse := h.gate.state(); g || misuse != 0 {
		t.Fatalf("gate gated=%v misuse=%d at the end\n%s", g, misuse, h.dump())
	}
	begins, ends := h.jr.snapshot()
	if len(begins) != len(ends) {
		t.Fatalf("%d outage-begin records, %d ends\n%s", len(begins), len(ends), h.dump())
	}
	recs := h.olog.snapshot()
	seen := map[time.Time]bool{}
	for _, r := range recs {
		if seen[r.Begin] {
			t.Fatalf("outage of %v recorded twice", r.Begin)
		}
		seen[r.Begin] = true
	}
	if crashes {
		if len(recs) > len(begins) {
			t.Fatalf("%d completion records for %d outages", len(recs), len(begins))
		}
		return
	}
	s := h.stats()
	if len(recs) != len(begins) || s.Outages != len(begins) || s.Warm != len(begins) {
		t.Fatalf("%d begins, %d completion records, stats %+v\n%s", len(begins), len(recs), s, h.dump())
	}
	if s.Replay != (ReplayResult{Replayed: nextID - 1}) {
		t.Fatalf("replays counted %+v, want %d replayed and no duplicates", s.Replay, nextID-1)
	}
	replayed := 0
	for _, r := range recs {
		replayed += r.Replay.Replayed
	}
	if replayed > s.Replay.Replayed {
		t.Fatalf("completion records count %d replayed, more than the %d replayed", replayed, s.Replay.Replayed)
	}
}

func TestEndlessChatterIsDecidedAfterMaxSettle(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose() // the voltmeter reads 0 V: the line cannot be trusted, the phases decide
	// The line keeps bouncing every 5 ms (less than the 20 ms settle time).
	for i := 0; i < 400; i++ {
		h.advance(5 * time.Millisecond)
		if i%2 == 0 {
			_ = h.line.Restore()
		} else {
			_ = h.line.Fail()
		}
		h.sync()
		if s := h.stats(); s.State != StateConfirming {
			e := h.wait(StepLossConfirmed)
			if d := e.At.Sub(t0); d < h.m.cfg.MaxSettle || d > h.m.cfg.MaxSettle+h.m.cfg.Settle {
				t.Fatalf("decided at %v, want at MaxSettle (%v)\n%s", d, h.m.cfg.MaxSettle, h.dump())
			}
			h.assertSteps(cat([]Step{StepIdle}, lossSteps)...)
			return
		}
	}
	t.Fatalf("no decision after 2 s of chatter\n%s", h.dump())
}
