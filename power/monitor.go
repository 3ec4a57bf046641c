package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// State is the monitor's lifecycle state.
type State uint8

const (
	// StateNormal: mains present, business as usual, asleep on channels.
	StateNormal State = iota
	// StateConfirming: a loss edge gated mains-only IO; the line is
	// settling and the voltages are being read.
	StateConfirming
	// StateOutage: running on the capacitor, protection done.
	StateOutage
	// StateRecovering: power is back; interfaces, IO and the journal are
	// being brought back.
	StateRecovering
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateNormal:
		return "normal"
	case StateConfirming:
		return "confirming"
	case StateOutage:
		return "outage"
	case StateRecovering:
		return "recovering"
	default:
		return fmt.Sprintf("state(%d)", uint8(s))
	}
}

// Stats are the monitor's counters.
type Stats struct {
	State State
	// Edges counts power-fail line edges seen by the handler.
	Edges uint64
	// Outages counts outages entered (a cold start counts one); Warm
	// and Cold count outage records written by completion logs.
	Outages, Warm, Cold int
	// Blips counts loss edges that turned out not to be outages.
	Blips int
	// Unconfirmed counts decisions taken from the GPIO line alone.
	Unconfirmed int
	// Replay sums every replay.
	Replay ReplayResult
	// Alarms counts alarms raised; FinalFlushes the final-flush signals;
	// Shutdowns the shutdown commands run (Deps.Shutdown).
	Alarms, FinalFlushes, Shutdowns int
	// LastGateLatency is the time from the handler's entry to the gate
	// call returning for the last gating.
	LastGateLatency time.Duration
	// Outage is the outage being protected while State is StateOutage
	// (as its outage-begin record says); zero otherwise.
	Outage OutageBegin
	// HoldupLeft is the hold-up budget's estimate of the time left while
	// State is StateOutage: from the supercap's readings when they give
	// one (HoldupFromCap) and it is the lower, else the configured budget
	// less the time since the loss. Zero otherwise.
	HoldupLeft    time.Duration
	HoldupFromCap bool
}

// ErrStopped is returned by Sync and Stats once Run has returned.
var ErrStopped = errors.New("power: monitor stopped")

// Monitor is the outage lifecycle: Normal → Outage → Recovering → Normal,
// with the optimistic shed and its confirmation in front. Edge is the
// line's handler and gates mains-only IO at once; everything else happens
// in the one goroutine of Run, which owns the state and takes its input
// from channels.
type Monitor struct {
	cfg   Config
	thr   Thresholds
	d     Deps
	clock Clock
	tl    *Timeline
	epoch time.Time

	// Shared with the line's event goroutine (the fast path).
	mains  atomic.Uint32 // Mains, latest edge or initial reading
	edgeAt atomic.Int64  // clock time of the latest edge, ns since epoch
	edges  atomic.Uint64
	kick   chan struct{} // capacity 1: "the line changed"
	// override: the voltages overruled an asserted line (it is stuck or
	// lying); cleared by the next edge, before that edge takes gateMu.
	override atomic.Bool

	gateMu   sync.Mutex // serialises Gate calls
	gated    bool
	gateN    int           // devices the last gating stopped (Gate's count)
	shedding atomic.Bool   // gated, for readers outside gateMu (IOPathClosed)
	gateSeq  uint64        // gatings done
	gatedAt  time.Time     // clock time of the last gating's edge
	gateLat  time.Duration // its edge-to-gated latency
	running  atomic.Bool
	inbox    chan func() // results and timer fires, run in the loop
	done     chan struct{}
	loopOnce sync.Once

	// Owned by Run's goroutine from here on.
	ctx      context.Context
	wg       sync.WaitGroup
	st       State
	stats    Stats
	timers   [numTimers]Timer
	tgen     [numTimers]uint64
	settle   settleState
	conf     confirmState
	read     readState
	outage   *outageState
	recov    *recovery
	carried  []OutageRecord // interrupted outages awaiting their record
	blips    int            // blips since the last record
	seenGate uint64
	coldOpen *OutageBegin // open outage found at start, to be continued
	openDec  coldDecision // what decided about coldOpen (evidence.go)
	bootID   string       // the kernel's boot id ("" unknown)
	bootErr  error        // why it is unknown, if reading it failed
	budget   *Budget
	working  bool               // a recovery worker goroutine is running
	stopWork context.CancelFunc // stops it at its next safe point
	pending  *pendingLoss       // loss decided while the worker was stopping
	// undo: a final flush ran with Deps.Shutdown; the next recovery
	// starts with Shutdowner.Undo (kept across an interrupted recovery).
	undo bool
}

