package power

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// settleState is the software debounce of the line.
type settleState struct {
	armed   bool
	burst   time.Time // first edge of the current burst
	settled bool      // no edge for cfg.Settle (or the burst hit MaxSettle)
	forced  bool      // settled only because the burst hit MaxSettle
}

// confirmState is the loss confirmation in progress.
type confirmState struct {
	from    State // StateNormal or StateRecovering
	lossAt  time.Time
	have    bool // a reading (or its failure) is in
	verdict Verdict
	volts   [3]float64
	err     error
}

type readPurpose uint8

const (
	readLoss    readPurpose = iota // confirm a loss edge
	readRestore                    // confirm a return
	readRecheck                    // line lost but voltages said present
)

type readState struct {
	active  bool
	gen     uint64
	cancel  context.CancelFunc
	purpose readPurpose
}

// pendingLoss is a loss decided while the recovery worker was stopping.
type pendingLoss struct {
	confirmed bool
	volts     [3]float64
}

var errNoVoltmeter = errors.New("no voltmeter configured")

// gatedText says what the optimistic shed at the edge stopped.
func gatedText(n int, lat time.Duration) string {
	if n == 0 {
		return "no mains-only or high-draw device to gate"
	}
	return fmt.Sprintf("%d mains-only or high-draw device(s) gated %v after the edge", n, lat)
}

func fmtVolts(v [3]float64) string {
	return fmt.Sprintf("A %.1f V, B %.1f V, C %.1f V", v[0], v[1], v[2])
}

// start handles the situation found at start-up.
func (m *Monitor) start() {
	m.readBootID()
	open, isOpen, err := m.d.Journal.OpenOutage(m.ctx)
	if err != nil {
		isOpen = false
		m.raise(AlarmJournal, fmt.Errorf("power: journal unreadable at start-up, cold-start detection skipped: %w", err))
	}
	var dec coldDecision
	if isOpen {
		// Did the capacitor run out, or was only holdup restarted?
		dec = m.decideCold(open, m.clock.Now())
	}
	if m.line() == MainsLost {
		// Booted on the capacitor (or the loss came during boot, or holdup
		// was restarted during the outage): protect first; an open outage
		// is continued rather than duplicated, warm or cold as decided.
		if isOpen {
			m.coldOpen, m.openDec = &open, dec
		}
		now := m.clock.Now()
		m.edgeAt.Store(int64(now.Sub(m.epoch)))
		m.gateNow(now)
		m.onKick()
		return
	}
	if isOpen {
		if dec.cold {
			m.coldStart(open, dec)
		} else {
			m.continueOutage(open, dec)
		}
		return
	}
	if m.replayLeftover() {
		return
	}
	m.emit(StepIdle, "journal empty at start-up")
}

// onKick handles a change of the line (any number of edges).
func (m *Monitor) onKick() {
	level := m.line()
	m.gateMu.Lock()
	seq, at, lat, n := m.gateSeq, m.gatedAt, m.gateLat, m.gateN
	m.gateMu.Unlock()
	newGate := seq != m.seenGate
	if newGate {
		m.seenGate = seq
		m.stats.LastGateLatency = lat
		m.emit(StepEdgeGated, gatedText(n, lat))
	} else {
		at = m.lastEdge()
	}
	m.settle.settled = false
	if !m.settle.armed {
		m.settle.armed = true
		m.settle.burst = m.lastEdge()
		m.arm(tSettle, m.cfg.Settle, m.onSettle)
	}
	switch m.st {
	case StateNormal:
		// Any edge ends a line/voltage disagreement; the edge decides.
		m.stopTimer(tRecheck)
		m.cancelRead()
		if newGate || level == MainsLost {
			m.enterConfirming(StateNormal, at)
		}
	case StateOutage:
		// A return is judged only once the line has settled present.
		m.cancelRead()
		m.stopTimer(tRecheck)
		m.outage.notBack = false
	case StateRecovering:
		if newGate || level == MainsLost {
			if m.working {
				m.stopWork()
			}
			m.enterConfirming(StateRecovering, at)
		}
	case StateConfirming:
		// Keep waiting for the line to settle.
	}
}
func (m *Monitor) enterConfirming(from State, lossAt time.Time) {
	m.st = StateConfirming
	m.conf = confirmState{from: from, lossAt: lossAt}
	m.startRead(readLoss)
}

