package power

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var lossSteps = []Step{StepEdgeGated, StepLossConfirmed, StepOutageJournaled, StepOutageReported, StepGated, StepModulesInvalid, StepPriority}

var warmSteps = []Step{StepRestoreConfirmed, StepRestoreReported, StepWarm, StepReinit, StepResumed, StepReplayed, StepCompletion, StepSleeping}

// continued is lossSteps for an open outage continued at start-up with
// mains lost: its begin record is not journaled again.
var continued = []Step{StepEdgeGated, StepLossConfirmed, StepOutageContinued, StepOutageReported, StepGated, StepModulesInvalid, StepPriority}

// warmJournaled is warmSteps when the replay found records: the journal
// is consumed (2-6).
var warmJournaled = []Step{StepRestoreConfirmed, StepRestoreReported, StepWarm, StepReinit, StepResumed, StepReplayed, StepConsumed, StepCompletion, StepSleeping}

func cat(parts ...[]Step) []Step {
	var out []Step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestWarmRestore(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.wait(StepIdle)

	h.lose()
	lossAt := h.clk.Now()
	h.assertGate(true) // optimistic shed: gated before any confirmation
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	// Critical data the scheduler journals during the outage.
	h.rec.journalAdd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25)
	h.advance(90 * time.Second) // one repeat of the 60 s report
	h.back()
	backAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)

	h.assertSteps(cat([]Step{StepIdle}, lossSteps, []Step{StepOutageRepeated}, warmJournaled)...)
	h.assertCalls("gate", "journal.begin", "uplink.outage", "modules.invalid=true", "uplink.outage",
		"journal.end", "uplink.restore", "reinit", "ungate", "modules.invalid=false", "resume", "replay", "outagelog")
	h.assertGate(false)
	if err := h.rec.exactlyOnce(25); err != nil {
		t.Fatal(err)
	}
	begins, ends := h.jr.snapshot()
	if len(begins) != 1 || !begins[0].At.Equal(lossAt) || !begins[0].Confirmed || begins[0].Volts != [3]float64{} {
		t.Fatalf("journal begins %+v, want one confirmed at the loss edge", begins)
	}
	if len(ends) != 1 || !ends[0].End.Equal(backAt) || ends[0].Cold || !ends[0].Confirmed {
		t.Fatalf("journal ends %+v, want one warm confirmed at the return edge", ends)
	}
	rep := h.up.snapshot()
	if len(rep) != 3 || rep[2].restore != true || !rep[2].begin.Equal(lossAt) || !rep[2].end.Equal(backAt) {
		t.Fatalf("uplink reports %+v", rep)
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 {
		t.Fatalf("outage log %+v, want one record", recs)
	}
	r := recs[0]
	if r.Kind != KindWarm || r.Duration != backAt.Sub(lossAt) || r.Replay != (ReplayResult{Replayed: 25}) ||
		!r.LossConfirmed || !r.RestoreConfirmed || r.Interrupted || len(r.ReinitFailed) != 0 {
		t.Fatalf("outage record %+v", r)
	}
	s := h.stats()
	if s.State != StateNormal || s.Outages != 1 || s.Warm != 1 || s.Cold != 0 || s.Blips != 0 || s.Unconfirmed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestColdStartThenRestartOnSameJournal(t *testing.T) {
	h := newHarness(t)
	began := t0.Add(-2 * time.Hour)
	h.jr.begins = []OutageBegin{{At: began, Confirmed: true}}
	h.rec.journalAdd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	h.rec.journal[4].bad = true // fails the second verification
	h.start(false)
	h.wait(StepSleeping)

	h.assertSteps(StepColdStart, StepRestoreReported, StepCold, StepReinit, StepReplayed, StepConsumed, StepAlarm, StepCompletion, StepSleeping)
	h.assertCalls("journal.end", "uplink.restore", "reinit", "replay", "outagelog")
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || !ends[0].Cold || !ends[0].Begin.Equal(began) || !ends[0].End.Equal(t0) {
		t.Fatalf("journal ends %+v, want the cold end of the open outage", ends)
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 || recs[0].Kind != KindCold || recs[0].Replay != (ReplayResult{Replayed: 11, Rejected: 1}) ||
		recs[0].Duration != 2*time.Hour {
		t.Fatalf("outage log %+v", recs)
	}
	if _, ok := h.alarms.find(AlarmReplayRejected); !ok {
		t.Fatalf("no alarm for the rejected record: %v", h.alarms.codes())
	}
	if s := h.stats(); s.Cold != 1 || s.Warm != 0 || s.Outages != 1 {
		t.Fatalf("stats %+v", s)
	}
	h.stop()

	// Restart on the same journal: the outage is closed and replayed, so
	// the daemon just sleeps.
	h2 := newHarness(t)
	h2.jr, h2.rec, h2.deps.Journal, h2.deps.Recoverer = h.jr, h.rec, h.jr, h.rec
	h2.start(false)
	h2.wait(StepIdle)
	h2.assertSteps(StepIdle)
	h2.assertCalls()
	if len(h.olog.snapshot()) != 1 || len(h2.olog.snapshot()) != 0 {
		t.Fatal("restart wrote another completion log")
	}
}

func TestEmptyJournalJustSleeps(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.wait(StepIdle)
	h.advance(time.Hour)
	h.assertSteps(StepIdle)
	h.assertCalls()
	if calls, _ := h.vm.stats(); calls != 0 {
		t.Fatalf("voltmeter read %d times while nothing happened", calls)
	}
}

func TestLeftoverJournalAfterCrashDuringReplay(t *testing.T) {
	h := newHarness(t)
	h.jr.begins = []OutageBegin{{At: t0.Add(-time.Hour)}}
	h.jr.ends = []OutageEnd{{Begin: t0.Add(-time.Hour), End: t0.Add(-time.Minute)}}
	h.rec.journalAdd(1, 2, 3)
	h.start(false)
	h.wait(StepSleeping)
	h.assertSteps(StepLeftoverRecovered, StepReplayed, StepConsumed, StepSleeping)
	h.assertCalls("replay")
	if err := h.rec.exactlyOnce(3); err != nil {
		t.Fatal(err)
	}
}

func TestBlipUngatesWithoutOutage(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	h.assertGate(true)
	h.advance(5 * time.Millisecond)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepBlip)
	h.assertSteps(StepIdle, StepEdgeGated, StepBlip)
	h.assertCalls("gate", "ungate")
	h.assertGate(false)
	if s := h.stats(); s.Blips != 1 || s.Outages != 0 || s.State != StateNormal {
		t.Fatalf("stats %+v", s)
	}
	// The blip is counted into the next outage's record.
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepCompletion)
	if recs := h.olog.snapshot(); len(recs) != 1 || recs[0].Blips != 1 {
		t.Fatalf("outage log %+v, want one record counting 1 blip", recs)
	}
}