// NewMonitor checks cfg (defaults applied) and deps and returns a monitor.
// Open the power-fail line with m.Edge as its handler, then call Run.
func NewMonitor(cfg Config, deps Deps) (*Monitor, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		name string
		ok   bool
	}{
		{"Gate", deps.Gate != nil}, {"Journal", deps.Journal != nil}, {"Uplink", deps.Uplink != nil},
		{"Modules", deps.Modules != nil}, {"Reinit", deps.Reinit != nil}, {"Resume", deps.Resume != nil},
		{"Recoverer", deps.Recoverer != nil}, {"OutageLog", deps.OutageLog != nil},
	} {
		if !r.ok {
			return nil, fmt.Errorf("power: monitor: dependency %s is nil", r.name)
		}
	}
	if deps.Clock == nil {
		deps.Clock = RealClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		cfg:    cfg,
		thr:    cfg.thresholds(),
		d:      deps,
		clock:  deps.Clock,
		tl:     NewTimeline(cfg.TimelineSize, deps.Logger),
		epoch:  deps.Clock.Now(),
		kick:   make(chan struct{}, 1),
		inbox:  make(chan func(), 64),
		done:   make(chan struct{}),
		budget: NewBudget(cfg.HoldUp, cfg.SupercapMinV),
	}
	m.budget.SetCapacitor(cfg.Capacitor())
	return m, nil
}

// Timeline returns the monitor's timeline.
func (m *Monitor) Timeline() *Timeline { return m.tl }

