package hplc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SimConfig configures the module simulator. Zero values take the defaults
// noted on each field.
type SimConfig struct {
	// Baud paces the simulator's output at 11 bits (8E1) per byte; 0 sends
	// each frame at once.
	Baud int
	// RebootTime is how long the module stays silent after a hardware init
	// or a reset-line release (default 3 s).
	RebootTime time.Duration
	// ReplyDelay is the processing time before each answer (default 5 ms).
	ReplyDelay time.Duration
	// MeterDelay is the carrier round trip of a 13 F1 monitor (default 100 ms).
	MeterDelay time.Duration
	// MaxNodes is the node-table capacity (default 1024).
	MaxNodes uint16
	// PageSize caps the entries of one 10 F2 answer (default 16).
	PageSize int
	// Vendor is what 03 F1 and 03 F10 report.
	Vendor VendorInfo
	// Master and Nodes are the parameter area at power-up.
	Master Addr
	Nodes  []Node
	// Meters are the DL/T 645 meters on the carrier network by address,
	// copied by NewSim; change them later with SetMeter.
	Meters map[Addr]SimMeter
	// LostInitConfirms is how many hardware-init confirms are lost on the
	// line (fault injection): the module reboots but the concentrator hears
	// nothing.
	LostInitConfirms int
	// ReportRetry and ReportAttempts govern resending an unconfirmed
	// AFN 06 report (defaults 1 s and 3).
	ReportRetry    time.Duration
	ReportAttempts int
}

// Sim is a simulated HPLC (CCO) module speaking 1376.2 on a byte stream
// (one end of a pty). It models what the driver must cope with: a reboot
// after hardware init or reset during which it hears and says nothing,
// confirm/deny by state, a parameter area (master address, node table)
// that survives a reboot but not a parameter-area init, echoed sequence
// numbers, DL/T 645 meters answering 13 F1, output paced at the line's
// baud rate, and AFN 06 reports resent until confirmed. Its state is owned
// by the Run goroutine; the methods talk to it over channels.
type Sim struct {
	rw  io.ReadWriteCloser
	cfg SimConfig
	log *slog.Logger
	gen atomic.Uint64 // bumped on reset: output queued before it is lost

	resets  chan simReset
	meters  chan simMeterSet
	states  chan chan SimState
	reports chan simReport
	stopped chan struct{}
}

type simReset struct {
	value int
	done  chan error
}

type simMeterSet struct {
	addr Addr
	m    SimMeter
	// addKWh, when energy is set, only adds to the meter's forward
	// energy and keeps the rest of its state.
	addKWh float64
	energy bool
}

type simReport struct {
	p    Payload
	done chan error
}

// SimState is a snapshot of the simulator for tests and the console.
type SimState struct {
	Phase         string // "ready", "booting", "held in reset"
	Master        Addr
	Nodes         []Node
	Routing       string // "running", "paused", "stopped"
	HardwareInits int
	Reboots       int
	DroppedBytes  int      // bytes that arrived while the module was not listening
	Commands      []string // "AFN 01 F1", … in arrival order
}

// ErrSimNotReady is returned by Sim.Report while the module is rebooting.
var ErrSimNotReady = errors.New("simulated module is not ready")

// NewSim returns a simulator on rw (closed when Run returns). A nil log discards.
func NewSim(rw io.ReadWriteCloser, cfg SimConfig, log *slog.Logger) *Sim {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.RebootTime, 3*time.Second)
	def(&cfg.ReplyDelay, 5*time.Millisecond)
	def(&cfg.MeterDelay, 100*time.Millisecond)
	def(&cfg.ReportRetry, time.Second)
	if cfg.MaxNodes == 0 {
		cfg.MaxNodes = 1024
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 16
	}
	if cfg.ReportAttempts <= 0 {
		cfg.ReportAttempts = 3
	}
	if cfg.Vendor.Vendor == "" {
		cfg.Vendor = VendorInfo{Vendor: "HS", Chip: "SM", Date: Date{Year: 24, Month: 5, Day: 20}, Version: 0x0101}
	}
	cfg.Nodes = slices.Clone(cfg.Nodes)
	meters := make(map[Addr]SimMeter, len(cfg.Meters))
	for a, m := range cfg.Meters {
		meters[a] = m.clone()
	}
	cfg.Meters = meters
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sim{rw: rw, cfg: cfg, log: log.With("component", "hplc-sim"),
		resets: make(chan simReset), meters: make(chan simMeterSet), states: make(chan chan SimState), reports: make(chan simReport),
		stopped: make(chan struct{})}
}