func TestBlipByVoltagesWhileLineStaysAsserted(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	// The line falls but the phases stay at nominal.
	if err := h.line.Fail(); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(h.m.cfg.Settle)
	h.wait(StepBlip)
	h.assertSteps(StepIdle, StepEdgeGated, StepVoltagesDisagree, StepAlarm, StepBlip)
	h.assertGate(false)
	if _, ok := h.alarms.find(AlarmLineDisagrees); !ok {
		t.Fatalf("alarms %v, want %s", h.alarms.codes(), AlarmLineDisagrees)
	}
	// The line stays asserted; a recheck finds the phases gone → outage.
	h.advance(h.m.cfg.Recheck / 2)
	h.vm.set(0, 0, 0)
	h.advance(h.m.cfg.Recheck / 2)
	h.wait(StepModulesInvalid)
	h.assertGate(true)
	h.assertSteps(StepIdle, StepEdgeGated, StepVoltagesDisagree, StepAlarm, StepBlip,
		StepLossConfirmed, StepOutageJournaled, StepOutageReported, StepGated, StepModulesInvalid, StepPriority)
}

func TestChatterGivesOneOutage(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.vm.set(0, 0, 0)
	// The loss edge, then 1,000 edges of chatter in 10 ms, ending lost.
	if err := h.line.Fail(); err != nil {
		t.Fatal(err)
	}
	if err := h.line.Chatter(1000, func() { h.clk.Advance(10 * time.Microsecond) }, MainsLost); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if n := h.line.Edges(); n != 1001 {
		t.Fatalf("line produced %d edges, want 1001", n)
	}
	h.advance(200 * time.Millisecond)
	h.wait(StepModulesInvalid)
	h.advance(time.Second)
	h.assertSteps(cat([]Step{StepIdle}, lossSteps)...)
	h.assertCalls("gate", "journal.begin", "uplink.outage", "modules.invalid=true")
	s := h.stats()
	if s.Outages != 1 || s.Edges != 1001 || s.Blips != 0 {
		t.Fatalf("stats %+v, want one outage from 1000 edges", s)
	}
	if begins, _ := h.jr.snapshot(); len(begins) != 1 {
		t.Fatalf("%d outage-begin records, want 1", len(begins))
	}
}

