package power

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// bootIs makes the harness's kernel report boot id id (at the next start).
func (h *harness) bootIs(id string) {
	h.deps.BootID = func() (string, error) { return id + "\n", nil }
}

// TestRestartWithMainsPresentLogsNothing: an operator's restart (same
// boot) and a reboot (another boot) with mains present and no open outage
// in the journal are not outages: nothing is journaled, reported or logged.
func TestRestartWithMainsPresentLogsNothing(t *testing.T) {
	for _, boot := range []string{"boot-1", "boot-2"} {
		t.Run(boot, func(t *testing.T) {
			h := newHarness(t)
			// An earlier outage, closed: the journal holds no open one.
			h.jr.begins = []OutageBegin{{At: t0.Add(-time.Hour), BootID: "boot-1"}}
			h.jr.ends = []OutageEnd{{Begin: t0.Add(-time.Hour), End: t0.Add(-59 * time.Minute)}}
			h.bootIs(boot)
			h.start(false)
			h.wait(StepIdle)
			h.advance(time.Minute)
			h.assertSteps(StepIdle)
			h.assertCalls()
			h.assertGate(false)
			if s := h.stats(); s.Outages != 0 || s.Warm != 0 || s.Cold != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestOutageJournalsBootID: every outage-begin record carries the boot id
// and a return this process saw is warm, with that as its evidence.
func TestOutageJournalsBootID(t *testing.T) {
	h := newHarness(t)
	h.bootIs("boot-1")
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	begins, ends := h.jr.snapshot()
	if len(begins) != 1 || begins[0].BootID != "boot-1" {
		t.Fatalf("journal begins %+v, want the boot id", begins)
	}
	if len(ends) != 1 || ends[0].Cold || ends[0].Evidence != evidenceLived {
		t.Fatalf("journal ends %+v", ends)
	}
	if recs := h.olog.snapshot(); len(recs) != 1 || recs[0].Kind != KindWarm || recs[0].Evidence != evidenceLived {
		t.Fatalf("outage log %+v", recs)
	}
}

// TestSameBootRestartDuringOutage: holdup is restarted (same boot) while
// the mains is still out: the outage continues — not journaled twice, the
// hold-up budget still counted from the loss — and its return is warm.
func TestSameBootRestartDuringOutage(t *testing.T) {
	h := newHarness(t)
	h.bootIs("boot-1")
	h.start(false)
	h.lose()
	lossAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.rec.journalAdd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	h.advance(100 * time.Second)

	h.restart(true) // systemctl restart holdup, mains still out
	h.assertGate(true)
	h.advance(h.m.cfg.Settle)
	e := h.wait(StepOutageContinued)
	if !strings.Contains(e.Detail, "not journaled again") || !strings.Contains(e.Detail, "warm: same boot boot-1") {
		t.Fatalf("continued-outage step %q, want the same-boot continuation named", e.Detail)
	}
	h.wait(StepModulesInvalid)
	if begins, _ := h.jr.snapshot(); len(begins) != 1 {
		t.Fatalf("journal begins %+v: the open outage must be continued, not duplicated", begins)
	}
	h.advance(50 * time.Second)
	f := h.wait(StepFinalFlush) // due 150 s after the loss, not after the restart
	if got := f.At.Sub(lossAt); got != 150*time.Second {
		t.Fatalf("final flush %v after the loss, want 150 s", got)
	}
	h.back()
	backAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(cat(continued, []Step{StepFinalFlush, StepFlushed}, warmJournaled)...)
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || ends[0].Cold || !ends[0].Begin.Equal(lossAt) || !ends[0].End.Equal(backAt) ||
		!strings.Contains(ends[0].Evidence, "same boot") {
		t.Fatalf("journal ends %+v, want one warm end naming the same boot", ends)
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 || recs[0].Kind != KindWarm || !strings.Contains(recs[0].Evidence, "same boot") ||
		recs[0].Replay.Replayed != 12 {
		t.Fatalf("outage log %+v", recs)
	}
	if err := h.rec.exactlyOnce(12); err != nil {
		t.Fatal(err)
	}
	if s := h.stats(); s.Warm != 1 || s.Cold != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestSameBootRestartAfterReturn: holdup was down when the mains came
// back (same boot): at start-up the open outage continues, protection
// comes back on, and the present line is confirmed by the phase voltages:
// a warm return dated by the start-up, interfaces reinitialised.
func TestSameBootRestartAfterReturn(t *testing.T) {
	h := newHarness(t)
	began := t0.Add(-20 * time.Second)
	h.jr.begins = []OutageBegin{{At: began, Confirmed: true, BootID: "boot-1"}}
	h.rec.journalAdd(1, 2, 3)
	h.bootIs("boot-1")
	h.start(false)
	h.wait(StepModulesInvalid)
	h.assertGate(true)
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(cat([]Step{StepOutageContinued, StepOutageReported, StepGated, StepModulesInvalid, StepPriority}, warmJournaled)...)
	h.assertCalls("gate", "uplink.outage", "modules.invalid=true",
		"journal.end", "uplink.restore", "reinit", "ungate", "modules.invalid=false", "resume", "replay", "outagelog")
	h.assertGate(false)
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || ends[0].Cold || !ends[0].Confirmed || !ends[0].End.Equal(t0) ||
		ends[0].Evidence != "same boot boot-1: the terminal never lost power" {
		t.Fatalf("journal ends %+v", ends)
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 || recs[0].Kind != KindWarm || recs[0].Duration != 20*time.Second || !recs[0].RestoreConfirmed {
		t.Fatalf("outage log %+v", recs)
	}
	if err := h.rec.exactlyOnce(3); err != nil {
		t.Fatal(err)
	}
}

// TestSameBootCrashDuringRecovery: holdup crashes in the middle of a
// replay (same boot) and restarts: the outage was already ended, so there
// is no second outage, cold or warm; the rest of the journal is replayed,
// every record exactly once.
func TestSameBootCrashDuringRecovery(t *testing.T) {
	h := newHarness(t)
	h.bootIs("boot-1")
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	ids := make([]int, 25)
	for i := range ids {
		ids[i] = i + 1
	}
	h.rec.journalAdd(ids...)
	h.rec.holdBefore(1) // after the first batch of 10
	held := h.rec.held
	h.back()
	h.advance(h.m.cfg.Settle)
	<-held

	h.restart(false) // the crash: the replay stops at its safe point
	h.wait(StepSleeping)
	h.assertSteps(StepLeftoverRecovered, StepReplayed, StepConsumed, StepSleeping)
	if err := h.rec.exactlyOnce(25); err != nil {
		t.Fatal(err)
	}
	begins, ends := h.jr.snapshot()
	if len(begins) != 1 || len(ends) != 1 || ends[0].Cold {
		t.Fatalf("journal %+v / %+v, want the one outage, ended warm once", begins, ends)
	}
	if s := h.stats(); s.Outages != 0 || s.Cold != 0 || s.Warm != 0 {
		t.Fatalf("stats after the restart %+v: no new outage", s)
	}
}

// TestRebootAfterCapacitorRanOut: another boot id at start-up means the
// terminal rebooted: a cold start, whose evidence names the boot ids, even
// within the hold-up budget; the shut interfaces are reinitialised.
func TestRebootAfterCapacitorRanOut(t *testing.T) {
	h := newHarness(t)
	began := t0.Add(-30 * time.Second)
	h.jr.begins = []OutageBegin{{At: began, Confirmed: true, BootID: "boot-1"}}
	h.rec.journalAdd(1, 2, 3)
	h.bootIs("boot-2")
	h.start(false)
	h.wait(StepSleeping)
	h.assertSteps(StepColdStart, StepRestoreReported, StepCold, StepReinit, StepReplayed, StepConsumed, StepCompletion, StepSleeping)
	h.assertCalls("journal.end", "uplink.restore", "reinit", "replay", "outagelog")
	const want = "boot id changed boot-1 → boot-2: the terminal rebooted"
	if e := h.m.Timeline().Entries()[2]; e.Step != StepCold || !strings.Contains(e.Detail, want) {
		t.Fatalf("cold start detail %q, want %q", e.Detail, want)
	}
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || !ends[0].Cold || ends[0].Evidence != want {
		t.Fatalf("journal ends %+v", ends)
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 || recs[0].Kind != KindCold || recs[0].Evidence != want {
		t.Fatalf("outage log %+v", recs)
	}
	if err := h.rec.exactlyOnce(3); err != nil {
		t.Fatal(err)
	}
	if s := h.stats(); s.Cold != 1 || s.Warm != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestRebootOnCapacitorContinuesCold: booted on the capacitor (another
// boot, mains still out): the open outage is continued, and cold.
func TestRebootOnCapacitorContinuesCold(t *testing.T) {
	h := newHarness(t)
	h.jr.begins = []OutageBegin{{At: t0.Add(-30 * time.Second), Confirmed: true, BootID: "boot-1"}}
	h.bootIs("boot-2")
	h.vm.set(0, 0, 0)
	h.start(true)
	h.advance(h.m.cfg.Settle)
	e := h.wait(StepOutageContinued)
	if !strings.Contains(e.Detail, "cold: boot id changed") {
		t.Fatalf("detail %q", e.Detail)
	}
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(cat(continued, []Step{StepRestoreConfirmed, StepRestoreReported, StepCold, StepReinit, StepResumed,
		StepReplayed, StepCompletion, StepSleeping})...)
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || !ends[0].Cold || !strings.Contains(ends[0].Evidence, "boot id changed") {
		t.Fatalf("journal ends %+v", ends)
	}
}

// TestUnknownBootFallsBack: a begin record without a boot id (an older
// journal), or a kernel whose boot id cannot be read, leaves the supercap
// voltage at start-up (when measured), then the time elapsed against the
// hold-up budget; with no evidence either way the outage is cold, as
// before boot ids were journaled.
func TestUnknownBootFallsBack(t *testing.T) {
	tests := []struct {
		name    string
		recBoot string                 // boot id in the begin record
		boot    func() (string, error) // nil: no source
		since   time.Duration          // from the loss to the start-up
		capV    float64                // 0: no supercap measured
		want    []string               // in the evidence
	}{
		{"old record beyond budget", "", func() (string, error) { return "boot-1", nil }, time.Hour, 0,
			[]string{"carries no boot id", "1h0m0s since the loss > hold-up budget 3m0s"}},
		{"old record within budget", "", func() (string, error) { return "boot-1", nil }, 30 * time.Second, 0,
			[]string{"carries no boot id", "within the hold-up budget 3m0s: no evidence either way, cold"}},
		{"no boot id source", "boot-1", nil, 30 * time.Second, 0,
			[]string{"no boot id source", "no evidence either way"}},
		{"boot id unreadable", "boot-1", func() (string, error) { return "", errors.New("no /proc") }, 30 * time.Second, 0,
			[]string{"boot id unreadable: no /proc", "no evidence either way"}},
		{"supercap drained", "", nil, 30 * time.Second, 1.2,
			[]string{"supercap 1.20 V at start-up, at or below empty 2.50 V: it ran out"}},
		{"supercap charged", "", nil, time.Hour, 4.9,
			[]string{"supercap 4.90 V at start-up proves nothing", "> hold-up budget"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.jr.begins = []OutageBegin{{At: t0.Add(-tc.since), BootID: tc.recBoot}}
			h.deps.BootID = tc.boot
			if tc.capV > 0 {
				h.deps.Supercap = func() (float64, error) { return tc.capV, nil }
				h.cfg.SupercapMinV = 2.5
			}
			h.start(false)
			h.wait(StepSleeping)
			_, ends := h.jr.snapshot()
			if len(ends) != 1 || !ends[0].Cold {
				t.Fatalf("journal ends %+v, want one cold end", ends)
			}
			for _, w := range tc.want {
				if !strings.Contains(ends[0].Evidence, w) {
					t.Fatalf("evidence %q, want %q in it", ends[0].Evidence, w)
				}
			}
			if recs := h.olog.snapshot(); len(recs) != 1 || recs[0].Evidence != ends[0].Evidence {
				t.Fatalf("outage log %+v", recs)
			}
		})
	}
}
