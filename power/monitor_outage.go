package power

import (
	"context"
	"fmt"
	"time"
)

// outageState is the outage in progress.
type outageState struct {
	begin      OutageBegin
	cold       bool   // adopted from the journal at start-up: the capacitor ran out
	evidence   string // what decided warm or cold (evidence.go)
	flushed    bool
	capAlarmed bool
	// stopAct cancels the end-of-window act (flush, sync, shutdown) when
	// the outage ends; nil while none runs. shutdown: the command ran.
	stopAct  context.CancelFunc
	shutdown bool
	// notBack: since the line's last edge, a reading found the phases
	// not (all) back; the return is then dated by the reading that
	// confirms it, not by the edge.
	notBack bool
}

// beginOutage runs the method's protection steps (1-5 the outage-begin
// record first, then 1-1, 1-2, 1-3) and starts the hold-up budget.
func (m *Monitor) beginOutage(confirmed bool, v [3]float64) {
	m.pending = nil
	if r := m.recov; r != nil {
		// The new outage cuts this recovery short: its record is written
		// with the next completion log, and the next recovery replays
		// what is left of the journal.
		if !r.leftover {
			rec := r.record
			rec.Interrupted = true
			rec.Replay = r.replay
			m.carried = append(m.carried, rec)
		}
		m.recov = nil
	}
	m.st = StateOutage
	m.stats.Outages++
	lossAt := m.conf.lossAt
	o := &outageState{}
	if m.coldOpen != nil {
		dec := m.openDec
		o.begin, o.cold, o.evidence = *m.coldOpen, dec.cold, dec.evidence
		m.coldOpen, m.openDec = nil, coldDecision{}
		if !o.cold {
			// Same boot: the capacitor has been holding since the loss.
			lossAt = o.begin.At
		}
		m.emit(StepOutageContinued, fmt.Sprintf("the outage of %s goes on, not journaled again (%s: %s)",
			o.begin.At.Format(time.RFC3339Nano), dec.kind(), o.evidence))
	} else {
		o.begin = OutageBegin{At: lossAt, Confirmed: confirmed, BootID: m.bootID}
		if confirmed {
			o.begin.Volts = v
		}
		if err := m.d.Journal.AppendOutageBegin(m.ctx, o.begin); err != nil {
			m.raise(AlarmJournal, fmt.Errorf("power: journal outage-begin: %w", err))
		} else {
			m.emit(StepOutageJournaled, fmt.Sprintf("begin %s confirmed=%v", lossAt.Format(time.RFC3339Nano), confirmed))
		}
	}
	m.outage = o
	m.reportOutage(StepOutageReported)
	m.arm(tReport, m.cfg.ReportEvery, m.onReport)
	m.gateFromMonitor()
	m.gateMu.Lock()
	gatedN := m.gateN
	m.gateMu.Unlock()
	if gatedN > 0 {
		m.emit(StepGated, fmt.Sprintf("%d device(s) since the edge, %v after it", gatedN, m.stats.LastGateLatency))
	}
	if n := m.d.Modules.SetInvalid(true); n > 0 {
		m.emit(StepModulesInvalid, fmt.Sprintf("%d point(s) read the initial invalid value", n))
	}
	m.emit(StepPriority, "the scheduler's outage rule is in force until the return")
	m.budget.Start(lossAt)
	m.persistCarried()
	flushIn := m.cfg.HoldUp - m.cfg.FlushMargin - m.clock.Now().Sub(lossAt)
	m.arm(tFlush, max(flushIn, 0), func() { m.finalFlush() })
	if m.d.Supercap != nil {
		m.sampleSupercap()
	}
}

func (m *Monitor) reportOutage(step Step) {
	if err := m.d.Uplink.ReportOutage(m.outage.begin.At); err != nil {
		m.raise(AlarmUplink, fmt.Errorf("power: report outage: %w", err))
		return
	}
	m.emit(step, "since "+m.outage.begin.At.Format(time.RFC3339Nano))
}

func (m *Monitor) onReport() {
	if m.st != StateOutage {
		return
	}
	m.reportOutage(StepOutageRepeated)
	m.arm(tReport, m.cfg.ReportEvery, m.onReport)
}