func TestChatterEndingPresentIsOneBlip(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	if err := h.line.Chatter(1000, func() { h.clk.Advance(10 * time.Microsecond) }, MainsPresent); err != nil {
		t.Fatal(err)
	}
	h.advance(200 * time.Millisecond)
	h.wait(StepBlip)
	h.assertSteps(StepIdle, StepEdgeGated, StepBlip)
	h.assertCalls("gate", "ungate")
	if s := h.stats(); s.Blips != 1 || s.Outages != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestACSamplingUnreachable(t *testing.T) {
	h := newHarness(t)
	h.vm.setBlock(true)
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.sync()
	if s := h.stats(); s.State != StateConfirming {
		t.Fatalf("state %v before the confirmation timeout, want confirming", s.State)
	}
	h.advance(h.m.cfg.ConfirmTimeout)
	h.wait(StepModulesInvalid)
	h.back()
	h.advance(h.m.cfg.Settle + h.m.cfg.ConfirmTimeout)
	h.wait(StepSleeping)
	h.assertSteps(StepIdle, StepEdgeGated, StepAlarm, StepLossUnconfirmed, StepOutageJournaled,
		StepOutageReported, StepGated, StepModulesInvalid, StepPriority,
		StepAlarm, StepRestoreGPIO, StepRestoreReported, StepWarm, StepReinit, StepResumed, StepReplayed, StepCompletion, StepSleeping)
	begins, ends := h.jr.snapshot()
	if len(begins) != 1 || begins[0].Confirmed || len(ends) != 1 || ends[0].Confirmed {
		t.Fatalf("journal %+v %+v, want unconfirmed begin and end", begins, ends)
	}
	a, ok := h.alarms.find(AlarmVoltmeterUnreachable)
	if !ok || !errors.Is(a.Err, ErrVoltmeterTimeout) {
		t.Fatalf("alarm %+v, want voltmeter-unreachable wrapping ErrVoltmeterTimeout", a)
	}
	if s := h.stats(); s.Unconfirmed != 2 {
		t.Fatalf("stats %+v, want 2 unconfirmed decisions", s)
	}
	if r := h.olog.snapshot(); len(r) != 1 || r[0].LossConfirmed || r[0].RestoreConfirmed {
		t.Fatalf("outage log %+v", r)
	}
	h.stop() // waits for the abandoned reads' goroutines
	if calls, cancelled := h.vm.stats(); calls != 2 || cancelled != 2 {
		t.Fatalf("voltmeter calls %d cancelled %d, want 2 and 2 (reads abandoned at the timeout)", calls, cancelled)
	}
}

func TestNoVoltmeterDecidesFromGPIO(t *testing.T) {
	h := newHarness(t)
	h.deps.Voltmeter = nil
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.assertSteps(StepIdle, StepEdgeGated, StepLossUnconfirmed, StepOutageJournaled, StepOutageReported, StepGated, StepModulesInvalid, StepPriority)
	if len(h.alarms.codes()) != 0 {
		t.Fatalf("alarms %v without a voltmeter configured", h.alarms.codes())
	}
}

func TestRestoreDuringShed(t *testing.T) {
	h := newHarness(t)
	h.vm.setBlock(true) // the confirmation is still pending when power returns
	h.start(false)
	h.lose()
	h.advance(3 * time.Millisecond)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepBlip)
	h.advance(2 * h.m.cfg.ConfirmTimeout)
	h.assertSteps(StepIdle, StepEdgeGated, StepBlip)
	h.assertCalls("gate", "ungate")
	h.assertGate(false)
	if len(h.alarms.codes()) != 0 {
		t.Fatalf("alarms %v for an abandoned read", h.alarms.codes())
	}
	h.stop()
	if calls, cancelled := h.vm.stats(); calls != 1 || cancelled != 1 {
		t.Fatalf("voltmeter calls %d cancelled %d, want the pending read cancelled", calls, cancelled)
	}
}

