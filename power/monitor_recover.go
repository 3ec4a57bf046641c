package power

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// recStep is one step of recovery.
type recStep uint8

const (
	rsUndo     recStep = iota // reopen what the end of the hold-up window closed
	rsReinit                  // 2-3
	rsResume                  // 2-4
	rsReplay                  // 2-5, 2-6
	rsComplete                // 2-7
)

func (s recStep) String() string {
	return [...]string{"undo final flush", "reinit", "resume", "replay", "completion log"}[s]
}

// recovery is the recovery in progress; steps shrink from the front as the
// worker reports them done, so a stopped recovery resumes where it stopped.
type recovery struct {
	record   OutageRecord
	steps    []recStep
	replay   ReplayResult // replayed so far by this recovery
	resumed  bool         // business IO was resumed (mains-only IO un-gated)
	leftover bool         // replay only: journal left by an interrupted run
	failed   bool         // a replay returned an error
	restart  bool         // restart the worker once the stopping one is done
}

func (r *recovery) remaining() string {
	var b strings.Builder
	b.WriteString("remaining:")
	for _, s := range r.steps {
		b.WriteString(" ")
		b.WriteString(s.String())
	}
	return b.String()
}

func (r *recovery) markDone(s recStep) {
	if len(r.steps) > 0 && r.steps[0] == s {
		r.steps = r.steps[1:]
	}
}

// restore ends the outage: 2-1 and 2-2, then the recovery worker.
func (m *Monitor) restore(confirmed bool, v [3]float64, err error) {
	o := m.outage
	m.outage = nil
	if o.stopAct != nil {
		o.stopAct()
	}
	m.cancelRead()
	for _, k := range []timerKind{tReport, tFlush, tSample, tRecheck} {
		m.stopTimer(k)
	}
	end := m.lastEdge()
	if o.notBack {
		end = m.clock.Now()
	}
	if confirmed {
		m.emit(StepRestoreConfirmed, fmtVolts(v))
	} else {
		m.stats.Unconfirmed++
		why := "no reading"
		if err != nil {
			why = err.Error()
		}
		m.emit(StepRestoreGPIO, why)
	}
	kind := KindWarm
	if o.cold {
		kind = KindCold
	}
	evidence := o.evidence
	if evidence == "" {
		evidence = evidenceLived
	}
	if o.flushed && m.d.Shutdown != nil && !o.shutdown {
		m.emit(StepShutdownSkipped, "")
	}
	m.endOutage(o.begin, end, kind, confirmed, evidence)
	steps := []recStep{rsReinit, rsResume, rsReplay, rsComplete}
	if m.undo {
		steps = append([]recStep{rsUndo}, steps...)
	}
	m.recov = &recovery{
		record: OutageRecord{Begin: o.begin.At, End: end, Duration: end.Sub(o.begin.At), Kind: kind, Evidence: evidence,
			LossConfirmed: o.begin.Confirmed, RestoreConfirmed: confirmed},
		steps: steps,
	}
	m.st = StateRecovering
	m.startWorker()
}

// coldStart recovers an outage the capacitor ended, found open at start-up
// with mains present, dec saying why it is cold (2-2): report its end,
// re-initialise the interfaces that were shut (HPLC reset and hardware
// init, as a warm return does), then replay and write the completion log.
func (m *Monitor) coldStart(open OutageBegin, dec coldDecision) {
	now := m.clock.Now()
	m.stats.Outages++
	m.emit(StepColdStart, "outage began "+open.At.Format(time.RFC3339Nano))
	m.endOutage(open, now, KindCold, false, dec.evidence)
	m.recov = &recovery{
		record: OutageRecord{Begin: open.At, End: now, Duration: now.Sub(open.At), Kind: KindCold, Evidence: dec.evidence,
			LossConfirmed: open.Confirmed},
		steps: []recStep{rsReinit, rsReplay, rsComplete},
	}
	m.st = StateRecovering
	m.startWorker()
}

// continueOutage takes up an outage found open at start-up with mains
// present on the same boot (dec): the terminal never lost power, only
// holdup was restarted. Protection comes back on as for a loss (1-1 … 1-3;
// the begin record is not journaled again), and the present line is judged
// as after a return edge: once settled and confirmed by the phase voltages
// the return is warm (2-1 …), dated by this start-up.
func (m *Monitor) continueOutage(open OutageBegin, dec coldDecision) {
	now := m.clock.Now()
	m.coldOpen, m.openDec = &open, dec
	m.edgeAt.Store(int64(now.Sub(m.epoch)))
	m.gateFromMonitor() // shed first, as on a loss edge
	m.beginOutage(open.Confirmed, open.Volts)
	m.settle.armed, m.settle.burst = true, now
	m.arm(tSettle, m.cfg.Settle, m.onSettle)
}