// Edge is the power-fail line's EdgeHandler: on a loss edge it gates
// mains-only IO before anything else, then wakes the monitor goroutine.
// It does not allocate and never blocks on the monitor.
func (m *Monitor) Edge(ev Event) {
	now := m.clock.Now()
	m.edgeAt.Store(int64(now.Sub(m.epoch)))
	m.mains.Store(uint32(ev.Mains))
	m.override.Store(false)
	m.edges.Add(1)
	if ev.Mains == MainsLost {
		m.gateNow(now)
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// gateNow gates mains-only IO unless it already is; edge is when the loss
// was seen.
func (m *Monitor) gateNow(edge time.Time) {
	m.gateMu.Lock()
	if !m.gated {
		m.gateN = m.d.Gate.GateMainsOnly()
		m.gated = true
		m.shedding.Store(true)
		m.gateSeq++
		m.gatedAt = edge
		m.gateLat = m.clock.Now().Sub(edge)
	}
	m.gateMu.Unlock()
}

// ungate lets mains-only IO run again. It refuses (and returns false) when
// the line's latest state is lost, unless the voltages overruled the line
// since its last edge: a loss edge racing with the decision always wins,
// because the handler stores the state (and clears the override) before it
// takes gateMu.
func (m *Monitor) ungate() bool {
	m.gateMu.Lock()
	defer m.gateMu.Unlock()
	if !m.gated {
		return true
	}
	if Mains(m.mains.Load()) == MainsLost && !m.override.Load() {
		return false
	}
	m.d.Gate.Ungate()
	m.gated = false
	m.shedding.Store(false)
	return true
}

// IOPathClosed puts the error-rate watch closing an IO path (detail: which
// interface, why) on the timeline as step 1-4 when IO is shed for an
// outage (from the loss edge to the return's resume), and reports whether
// it did; outside an outage the closure is an alarm only, not a step of
// the method. It may be called from any goroutine and never blocks on the
// monitor.
func (m *Monitor) IOPathClosed(detail string) bool {
	if !m.shedding.Load() {
		return false
	}
	m.tl.Add(m.clock.Now(), StepPathClosed, detail)
	return true
}

// lastEdge returns the clock time of the latest edge.
func (m *Monitor) lastEdge() time.Time {
	return m.epoch.Add(time.Duration(m.edgeAt.Load()))
}

// line returns the line's latest state.
func (m *Monitor) line() Mains { return Mains(m.mains.Load()) }

// post runs fn in the monitor goroutine (from any goroutine).
func (m *Monitor) post(fn func()) {
	select {
	case m.inbox <- fn:
	case <-m.done:
	}
}

// Sync returns once the monitor has handled every edge, timer fire and
// result that reached it before the call. For simulators and tests.
func (m *Monitor) Sync(ctx context.Context) error {
	return m.call(ctx, func() {})
}

// Stats returns the monitor's counters.
func (m *Monitor) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := m.call(ctx, func() {
		s = m.stats
		s.State = m.st
		s.Edges = m.edges.Load()
		if m.st == StateOutage && m.outage != nil {
			s.Outage = m.outage.begin
			s.HoldupLeft, s.HoldupFromCap = m.budget.Left(m.clock.Now())
		}
	})
	return s, err
}

// call runs fn in the monitor goroutine after the edges and inbox entries
// queued before it, and waits for it.
func (m *Monitor) call(ctx context.Context, fn func()) error {
	reply := make(chan struct{})
	req := func() {
		m.drainKick()
		fn()
		close(reply)
	}
	select {
	case m.inbox <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return ErrStopped
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return ErrStopped
	}
}

func (m *Monitor) drainKick() {
	select {
	case <-m.kick:
		m.onKick()
	default:
	}
}

// Run reads the line's initial state, handles a cold start, then runs the
// lifecycle until ctx is cancelled. It waits for every goroutine it
// started. The line stays open: its owner closes it after Run returns.
func (m *Monitor) Run(ctx context.Context, line Line) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("power: monitor: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	m.ctx = ctx
	defer func() {
		cancel()
		m.stopAllTimers()
		m.loopOnce.Do(func() { close(m.done) })
		m.wg.Wait()
	}()
	v, err := line.Value()
	if err != nil {
		return fmt.Errorf("power: monitor: read power-fail line: %w", err)
	}
	m.mains.CompareAndSwap(uint32(MainsUnknown), uint32(v))
	m.start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
			m.onKick()
		case fn := <-m.inbox:
			fn()
		}
	}
}

// raise records an alarm on the timeline, in the stats and with Alarms.
func (m *Monitor) raise(code AlarmCode, err error) {
	m.stats.Alarms++
	m.emit(StepAlarm, fmt.Sprintf("%s: %v", code, err))
	if m.d.Alarms != nil {
		m.d.Alarms.Raise(Alarm{Code: code, Err: err, At: m.clock.Now()})
	}
}

func (m *Monitor) emit(step Step, detail string) {
	m.tl.Add(m.clock.Now(), step, detail)
}

// Timers: each kind has one instance; a generation number drops the fire
// of a timer that was stopped or re-armed after it fired.
type timerKind uint8

const (
	tSettle timerKind = iota
	tTimeout
	tRecheck
	tReport
	tFlush
	tSample
	numTimers
)

func (m *Monitor) arm(k timerKind, d time.Duration, fn func()) {
	m.stopTimer(k)
	gen := m.tgen[k]
	m.timers[k] = m.clock.AfterFunc(d, func() {
		m.post(func() {
			if m.tgen[k] != gen {
				return
			}
			m.timers[k] = nil
			m.tgen[k]++
			fn()
		})
	})
}

func (m *Monitor) stopTimer(k timerKind) {
	if t := m.timers[k]; t != nil {
		t.Stop()
		m.timers[k] = nil
	}
	m.tgen[k]++
}

func (m *Monitor) stopAllTimers() {
	for k := timerKind(0); k < numTimers; k++ {
		m.stopTimer(k)
	}
}