// onSettle fires cfg.Settle after the first edge of a burst and re-arms
// until the line has been quiet for cfg.Settle.
func (m *Monitor) onSettle() {
	now := m.clock.Now()
	quiet := now.Sub(m.lastEdge())
	if quiet < m.cfg.Settle && now.Sub(m.settle.burst) < m.cfg.MaxSettle {
		m.arm(tSettle, m.cfg.Settle-quiet, m.onSettle)
		return
	}
	m.settle.armed = false
	m.settle.settled = true
	m.settle.forced = quiet < m.cfg.Settle
	switch m.st {
	case StateConfirming:
		m.tryDecideLoss()
	case StateOutage:
		if m.line() == MainsPresent && !m.read.active && m.timers[tRecheck] == nil {
			m.startRead(readRestore)
		}
	}
}

// startRead starts a voltmeter reading bounded by cfg.ConfirmTimeout.
func (m *Monitor) startRead(p readPurpose) {
	m.cancelRead()
	m.read.purpose = p
	if m.d.Voltmeter == nil {
		m.onReading(p, VerdictFailed, [3]float64{}, errNoVoltmeter)
		return
	}
	m.read.gen++
	gen := m.read.gen
	ctx, cancel := context.WithCancel(m.ctx)
	m.read.active, m.read.cancel = true, cancel
	m.arm(tTimeout, m.cfg.ConfirmTimeout, func() { m.onReadTimeout(gen) })
	vm := m.d.Voltmeter
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		v, err := vm.ReadVoltages(ctx)
		m.post(func() { m.onReadDone(gen, v, err) })
	}()
}

func (m *Monitor) cancelRead() {
	if m.read.active {
		m.read.cancel()
		m.read.active = false
		m.stopTimer(tTimeout)
	}
	m.read.gen++
}

func (m *Monitor) onReadDone(gen uint64, v [3]float64, err error) {
	if gen != m.read.gen || !m.read.active {
		return // cancelled or timed out: a late answer
	}
	p := m.read.purpose
	m.cancelRead()
	if err != nil {
		err = fmt.Errorf("power: voltmeter: %w", err)
		m.raise(AlarmVoltmeterUnreachable, err)
		m.onReading(p, VerdictFailed, [3]float64{}, err)
		return
	}
	verdict, err := m.thr.Classify(v)
	if err != nil {
		m.raise(AlarmVoltmeterGarbage, err)
		m.onReading(p, VerdictFailed, [3]float64{}, err)
		return
	}
	step := StepVoltages
	if p == readRestore {
		step = StepReturnVoltages
	}
	m.emit(step, fmtVolts(v)+": "+verdict.String())
	m.onReading(p, verdict, v, nil)
}

func (m *Monitor) onReadTimeout(gen uint64) {
	if gen != m.read.gen || !m.read.active {
		return
	}
	p := m.read.purpose
	m.cancelRead()
	err := fmt.Errorf("power: voltmeter: no answer within %v: %w", m.cfg.ConfirmTimeout, ErrVoltmeterTimeout)
	m.raise(AlarmVoltmeterUnreachable, err)
	m.onReading(p, VerdictFailed, [3]float64{}, err)
}

// onReading acts on a reading (or its failure) for the purpose it was
// taken for, if that still applies.
func (m *Monitor) onReading(p readPurpose, verdict Verdict, v [3]float64, err error) {
	switch p {
	case readLoss:
		if m.st != StateConfirming {
			return
		}
		m.conf.have, m.conf.verdict, m.conf.volts, m.conf.err = true, verdict, v, err
		m.tryDecideLoss()
	case readRestore:
		if m.st != StateOutage || m.line() != MainsPresent || !m.settle.settled {
			return
		}
		switch verdict {
		case VerdictPresent:
			m.restore(true, v, nil)
		case VerdictFailed:
			m.restore(false, v, err)
		default:
			// Lost, or in the band: the outage goes on (hysteresis) until
			// a reading finds the phases back.
			m.outage.notBack = true
			m.emit(StepVoltagesDisagree, fmt.Sprintf("line says present, %s (%s): outage goes on, recheck in %v",
				fmtVolts(v), verdict, m.cfg.Recheck))
			m.arm(tRecheck, m.cfg.Recheck, m.onRecheck)
		}
	case readRecheck:
		if m.st != StateNormal || m.line() != MainsLost {
			return
		}
		if verdict == VerdictPresent {
			m.arm(tRecheck, m.cfg.Recheck, m.onRecheck)
			return
		}
		// The voltages now agree with the line (or cannot be read): this
		// is an outage after all.
		m.gateFromMonitor()
		m.st = StateConfirming
		m.conf = confirmState{from: StateNormal, lossAt: m.lastEdge(), have: true, verdict: verdict, volts: v, err: err}
		m.decideLoss(verdict == VerdictLost, v, err)
	}
}