// endOutage journals the end record, reports the return (2-1) and records
// whether the supercapacitor ran out, with the evidence (2-2).
func (m *Monitor) endOutage(begin OutageBegin, end time.Time, kind Kind, confirmed bool, evidence string) {
	e := OutageEnd{Begin: begin.At, End: end, Cold: kind == KindCold, Confirmed: confirmed, Evidence: evidence}
	if err := m.d.Journal.AppendOutageEnd(m.ctx, e); err != nil {
		m.raise(AlarmJournal, fmt.Errorf("power: journal outage-end: %w", err))
	}
	if err := m.d.Uplink.ReportRestore(begin.At, end); err != nil {
		m.raise(AlarmUplink, fmt.Errorf("power: report restore: %w", err))
	} else {
		m.emit(StepRestoreReported, fmt.Sprintf("outage %s → %s (%v)",
			begin.At.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), end.Sub(begin.At)))
	}
	step := StepWarm
	if kind == KindCold {
		step = StepCold
	}
	m.emit(step, evidence)
}

// startWorker runs the remaining recovery steps in a goroutine that
// reports each step back through the inbox and stops at the next safe point
// (between steps, or between replay batches inside Replay) when cancelled.
func (m *Monitor) startWorker() {
	r := m.recov
	if len(r.steps) == 0 {
		m.finishRecovery()
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.working, m.stopWork = true, cancel
	steps := append([]recStep(nil), r.steps...)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel()
		stopped := m.work(ctx, steps)
		m.post(func() { m.onWorkDone(stopped) })
	}()
}

// work runs in the worker goroutine; it touches no monitor state except
// through post (and the gate, under its mutex). It reports whether it
// stopped before the end.
func (m *Monitor) work(ctx context.Context, steps []recStep) bool {
	for _, s := range steps {
		if ctx.Err() != nil {
			return true
		}
		switch s {
		case rsUndo:
			detail, err := m.d.Shutdown.Undo(ctx)
			if ctx.Err() != nil {
				return true
			}
			m.post(func() { m.onUndone(detail, err) })
		case rsReinit:
			res := m.d.Reinit.Reinit(ctx)
			if ctx.Err() != nil {
				return true // some interfaces may not have been tried
			}
			m.post(func() { m.onReinit(res) })
		case rsResume:
			if !m.ungate() {
				return true // a loss edge is in flight; its kick stops us
			}
			m.d.Modules.SetInvalid(false)
			err := m.d.Resume.Resume(ctx)
			m.post(func() { m.onResumed(err) })
		case rsReplay:
			res, err := m.d.Recoverer.Replay(ctx)
			// A cancelled context means a loss (or shutdown) stopped
			// the replay at a safe point, whatever error it returned.
			stopped := err != nil && ctx.Err() != nil
			// A replay that returns no error has consumed the journal
			// up to what it imported or rejected (2-6); what the journal
			// still holds says whether it is empty now.
			left, lerr := -1, error(nil)
			if err == nil {
				left, lerr = m.d.Recoverer.Pending(ctx)
			}
			m.post(func() { m.onReplayed(res, err, stopped, left, lerr) })
			if stopped {
				return true
			}
		case rsComplete:
			// The records come from the monitor goroutine, after every
			// earlier step's result has been applied (the inbox is FIFO).
			ch := make(chan []OutageRecord, 1)
			m.post(func() { ch <- m.completionRecords() })
			var records []OutageRecord
			select {
			case records = <-ch:
			case <-ctx.Done():
				return true
			}
			var failed []error
			for _, rec := range records {
				if err := m.d.OutageLog.Record(ctx, rec); err != nil {
					failed = append(failed, fmt.Errorf("outage of %s: %w", rec.Begin.Format(time.RFC3339Nano), err))
				}
			}
			m.post(func() { m.onCompleted(records, errors.Join(failed...)) })
		}
	}
	return false
}

// completionRecords returns the records the completion log writes: the
// outages whose recovery was cut short, then this one.
func (m *Monitor) completionRecords() []OutageRecord {
	rec := m.recov.record
	rec.Replay = m.recov.replay
	rec.Blips = m.blips
	rec.ReinitFailed = append([]string(nil), rec.ReinitFailed...)
	rec.Errors = append([]string(nil), rec.Errors...)
	return append(append([]OutageRecord(nil), m.carried...), rec)
}

// onUndone records that what the end of the hold-up window closed is open
// again (a failure is an alarm; it is not tried again).
func (m *Monitor) onUndone(detail string, err error) {
	m.recov.markDone(rsUndo)
	m.undo = false
	if err != nil {
		m.recov.record.Errors = append(m.recov.record.Errors, fmt.Sprintf("undo final flush: %v", err))
		m.raise(AlarmShutdown, fmt.Errorf("power: reopen after the final flush: %w", err))
		return
	}
	m.emit(StepFlushUndone, detail)
}

func (m *Monitor) onReinit(res []ReinitResult) {
	if len(res) == 0 {
		m.recov.markDone(rsReinit)
		return // no interface to bring back: nothing happened
	}
	r := m.recov
	var parts []string
	for _, x := range res {
		if x.Err != nil {
			r.record.ReinitFailed = append(r.record.ReinitFailed, x.Interface)
			r.record.Errors = append(r.record.Errors, fmt.Sprintf("reinit %s: %v", x.Interface, x.Err))
			m.raise(AlarmReinit, fmt.Errorf("power: reinit %s: %w", x.Interface, x.Err))
			parts = append(parts, x.Interface+" failed")
		} else {
			parts = append(parts, x.Interface+" ok")
		}
	}
	r.markDone(rsReinit)
	m.emit(StepReinit, strings.Join(parts, ", "))
}