func TestLossDuringRecoveryThenOutage(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	ids := make([]int, 30)
	for i := range ids {
		ids[i] = i + 1
	}
	h.rec.journalAdd(ids...)
	h.rec.holdBefore(1) // replay imports batch 0 (10 records), then holds
	h.back()
	h.advance(h.m.cfg.Settle)
	<-h.rec.held
	h.sync() // the worker's earlier results are queued before this
	// Power fails again in the middle of the replay.
	h.lose()
	h.wait(StepRecoveryStopped)
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.assertGate(true)
	// The interrupted outage is in the log already: if the capacitor runs
	// out now, its completion entry is not lost with the process.
	deadline := time.Now().Add(5 * time.Second)
	for len(h.olog.snapshot()) == 0 && time.Now().Before(deadline) {
		h.sync()
		time.Sleep(time.Millisecond)
	}
	if recs := h.olog.snapshot(); len(recs) != 1 || !recs[0].Interrupted || recs[0].Replay.Replayed != 10 {
		t.Fatalf("outage log during the second outage: %+v, want the interrupted first outage", recs)
	}
	h.rec.journalAdd(31, 32) // journaled during the second outage
	h.advance(10 * time.Second)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)

	h.assertSteps(cat(
		[]Step{StepIdle}, lossSteps,
		[]Step{StepRestoreConfirmed, StepRestoreReported, StepWarm, StepReinit, StepResumed},
		[]Step{StepEdgeGated, StepRecoveryStopped, StepLossConfirmed,
			StepOutageJournaled, StepOutageReported, StepGated, StepModulesInvalid, StepPriority},
		warmJournaled)...)
	if err := h.rec.exactlyOnce(32); err != nil {
		t.Fatal(err)
	}
	recs := h.olog.snapshot()
	if len(recs) != 2 {
		t.Fatalf("outage log %+v, want two records", recs)
	}
	if !recs[0].Interrupted || recs[0].Replay.Replayed != 10 || recs[1].Interrupted || recs[1].Replay.Replayed != 22 {
		t.Fatalf("records %+v: want the first interrupted after 10 records, the second replaying 22", recs)
	}
	begins, ends := h.jr.snapshot()
	if len(begins) != 2 || len(ends) != 2 {
		t.Fatalf("journal has %d begins and %d ends, want 2 and 2", len(begins), len(ends))
	}
	if h.c.count("reinit") != 2 {
		t.Fatalf("reinit ran %d times, want once per outage", h.c.count("reinit"))
	}
	h.assertGate(false)
	if s := h.stats(); s.Outages != 2 || s.Warm != 2 || s.Replay.Replayed != 32 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBlipDuringRecoveryResumesIt(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	ids := make([]int, 25)
	for i := range ids {
		ids[i] = i + 1
	}
	h.rec.journalAdd(ids...)
	h.rec.holdBefore(2)
	h.back()
	h.advance(h.m.cfg.Settle)
	<-h.rec.held
	h.sync() // the worker's earlier results are queued before this
	h.lose()
	h.wait(StepRecoveryStopped)
	h.advance(2 * time.Millisecond)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(cat(
		[]Step{StepIdle}, lossSteps,
		[]Step{StepRestoreConfirmed, StepRestoreReported, StepWarm, StepReinit, StepResumed},
		[]Step{StepEdgeGated, StepRecoveryStopped, StepBlip, StepRecoveryResumed,
			StepReplayed, StepConsumed, StepCompletion, StepSleeping})...)
	if err := h.rec.exactlyOnce(25); err != nil {
		t.Fatal(err)
	}
	if h.c.count("reinit") != 1 || h.c.count("replay") != 2 {
		t.Fatalf("calls %q: want one reinit and the replay resumed once", h.c.all())
	}
	recs := h.olog.snapshot()
	if len(recs) != 1 || recs[0].Replay.Replayed != 25 || recs[0].Blips != 1 {
		t.Fatalf("outage log %+v", recs)
	}
	h.assertGate(false)
}

func TestGarbageVoltmeterKeepsProtecting(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.vm.set(math.NaN(), 0, 0)
	if err := h.line.Fail(); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.vm.set(220, 9999, 220) // out of range on return
	if err := h.line.Restore(); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(StepIdle, StepEdgeGated, StepAlarm, StepLossUnconfirmed, StepOutageJournaled,
		StepOutageReported, StepGated, StepModulesInvalid, StepPriority,
		StepAlarm, StepRestoreGPIO, StepRestoreReported, StepWarm, StepReinit, StepResumed, StepReplayed, StepCompletion, StepSleeping)
	var garbage []Alarm
	for _, a := range h.alarms.alarms {
		if a.Code == AlarmVoltmeterGarbage {
			garbage = append(garbage, a)
		}
	}
	if len(garbage) != 2 || !errors.Is(garbage[0].Err, ErrBadReading) ||
		!strings.Contains(garbage[0].Err.Error(), "phase A") || !strings.Contains(garbage[1].Err.Error(), "phase B") {
		t.Fatalf("garbage alarms %+v, want two naming phases A and B", garbage)
	}
}