func (m *Monitor) sampleSupercap() {
	if m.st != StateOutage || m.outage.flushed {
		return
	}
	now := m.clock.Now()
	v, err := m.d.Supercap()
	if err == nil {
		err = m.budget.AddSample(now, v)
	}
	if err != nil && !m.outage.capAlarmed {
		m.outage.capAlarmed = true
		m.raise(AlarmSupercap, fmt.Errorf("power: supercap: %w (using the configured hold-up time)", err))
	}
	if left, _ := m.budget.Left(now); left <= m.cfg.FlushMargin {
		m.finalFlush()
		return
	}
	m.arm(tSample, m.cfg.SupercapEvery, m.sampleSupercap)
}

// finalFlush signals that critical data must be in EEPROM now, and starts
// the end of the hold-up window: the flush, then (Deps.Shutdown) the file
// systems synced and the data store closed, then the shutdown command —
// each step only while this outage lasts.
func (m *Monitor) finalFlush() {
	if m.st != StateOutage || m.outage.flushed {
		return
	}
	o := m.outage
	o.flushed = true
	m.stopTimer(tFlush)
	m.stopTimer(tSample)
	left, fromCap := m.budget.Left(m.clock.Now())
	src := "configured hold-up time"
	if fromCap {
		src = "supercap estimate"
	}
	m.stats.FinalFlushes++
	m.emit(StepFinalFlush, fmt.Sprintf("%v left by the %s", left, src))
	if m.d.Flusher == nil && m.d.Shutdown == nil {
		return
	}
	// The act's context ends with the outage (restore) or the monitor.
	ctx, cancel := context.WithCancel(m.ctx)
	o.stopAct = cancel
	if m.d.Shutdown != nil {
		m.undo = true // whatever happens now, a return reopens it
	}
	m.runAct(o, func() (string, error) {
		if m.d.Flusher == nil {
			return "", nil
		}
		return "", m.d.Flusher.FinalFlush(ctx, left)
	}, func(_ string, err error) {
		switch {
		case err != nil:
			m.raise(AlarmFlush, fmt.Errorf("power: final flush: %w", err))
		case m.d.Flusher != nil:
			m.emit(StepFlushed, "")
		}
		m.prepareShutdown(ctx, o)
	})
}

// runAct runs step in a goroutine and then done in the monitor goroutine,
// unless outage o has ended meanwhile (its context cancelled: Undo puts
// back what the act did).
func (m *Monitor) runAct(o *outageState, step func() (string, error), done func(string, error)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		detail, err := step()
		m.post(func() {
			if m.outage != o || m.st != StateOutage {
				return
			}
			done(detail, err)
		})
	}()
}

// prepareShutdown syncs and closes (Shutdowner.Prepare), then runs the
// shutdown command, while outage o lasts.
func (m *Monitor) prepareShutdown(ctx context.Context, o *outageState) {
	sd := m.d.Shutdown
	if sd == nil {
		return
	}
	m.runAct(o, func() (string, error) { return sd.Prepare(ctx) }, func(detail string, err error) {
		if err != nil {
			// A file system that did not sync is no reason to keep the
			// terminal up until the capacitor dies: shut down all the same.
			m.raise(AlarmShutdown, fmt.Errorf("power: sync and close before shutdown: %w", err))
		} else {
			m.emit(StepSynced, detail)
		}
		left, _ := m.budget.Left(m.clock.Now())
		var ran bool
		m.runAct(o, func() (string, error) {
			r, detail, err := sd.Shutdown(ctx, left)
			ran = r
			return detail, err
		}, func(detail string, err error) {
			if ran {
				m.stats.Shutdowns++
				o.shutdown = true
				m.emit(StepShutdown, detail)
			}
			if err != nil {
				m.raise(AlarmShutdown, fmt.Errorf("power: shutdown: %w", err))
			}
		})
	})
}

// persistCarried writes the completion entries of recoveries this outage
// cut short now, after the protection steps, instead of only with the next
// completion log: if the capacitor runs out during this outage, the
// interrupted outage is still in the log. The next completion log writes
// them again (the outage log is keyed by begin time, so that replaces).
func (m *Monitor) persistCarried() {
	if len(m.carried) == 0 {
		return
	}
	recs := append([]OutageRecord(nil), m.carried...)
	ctx := m.ctx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for _, rec := range recs {
			if err := m.d.OutageLog.Record(ctx, rec); err != nil {
				m.post(func() {
					m.raise(AlarmOutageLog, fmt.Errorf("power: outage log of the interrupted outage of %s: %w", rec.Begin.Format(time.RFC3339Nano), err))
				})
				return
			}
		}
	}()
}