func (m *Monitor) onResumed(err error) {
	r := m.recov
	r.resumed = true
	r.markDone(rsResume)
	if err != nil {
		r.record.Errors = append(r.record.Errors, fmt.Sprintf("resume: %v", err))
		m.raise(AlarmResume, fmt.Errorf("power: resume business IO: %w", err))
	}
	m.emit(StepResumed, "mains-only IO un-gated, modules report real values")
}

// onReplayed records a replay (2-5) and, when it returned no error and
// handled any record, the journal consumed up to it (2-6); left is what
// the journal holds after it (-1 unknown, lerr why).
func (m *Monitor) onReplayed(res ReplayResult, err error, stopped bool, left int, lerr error) {
	r := m.recov
	r.replay = r.replay.Add(res)
	m.stats.Replay = m.stats.Replay.Add(res)
	if stopped {
		return // onWorkDone reports the stop
	}
	r.markDone(rsReplay)
	n := res.Replayed + res.Rejected + res.Duplicate
	if err == nil || n > 0 {
		// A replay that failed before handling anything did not happen:
		// the alarm below says why.
		m.emit(StepReplayed, fmt.Sprintf("replayed %d, rejected %d, duplicate %d", res.Replayed, res.Rejected, res.Duplicate))
	}
	if err == nil && n > 0 {
		held := fmt.Sprintf("the journal holds %d", left)
		if lerr != nil {
			held = fmt.Sprintf("what the journal holds now is unknown: %v", lerr)
		}
		m.emit(StepConsumed, fmt.Sprintf("%d record(s) consumed; %s", n, held))
	}
	if err != nil {
		r.failed = true
		r.record.Errors = append(r.record.Errors, fmt.Sprintf("replay: %v", err))
		m.raise(AlarmReplay, fmt.Errorf("power: replay: %w", err))
	}
	if res.Rejected > 0 {
		m.raise(AlarmReplayRejected, fmt.Errorf("power: replay: %d records failed verification and were kept aside", res.Rejected))
	}
}

func (m *Monitor) onCompleted(records []OutageRecord, err error) {
	m.recov.markDone(rsComplete)
	m.carried = nil
	m.blips -= records[len(records)-1].Blips
	for _, r := range records {
		if r.Kind == KindCold {
			m.stats.Cold++
		} else {
			m.stats.Warm++
		}
	}
	if err != nil {
		m.raise(AlarmOutageLog, fmt.Errorf("power: completion log: %w", err))
		return
	}
	last := records[len(records)-1]
	m.emit(StepCompletion, fmt.Sprintf("%d record(s); last: %s, %v, replayed %d, rejected %d, duplicate %d, blips %d",
		len(records), last.Kind, last.Duration, last.Replay.Replayed, last.Replay.Rejected, last.Replay.Duplicate, last.Blips))
}

// onWorkDone runs when the worker goroutine has returned.
func (m *Monitor) onWorkDone(stopped bool) {
	m.working, m.stopWork = false, nil
	r := m.recov
	if r != nil && len(r.steps) == 0 {
		m.finishRecovery()
		r = nil
	} else if r != nil && stopped {
		m.emit(StepRecoveryStopped, fmt.Sprintf("replayed %d so far; %s", r.replay.Replayed, r.remaining()))
	}
	switch {
	case m.pending != nil:
		p := *m.pending
		m.beginOutage(p.confirmed, p.volts)
	case r != nil && r.restart:
		r.restart = false
		m.emit(StepRecoveryResumed, r.remaining())
		m.startWorker()
	case r != nil && stopped && m.st == StateRecovering && m.line() == MainsPresent:
		// The worker stopped on its own (the resume step saw a loss edge)
		// but the line came back before the monitor saw it lost.
		m.emit(StepRecoveryResumed, r.remaining())
		m.startWorker()
	}
}

// finishRecovery closes a completed recovery.
func (m *Monitor) finishRecovery() {
	r := m.recov
	m.recov = nil
	if m.st != StateRecovering {
		return // a loss arrived meanwhile; its confirmation goes on
	}
	m.st = StateNormal
	m.ungate() // normally done at 2-4 already; never stay shed in Normal
	// Records journaled while IO was shed by a blip after this recovery's
	// replay step are replayed now. A store that fails, or that replays
	// nothing while records stay pending, is not retried in a loop.
	progress := r.replay.Replayed+r.replay.Rejected+r.replay.Duplicate > 0
	if !r.failed && (progress || !r.leftover) && m.replayLeftover() {
		return
	}
	m.emit(StepSleeping, "recovery complete")
	if m.line() == MainsLost {
		m.arm(tRecheck, m.cfg.Recheck, m.onRecheck)
	}
}