// State returns a snapshot of the simulator's state.
func (s *Sim) State(ctx context.Context) (SimState, error) {
	ch := make(chan SimState, 1)
	select {
	case s.states <- ch:
		return <-ch, nil
	case <-ctx.Done():
		return SimState{}, ctx.Err()
	case <-s.stopped:
		return SimState{}, ErrClosed
	}
}

// SetMeter adds or changes the meter at addr (e.g. new voltages, or
// Offline while its supply is down). The meter starts afresh: clock,
// password failures and programming log reset, parameters as in m.Params
// (copied).
func (s *Sim) SetMeter(ctx context.Context, addr Addr, m SimMeter) error {
	select {
	case s.meters <- simMeterSet{addr: addr, m: m.clone()}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrClosed
	}
}

// AddEnergy adds kwh to the forward active energy of the meter at addr
// (the energy it metered since), keeping the rest of its state: clock,
// parameters written, password failures. An unknown meter is left alone.
func (s *Sim) AddEnergy(ctx context.Context, addr Addr, kwh float64) error {
	select {
	case s.meters <- simMeterSet{addr: addr, addKWh: kwh, energy: true}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrClosed
	}
}

// Report sends an AFN 06 report and waits until the concentrator confirms
// it, resending as configured.
func (s *Sim) Report(ctx context.Context, p Payload) error {
	r := simReport{p: p, done: make(chan error, 1)}
	select {
	case s.reports <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopped:
		return ErrClosed
	}
}

// ResetLine returns the simulated reset input: SetValue(1) holds the module
// in reset, SetValue(0) releases it and it reboots.
func (s *Sim) ResetLine() ResetLine { return simResetLine{s} }

type simResetLine struct{ s *Sim }

// SetValue implements ResetLine.
func (l simResetLine) SetValue(v int) error {
	if v != 0 && v != 1 {
		return fmt.Errorf("hplc sim: reset line value %d is not 0 or 1", v)
	}
	r := simReset{value: v, done: make(chan error, 1)}
	select {
	case l.s.resets <- r:
		return <-r.done
	case <-l.s.stopped:
		return ErrClosed
	}
}

type outItem struct {
	delay time.Duration
	b     []byte
	gen   uint64
}

// simState is owned by Run.
type simState struct {
	phase        string
	master       Addr
	nodes        []Node
	routing      string
	hwInits      int
	reboots      int
	dropped      int
	commands     []string
	reportSeq    uint8
	lostConfirms int
	pending      *pendingReport
	deframer     Deframer
	bootDone     <-chan time.Time
	bootTimer    *time.Timer
	out          chan<- outItem
	meters       map[Addr]SimMeter
}

type pendingReport struct {
	seq      uint8
	raw      []byte
	attempts int
	timer    *time.Timer
	done     chan error
}

const (
	phaseReady   = "ready"
	phaseBooting = "booting"
	phaseHeld    = "held in reset"
)