func (m *Monitor) onRecheck() {
	switch {
	case m.st == StateOutage && m.line() == MainsPresent && m.settle.settled:
		m.startRead(readRestore)
	case m.st == StateNormal && m.line() == MainsLost:
		m.startRead(readRecheck)
	}
}

// gateFromMonitor gates from the monitor goroutine (no edge involved).
func (m *Monitor) gateFromMonitor() {
	m.gateNow(m.clock.Now())
	m.gateMu.Lock()
	m.seenGate = m.gateSeq
	m.gateMu.Unlock()
}

// tryDecideLoss decides a confirmation once the line has settled and, if
// the line still says lost, the reading is in.
func (m *Monitor) tryDecideLoss() {
	if !m.settle.settled {
		return
	}
	if m.line() == MainsPresent && !m.settle.forced {
		m.blip("line returned within the settle window", false)
		return
	}
	if !m.conf.have {
		return // the reading or its timeout is on the way
	}
	switch m.conf.verdict {
	case VerdictPresent:
		if m.line() == MainsPresent {
			// A line that will not settle is not trusted; the voltages
			// say mains is fine.
			m.blip("line still chattering after max_settle, phase voltages say mains is fine", true)
			return
		}
		err := fmt.Errorf("power: power-fail line asserted but %s: treated as a blip, recheck every %v",
			fmtVolts(m.conf.volts), m.cfg.Recheck)
		m.emit(StepVoltagesDisagree, err.Error())
		m.raise(AlarmLineDisagrees, err)
		m.blip("phase voltages say mains is fine", true)
		if m.st == StateNormal {
			m.arm(tRecheck, m.cfg.Recheck, m.onRecheck)
		} // else finishRecovery arms it
	case VerdictLost:
		m.decideLoss(true, m.conf.volts, nil)
	default:
		m.decideLoss(false, m.conf.volts, m.conf.err)
	}
}

// blip ends a confirmation that found no outage.
func (m *Monitor) blip(why string, overrideLine bool) {
	if overrideLine {
		m.override.Store(true)
	}
	m.stats.Blips++
	m.blips++
	m.cancelRead()
	m.pending = nil
	if m.conf.from == StateRecovering && m.recov != nil {
		m.st = StateRecovering
		if m.recov.resumed {
			m.ungate()
		}
		m.emit(StepBlip, why+"; recovery resumes")
		if m.working {
			m.recov.restart = true
		} else {
			m.emit(StepRecoveryResumed, m.recov.remaining())
			m.startWorker()
		}
		return
	}
	m.ungate() // refused only if a new loss edge is already queued
	m.st = StateNormal
	m.emit(StepBlip, why)
	if m.coldOpen != nil {
		open, dec := *m.coldOpen, m.openDec
		m.coldOpen, m.openDec = nil, coldDecision{}
		if dec.cold {
			m.coldStart(open, dec)
		} else {
			m.continueOutage(open, dec)
		}
		return
	}
	// Critical data journaled while IO was shed goes to the data store
	// now rather than waiting for the next outage.
	m.replayLeftover()
}

// replayLeftover starts a replay-only recovery when the journal holds
// records; it reports whether it did.
func (m *Monitor) replayLeftover() bool {
	n, err := m.d.Recoverer.Pending(m.ctx)
	if err != nil {
		m.raise(AlarmReplay, fmt.Errorf("power: journal pending count: %w", err))
		return false
	}
	if n == 0 {
		return false
	}
	m.emit(StepLeftoverRecovered, fmt.Sprintf("%d records await replay", n))
	// IO is running (never shed, or already resumed): a blip during
	// this replay must un-gate again.
	m.recov = &recovery{leftover: true, resumed: true, steps: []recStep{rsReplay}}
	m.st = StateRecovering
	m.startWorker()
	return true
}

// decideLoss records the decision and, once no recovery worker runs,
// enters the outage.
func (m *Monitor) decideLoss(confirmed bool, v [3]float64, err error) {
	if confirmed {
		m.emit(StepLossConfirmed, fmtVolts(v))
	} else {
		m.stats.Unconfirmed++
		why := "no reading"
		if err != nil {
			why = err.Error()
		} else if m.conf.have {
			why = fmtVolts(v) + " in the hysteresis band"
		}
		m.emit(StepLossUnconfirmed, why)
	}
	m.cancelRead()
	if m.working {
		// Protection starts when the recovery worker has stopped at its
		// safe point, so that the journal sees the old recovery's last
		// write before the new outage-begin record.
		m.pending = &pendingLoss{confirmed: confirmed, volts: v}
		return
	}
	m.beginOutage(confirmed, v)
}