// TestBrownoutInHysteresisBand: a loss edge with the deciding phases in
// the band between loss_v and restore_v is decided from the GPIO line
// (unconfirmed); a return in the band is no return until a recheck finds
// the phases back, and the outage ends when that reading confirms it.
// Under the method's rule the lowest phase decides, under "any" the
// highest (the old rule, kept as the option).
func TestBrownoutInHysteresisBand(t *testing.T) {
	tests := []struct {
		rule          PhaseRule
		lost, sag, ok [3]float64
	}{
		// All three phases in the band at the edge; on return two are
		// back and one lags in the band, then it is back too.
		{PhasesAll, [3]float64{150, 140, 160}, [3]float64{220, 221, 150}, [3]float64{220, 221, 219}},
		// Single-phase fed: phase A alone decides.
		{PhasesAny, [3]float64{150, 140, 0}, [3]float64{150, 140, 0}, [3]float64{200, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(string(tc.rule), func(t *testing.T) {
			h := newHarness(t)
			h.cfg.PhaseRule = tc.rule
			h.start(false)
			h.vm.set(tc.lost[0], tc.lost[1], tc.lost[2])
			if err := h.line.Fail(); err != nil {
				t.Fatal(err)
			}
			h.sync()
			h.advance(h.m.cfg.Settle)
			h.wait(StepModulesInvalid)
			// The line returns but the phases are still in the band: no restore.
			h.vm.set(tc.sag[0], tc.sag[1], tc.sag[2])
			if err := h.line.Restore(); err != nil {
				t.Fatal(err)
			}
			h.sync()
			h.advance(h.m.cfg.Settle)
			h.wait(StepVoltagesDisagree)
			if s := h.stats(); s.State != StateOutage {
				t.Fatalf("state %v with phases in the band, want outage", s.State)
			}
			h.assertGate(true)
			h.vm.set(tc.ok[0], tc.ok[1], tc.ok[2])
			h.advance(h.m.cfg.Recheck)
			backAt := h.clk.Now()
			h.wait(StepSleeping)
			h.assertSteps(cat([]Step{StepIdle, StepEdgeGated, StepLossUnconfirmed, StepOutageJournaled,
				StepOutageReported, StepGated, StepModulesInvalid, StepPriority, StepVoltagesDisagree}, warmSteps)...)
			if _, ends := h.jr.snapshot(); len(ends) != 1 || !ends[0].End.Equal(backAt) || !ends[0].Confirmed {
				t.Fatalf("journal ends %+v, want one confirmed at %v (the reading that found the phases back)", ends, backAt)
			}
		})
	}
}

// TestLossOfOnePhase: the line falls and only phase B drops. The method
// (phase_rule "all"): one phase out of range confirms the loss. "any":
// phases A and C say the mains is fine, so the edge is a blip and the
// phases are rechecked while the line stays asserted.
func TestLossOfOnePhase(t *testing.T) {
	for _, rule := range []PhaseRule{PhasesAll, PhasesAny} {
		t.Run(string(rule), func(t *testing.T) {
			h := newHarness(t)
			h.cfg.PhaseRule = rule
			h.start(false)
			h.vm.set(230, 0, 230)
			if err := h.line.Fail(); err != nil {
				t.Fatal(err)
			}
			h.sync()
			h.advance(h.m.cfg.Settle)
			if rule == PhasesAll {
				h.wait(StepModulesInvalid)
				h.assertSteps(cat([]Step{StepIdle}, lossSteps)...)
				h.assertGate(true)
				begins, _ := h.jr.snapshot()
				if len(begins) != 1 || !begins[0].Confirmed || begins[0].Volts != [3]float64{230, 0, 230} {
					t.Fatalf("journal begins %+v, want one confirmed by A 230, B 0, C 230", begins)
				}
				if s := h.stats(); s.State != StateOutage || s.Outages != 1 || s.Unconfirmed != 0 || s.Blips != 0 {
					t.Fatalf("stats %+v", s)
				}
				return
			}
			h.wait(StepBlip)
			h.advance(3 * h.m.cfg.Recheck) // rechecks still find A and C fine
			h.assertSteps(StepIdle, StepEdgeGated, StepVoltagesDisagree, StepAlarm, StepBlip)
			h.assertGate(false)
			if _, ok := h.alarms.find(AlarmLineDisagrees); !ok {
				t.Fatalf("alarms %v, want %s", h.alarms.codes(), AlarmLineDisagrees)
			}
			if begins, _ := h.jr.snapshot(); len(begins) != 0 {
				t.Fatalf("journal begins %+v, want none", begins)
			}
			if s := h.stats(); s.State != StateNormal || s.Outages != 0 || s.Blips != 1 {
				t.Fatalf("stats %+v", s)
			}
			if calls, _ := h.vm.stats(); calls != 4 {
				t.Fatalf("voltmeter read %d times, want the confirmation and 3 rechecks", calls)
			}
		})
	}
}

// TestReturnWithOnePhaseNotBack: the line returns while one phase is still
// in the band or out. The method (phase_rule "all"): no return until all
// three phases meet the specification; the outage goes on, rechecked every
// recheck interval, the hold-up budget running. "any": the phases that are
// back make it a return at once.
func TestReturnWithOnePhaseNotBack(t *testing.T) {
	for _, rule := range []PhaseRule{PhasesAll, PhasesAny} {
		for _, tc := range []struct {
			name string
			v    [3]float64
		}{
			{"phase A in the band", [3]float64{175.9, 221, 219}},
			{"phase B at loss_v", [3]float64{220, 132, 219}},
			{"phase C out", [3]float64{220, 221, 0}},
		} {
			t.Run(string(rule)+"/"+tc.name, func(t *testing.T) {
				h := newHarness(t)
				h.cfg.PhaseRule = rule
				h.start(false)
				h.lose()
				h.advance(h.m.cfg.Settle)
				h.wait(StepModulesInvalid)
				h.advance(5 * time.Second)
				h.vm.set(tc.v[0], tc.v[1], tc.v[2])
				if err := h.line.Restore(); err != nil {
					t.Fatal(err)
				}
				h.sync()
				backAt := h.clk.Now()
				h.advance(h.m.cfg.Settle)
				if rule == PhasesAny {
					h.wait(StepSleeping)
					h.assertSteps(cat([]Step{StepIdle}, lossSteps, warmSteps)...)
					if _, ends := h.jr.snapshot(); len(ends) != 1 || !ends[0].End.Equal(backAt) || !ends[0].Confirmed {
						t.Fatalf("journal ends %+v, want one confirmed at the return edge %v", ends, backAt)
					}
					return
				}
				h.wait(StepVoltagesDisagree)
				h.advance(3 * h.m.cfg.Recheck)
				if s := h.stats(); s.State != StateOutage || s.Warm != 0 {
					t.Fatalf("stats %+v with one phase not back, want still in the outage", s)
				}
				h.assertGate(true)
				if _, ends := h.jr.snapshot(); len(ends) != 0 {
					t.Fatalf("journal ends %+v, want none", ends)
				}
				n := 0
				for _, st := range h.steps() {
					if st == StepVoltagesDisagree {
						n++
					}
				}
				if n != 4 {
					t.Fatalf("%d disagreements, want the first reading and 3 rechecks\n%s", n, h.dump())
				}
				// The last phase comes back: the next recheck ends the outage.
				h.vm.set(220, 221, 219)
				h.advance(h.m.cfg.Recheck)
				doneAt := h.clk.Now()
				h.wait(StepSleeping)
				_, ends := h.jr.snapshot()
				if len(ends) != 1 || !ends[0].End.Equal(doneAt) || !ends[0].Confirmed || ends[0].Cold {
					t.Fatalf("journal ends %+v, want one warm, confirmed at %v", ends, doneAt)
				}
				if recs := h.olog.snapshot(); len(recs) != 1 || !recs[0].RestoreConfirmed || recs[0].Kind != KindWarm {
					t.Fatalf("outage log %+v", recs)
				}
				h.assertGate(false)
			})
		}
	}
}

func TestJournalFailureStillProtects(t *testing.T) {
	h := newHarness(t)
	h.jr.failAll = errors.New("eeprom: nak at 0x50")
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.assertSteps(StepAlarm, StepIdle, StepEdgeGated, StepLossConfirmed, StepAlarm, StepOutageReported, StepGated, StepModulesInvalid, StepPriority)
	h.assertGate(true)
	a, ok := h.alarms.find(AlarmJournal)
	if !ok || !strings.Contains(a.Err.Error(), "unreadable at start-up") {
		t.Fatalf("alarm %+v", a)
	}
}

func TestFinalFlushByConfiguredHoldUp(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	lossAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(149 * time.Second)
	s := h.stats()
	if s.FinalFlushes != 0 {
		t.Fatal("final flush before the margin")
	}
	// The status's hold-up left: the configured budget counting down.
	if left := 180*time.Second - h.clk.Now().Sub(lossAt); s.HoldupLeft != left || s.HoldupFromCap {
		t.Fatalf("hold-up left %v (from cap %v), want %v from the configured budget", s.HoldupLeft, s.HoldupFromCap, left)
	}
	h.advance(time.Second)
	e := h.wait(StepFinalFlush)
	if got := e.At.Sub(lossAt); got != 150*time.Second {
		t.Fatalf("final flush %v after the loss, want 150 s (180 s hold-up − 30 s margin)", got)
	}
	h.wait(StepFlushed)
	if got := h.flush.snapshot(); len(got) != 1 || got[0] != 30*time.Second {
		t.Fatalf("flusher got %v, want one call with 30 s left", got)
	}
}

func TestFinalFlushBySupercapEstimate(t *testing.T) {
	h := newHarness(t)
	// 1 F at 5 V, 0.1 W, cut-off 2.5 V: 93.75 s of hold-up, far less than
	// the configured 180 s; the flush must come at 93.75 − 30 s.
	sc := &supercapModel{clk: h.clk, c: 1, p: 0.1, v0: 5}
	h.deps.Supercap = sc.read
	h.cfg.SupercapMinV = 2.5
	h.start(false)
	h.lose()
	sc.startDischarge()
	lossAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(20 * time.Second)
	// The status's hold-up left follows the capacitor's discharge (about
	// 93.75 s from the loss), not the configured 180 s.
	if s, want := h.stats(), 93750*time.Millisecond-h.clk.Now().Sub(lossAt); !s.HoldupFromCap || s.HoldupLeft < want-2*time.Second || s.HoldupLeft > want+2*time.Second {
		t.Fatalf("hold-up left %v (from cap %v), want about %v from the supercap", s.HoldupLeft, s.HoldupFromCap, want)
	}
	h.advance(100 * time.Second)
	e := h.wait(StepFinalFlush)
	got := e.At.Sub(lossAt)
	if got < 63*time.Second || got > 65*time.Second {
		t.Fatalf("final flush %v after the loss, want about 63.75 s", got)
	}
	if !strings.Contains(e.Detail, "supercap") {
		t.Fatalf("detail %q, want the supercap estimate named", e.Detail)
	}
}

func TestSupercapFailureFallsBackToHoldUp(t *testing.T) {
	h := newHarness(t)
	sc := &supercapModel{clk: h.clk, c: 1, p: 0.1, v0: 5, failAfter: 1}
	h.deps.Supercap = sc.read
	h.cfg.SupercapMinV = 2.5
	h.start(false)
	h.lose()
	lossAt := h.clk.Now()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(3 * time.Minute)
	e := h.wait(StepFinalFlush)
	if got := e.At.Sub(lossAt); got != 150*time.Second {
		t.Fatalf("final flush %v after the loss, want 150 s from the configured hold-up", got)
	}
	if _, ok := h.alarms.find(AlarmSupercap); !ok || len(h.alarms.codes()) != 1 {
		t.Fatalf("alarms %v, want one supercap alarm", h.alarms.codes())
	}
}

func TestStartOnCapacitorContinuesOpenOutage(t *testing.T) {
	h := newHarness(t)
	began := t0.Add(-time.Minute)
	h.jr.begins = []OutageBegin{{At: began, Confirmed: true}}
	h.vm.set(0, 0, 0)
	h.start(true)
	h.assertGate(true)
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	if begins, _ := h.jr.snapshot(); len(begins) != 1 {
		t.Fatalf("journal begins %+v: the open outage must be continued, not duplicated", begins)
	}
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(StepEdgeGated, StepLossConfirmed, StepOutageContinued, StepOutageReported, StepGated, StepModulesInvalid, StepPriority,
		StepRestoreConfirmed, StepRestoreReported, StepCold, StepReinit, StepResumed, StepReplayed, StepCompletion, StepSleeping)
	_, ends := h.jr.snapshot()
	if len(ends) != 1 || !ends[0].Begin.Equal(began) || !ends[0].Cold {
		t.Fatalf("journal ends %+v", ends)
	}
	if s := h.stats(); s.Cold != 1 || s.Warm != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestReinitFailureIsReportedAndRecoveryGoesOn(t *testing.T) {
	h := newHarness(t)
	h.reinit.fail = map[string]error{"hplc": errors.New("hplc: no answer to AFN 01 reset")}
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.back()
	h.advance(h.m.cfg.Settle)
	e := h.wait(StepReinit)
	if !strings.Contains(e.Detail, "hplc failed") || !strings.Contains(e.Detail, "rs485-1 ok") {
		t.Fatalf("reinit detail %q", e.Detail)
	}
	h.wait(StepSleeping)
	recs := h.olog.snapshot()
	if len(recs) != 1 || len(recs[0].ReinitFailed) != 1 || recs[0].ReinitFailed[0] != "hplc" || len(recs[0].Errors) != 1 {
		t.Fatalf("outage log %+v", recs)
	}
}

func TestNewMonitorRejectsBadConfigAndDeps(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		cfg  Config
		deps func(d *Deps)
		want string
	}{
		{"restore below loss", Config{LossV: 150, RestoreV: 140}, nil, "restore_v"},
		{"unknown phase rule", Config{PhaseRule: "three"}, nil, `phase_rule "three"`},
		{"margin over hold-up", Config{HoldUp: 10 * time.Second, FlushMargin: 20 * time.Second}, nil, "flush_margin"},
		{"negative settle", Config{Settle: -time.Millisecond}, nil, "settle"},
		{"missing gate", Config{}, func(d *Deps) { d.Gate = nil }, "Gate"},
		{"missing recoverer", Config{}, func(d *Deps) { d.Recoverer = nil }, "Recoverer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := h.deps
			if tc.deps != nil {
				tc.deps(&d)
			}
			_, err := NewMonitor(tc.cfg, d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestRunFailsOnUnreadableLine(t *testing.T) {
	h := newHarness(t)
	m, err := NewMonitor(Config{}, h.deps)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewSimLine(SimLineConfig{Initial: 1}, h.clk, m.Edge)
	l.Close()
	err = m.Run(context.Background(), l)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Run on a closed line: %v", err)
	}
}

func TestBouncingReturnGivesOneRestore(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.advance(5 * time.Second)
	// Power comes back with contact bounce: 50 edges in 5 ms, ending present.
	h.vm.set(220, 220, 220)
	if err := h.line.Chatter(49, func() { h.clk.Advance(100 * time.Microsecond) }, MainsPresent); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(cat([]Step{StepIdle}, lossSteps, warmSteps)...)
	if _, ends := h.jr.snapshot(); len(ends) != 1 {
		t.Fatalf("%d end records, want 1", len(ends))
	}
}

func TestReturnThatFallsBackIsNoRestore(t *testing.T) {
	h := newHarness(t)
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	// The line comes back for 10 ms (less than the settle time) and drops.
	h.vm.set(220, 220, 220)
	if err := h.line.Restore(); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Millisecond)
	h.vm.set(0, 0, 0)
	if err := h.line.Fail(); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.advance(time.Minute)
	h.assertSteps(cat([]Step{StepIdle}, lossSteps, []Step{StepOutageRepeated})...)
	if s := h.stats(); s.State != StateOutage {
		t.Fatalf("state %v, want still in the outage", s.State)
	}
	h.assertGate(true)
}

func TestUplinkFailureStillProtects(t *testing.T) {
	h := newHarness(t)
	h.up.fail = errors.New("proto698: uplink queue full")
	h.start(false)
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepModulesInvalid)
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	h.assertSteps(StepIdle, StepEdgeGated, StepLossConfirmed, StepOutageJournaled, StepAlarm, StepGated,
		StepModulesInvalid, StepPriority, StepRestoreConfirmed, StepAlarm, StepWarm, StepReinit, StepResumed, StepReplayed, StepCompletion, StepSleeping)
	if n := len(h.alarms.codes()); n != 2 {
		t.Fatalf("alarms %v, want two uplink alarms", h.alarms.codes())
	}
	if _, ends := h.jr.snapshot(); len(ends) != 1 {
		t.Fatal("end not journaled when the uplink failed")
	}
}

// A step is printed only when it happened: with no mains-only or high-draw
// device and no point the master sees, neither 1-2 step appears, and the
// error-rate watch closing a path is step 1-4 only while IO is shed.
func TestStepsOnlyWhenTheyHappened(t *testing.T) {
	h := newHarness(t)
	h.gate.none, h.mods.none = true, true
	h.start(false)
	h.wait(StepIdle)
	if h.m.IOPathClosed("rs485-1 closed") {
		t.Fatal("a path closed with mains present was put on the timeline as step 1-4")
	}
	h.lose()
	h.advance(h.m.cfg.Settle)
	h.wait(StepPriority)
	if !h.m.IOPathClosed(`sched: interface "rs485-1" closed (error-rate)`) {
		t.Fatal("a path closed during the outage is not step 1-4")
	}
	h.back()
	h.advance(h.m.cfg.Settle)
	h.wait(StepSleeping)
	if h.m.IOPathClosed("rs485-1 closed") {
		t.Fatal("a path closed after the return was put on the timeline as step 1-4")
	}
	h.assertSteps(cat([]Step{StepIdle, StepEdgeGated, StepLossConfirmed, StepOutageJournaled, StepOutageReported, StepPriority, StepPathClosed},
		warmSteps)...)
	if e := h.m.Timeline().Entries()[1]; !strings.Contains(e.Detail, "no mains-only or high-draw device") {
		t.Fatalf("edge step detail %q", e.Detail)
	}
}