// Run serves the byte stream until ctx is cancelled or the stream fails. It
// closes the stream before returning.
func (s *Sim) Run(ctx context.Context) error {
	defer close(s.stopped)
	in := make(chan []byte)
	readErr := make(chan error, 1)
	out := make(chan outItem, 64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); readErr <- s.readLoop(in, stop) }()
	go func() { defer wg.Done(); s.writeLoop(out, stop) }()
	defer func() {
		close(stop)
		s.rw.Close()
		wg.Wait()
	}()

	st := &simState{phase: phaseReady, master: s.cfg.Master, nodes: slices.Clone(s.cfg.Nodes), routing: "running",
		out: out, meters: make(map[Addr]SimMeter, len(s.cfg.Meters)), lostConfirms: s.cfg.LostInitConfirms}
	for a, m := range s.cfg.Meters {
		st.meters[a] = m.clone()
	}
	var retry <-chan time.Time
	for {
		retry = nil
		if st.pending != nil {
			retry = st.pending.timer.C
		}
		select {
		case <-ctx.Done():
			s.failReport(st, ErrClosed)
			return nil
		case err := <-readErr:
			s.failReport(st, ErrClosed)
			return fmt.Errorf("hplc sim: read: %w", err)
		case b := <-in:
			if st.phase != phaseReady {
				st.dropped += len(b)
				continue
			}
			st.deframer.Write(b)
			for {
				raw, skipped, ok := st.deframer.Next()
				if !ok {
					break
				}
				if skipped > 0 {
					s.log.Warn("skipped bytes", "bytes", skipped)
				}
				s.handle(st, raw)
				if st.phase != phaseReady {
					st.deframer.Reset()
					break
				}
			}
		case <-st.bootDone:
			st.phase, st.bootDone, st.routing = phaseReady, nil, "running"
			st.reboots++
			s.log.Info("module booted", "reboots", st.reboots)
		case r := <-s.resets:
			switch {
			case r.value == 1 && st.phase != phaseHeld:
				s.gen.Add(1) // the UART stops mid-frame
				s.stopBoot(st)
				st.phase = phaseHeld
				st.deframer.Reset()
				s.failReport(st, fmt.Errorf("hplc sim: module reset before the report was confirmed: %w", ErrSimNotReady))
			case r.value == 0 && st.phase == phaseHeld:
				s.startBoot(st)
			}
			r.done <- nil
		case ms := <-s.meters:
			if !ms.energy {
				st.meters[ms.addr] = ms.m
			} else if m, ok := st.meters[ms.addr]; ok {
				m.ForwardEnergy += ms.addKWh
				st.meters[ms.addr] = m
			}
		case ch := <-s.states:
			ch <- SimState{Phase: st.phase, Master: st.master, Nodes: slices.Clone(st.nodes), Routing: st.routing,
				HardwareInits: st.hwInits, Reboots: st.reboots, DroppedBytes: st.dropped, Commands: slices.Clone(st.commands)}
		case r := <-s.reports:
			s.startReport(st, r)
		case <-retry:
			p := st.pending
			if p.attempts >= s.cfg.ReportAttempts {
				s.failReport(st, fmt.Errorf("hplc sim: report seq %d not confirmed after %d attempts: %w", p.seq, p.attempts, ErrTimeout))
				continue
			}
			p.attempts++
			st.out <- outItem{b: p.raw, gen: s.gen.Load()}
			p.timer.Reset(s.cfg.ReportRetry)
		}
	}
}

func (s *Sim) startBoot(st *simState) {
	st.phase = phaseBooting
	st.bootTimer = time.NewTimer(s.cfg.RebootTime)
	st.bootDone = st.bootTimer.C
}

func (s *Sim) stopBoot(st *simState) {
	if st.bootTimer != nil {
		st.bootTimer.Stop()
	}
	st.bootDone = nil
}

func (s *Sim) failReport(st *simState, err error) {
	if st.pending != nil {
		st.pending.timer.Stop()
		st.pending.done <- err
		st.pending = nil
	}
}

func (s *Sim) startReport(st *simState, r simReport) {
	if st.phase != phaseReady {
		r.done <- ErrSimNotReady
		return
	}
	if st.pending != nil {
		r.done <- errors.New("hplc sim: a report is already waiting for its confirm")
		return
	}
	st.reportSeq++
	f, err := NewFrame(Control{Up: true, Primary: true, Mode: ModeHPLC}, Info{Seq: st.reportSeq}, r.p)
	var raw []byte
	if err == nil {
		raw, err = f.Encode()
	}
	if err != nil {
		r.done <- err
		return
	}
	st.pending = &pendingReport{seq: st.reportSeq, raw: raw, attempts: 1, timer: time.NewTimer(s.cfg.ReportRetry), done: r.done}
	st.out <- outItem{delay: s.cfg.ReplyDelay, b: raw, gen: s.gen.Load()}
}
