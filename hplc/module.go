package hplc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Config configures the module driver. Zero durations take the defaults
// noted on each field.
type Config struct {
	// Master is the master-node (CCO) address the terminal restores.
	Master Addr
	// Nodes is the node (meter) list to restore. Nil leaves the module's
	// table alone; non-nil makes the table equal to it.
	Nodes []Node
	// Mode is the communication mode written in C (default ModeHPLC).
	Mode uint8
	// ReplyTimeout bounds the wait for the answer to one command (default 2 s).
	ReplyTimeout time.Duration
	// Retries is how often a command that got no answer is resent (default 2).
	Retries int
	// ResetPulse is how long the reset line is held (default 200 ms).
	ResetPulse time.Duration
	// BootTimeout bounds the wait for the module to answer again after a
	// reset or hardware init (default 30 s).
	BootTimeout time.Duration
	// PollTimeout is the reply timeout of each run-mode poll while waiting
	// for the module to boot; it spaces the polls (default 1 s).
	PollTimeout time.Duration
	// MonitorTimeout bounds an AFN 13 F1 node monitor (default 15 s).
	MonitorTimeout time.Duration
	// NodePage is how many node entries one 10 F2 query asks for (default 16).
	NodePage uint8
	// NodeBatch is how many nodes one 11 F1 / 11 F2 frame carries (default 10).
	NodeBatch int
	// Reset is the optional reset line.
	Reset ResetLine
	// ReportBuffer is the capacity of the Reports channel (default 16).
	ReportBuffer int
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReplyTimeout, 2*time.Second)
	def(&c.ResetPulse, 200*time.Millisecond)
	def(&c.BootTimeout, 30*time.Second)
	def(&c.PollTimeout, time.Second)
	def(&c.MonitorTimeout, 15*time.Second)
	if c.Mode == 0 {
		c.Mode = ModeHPLC
	}
	if c.Retries <= 0 {
		c.Retries = 2
	}
	if c.NodePage == 0 {
		c.NodePage = 16
	}
	if c.NodeBatch <= 0 {
		c.NodeBatch = 10
	}
	if c.ReportBuffer <= 0 {
		c.ReportBuffer = 16
	}
}

// Report is a module-initiated AFN 06 report, already confirmed to the
// module.
type Report struct {
	Seq     uint8
	Payload Payload
}

// Module drives an HPLC module over a serial port. Run owns the port: it
// reads frames, matches replies to commands by sequence number, and
// confirms AFN 06 reports. Commands (Reinit, MonitorNode, Do, …) may be
// called from any goroutine while Run is running; they are sent one at a
// time, as the module is half-duplex.
type Module struct {
	port    Port
	cfg     Config
	log     *slog.Logger
	calls   chan *call
	reports chan Report
	stopped chan struct{}
	once    sync.Once
}

type call struct {
	ctx   context.Context
	frame Frame
	reply chan result // buffered 1
}

type result struct {
	frame   Frame
	payload Payload
	err     error
}

// NewModule returns a driver for the module on port. Run must be started
// for commands to be sent. A nil log discards.
func NewModule(port Port, cfg Config, log *slog.Logger) *Module {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Module{
		port:    port,
		cfg:     cfg,
		log:     log.With("component", "hplc"),
		calls:   make(chan *call),
		reports: make(chan Report, cfg.ReportBuffer),
		stopped: make(chan struct{}),
	}
}

// Reports delivers confirmed AFN 06 reports. When the channel is full a
// report is left unconfirmed, so the module sends it again later.
func (m *Module) Reports() <-chan Report { return m.reports }

type inFrame struct {
	raw     []byte
	skipped int
}

// Run reads the port and serves commands until ctx is cancelled or the port
// fails. It closes the port before returning and must be called once.
func (m *Module) Run(ctx context.Context) error {
	defer m.once.Do(func() { close(m.stopped) })
	frames := make(chan inFrame)
	readErr := make(chan error, 1)
	stopReader := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr <- m.readLoop(frames, stopReader)
	}()
	defer func() {
		close(stopReader)
		m.port.Close()
		wg.Wait()
	}()

	var (
		seq        uint8
		pending    *call
		lastReport []byte // raw frame of the last report delivered
	)
	finish := func(r result) {
		pending.reply <- r
		pending = nil
	}
	for {
		calls := m.calls
		var pendingDone <-chan struct{}
		if pending != nil {
			calls = nil
			pendingDone = pending.ctx.Done()
		}
		select {
		case <-ctx.Done():
			if pending != nil {
				finish(result{err: ErrClosed})
			}
			return nil
		case err := <-readErr:
			if pending != nil {
				finish(result{err: fmt.Errorf("hplc: read: %w", err)})
			}
			return fmt.Errorf("hplc: read port: %w", err)
		case c := <-calls:
			seq++
			c.frame.R.Seq = seq
			b, err := c.frame.Encode()
			if err == nil {
				_, err = m.port.Write(b)
			}
			if err != nil {
				c.reply <- result{err: fmt.Errorf("hplc: send AFN %02X F%d: %w", c.frame.AFN, c.frame.Fn, err)}
				continue
			}
			m.log.Debug("sent", "afn", c.frame.AFN, "fn", c.frame.Fn, "seq", seq)
			pending = c
		case <-pendingDone:
			finish(result{err: pending.ctx.Err()})
		case in := <-frames:
			if in.skipped > 0 {
				m.log.Warn("skipped bytes before frame", "bytes", in.skipped)
			}
			f, _, err := Decode(in.raw)
			if err != nil { // the deframer only passes frames that decode
				m.log.Warn("bad frame", "err", err)
				continue
			}
			switch {
			case !f.C.Up:
				m.log.Warn("ignoring downlink frame from the module side", "afn", f.AFN, "fn", f.Fn)
			case f.C.Primary:
				if m.handleInitiated(f, in.raw, lastReport) {
					lastReport = in.raw
				}
			case pending != nil && f.R.Seq == pending.frame.R.Seq:
				p, err := f.Payload()
				if err == nil {
					if d, ok := p.(Deny); ok {
						err = &DenyError{Reason: d.Reason}
					}
				}
				finish(result{frame: f, payload: p, err: err})
			default:
				m.log.Info("stray reply (late or unsolicited)", "afn", f.AFN, "fn", f.Fn, "seq", f.R.Seq)
			}
		}
	}
}

// handleInitiated hands an AFN 06 report on and confirms it; it reports
// whether the report was delivered. A report identical to the last one
// delivered is the module resending because our confirm was lost: it is
// confirmed again but not delivered twice.
func (m *Module) handleInitiated(f Frame, raw, last []byte) (delivered bool) {
	if f.AFN != AFNReport {
		m.log.Info("module-initiated frame ignored", "afn", f.AFN, "fn", f.Fn, "seq", f.R.Seq)
		return false
	}
	p, err := f.Payload()
	if err != nil {
		m.log.Warn("corrupt report not confirmed", "err", err)
		return false
	}
	if bytes.Equal(raw, last) {
		m.log.Debug("repeated report confirmed again", "fn", f.Fn, "seq", f.R.Seq)
	} else {
		select {
		case m.reports <- Report{Seq: f.R.Seq, Payload: p}:
			delivered = true
		default:
			m.log.Warn("report channel full; report left unconfirmed for the module to resend", "fn", f.Fn, "seq", f.R.Seq)
			return false
		}
	}
	ack, err := NewFrame(Control{Mode: m.cfg.Mode}, Info{Seq: f.R.Seq}, Confirm{Status: 1})
	if err == nil {
		var b []byte
		if b, err = ack.Encode(); err == nil {
			_, err = m.port.Write(b)
		}
	}
	if err != nil {
		m.log.Error("confirm report", "fn", f.Fn, "seq", f.R.Seq, "err", err)
	}
	return delivered
}

func (m *Module) readLoop(out chan<- inFrame, stop <-chan struct{}) error {
	var d Deframer
	buf := make([]byte, 256)
	for {
		n, err := m.port.Read(buf)
		if n > 0 {
			d.Write(buf[:n])
			for {
				raw, skipped, ok := d.Next()
				if !ok {
					break
				}
				select {
				case out <- inFrame{raw: raw, skipped: skipped}:
				case <-stop:
					return nil
				}
			}
		}
		if err != nil {
			return err
		}
	}
}

// exchange sends one frame and waits for its reply, with timeout.
func (m *Module) exchange(ctx context.Context, f Frame, timeout time.Duration) (Frame, Payload, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &call{ctx: ctx, frame: f, reply: make(chan result, 1)}
	select {
	case m.calls <- c:
	case <-ctx.Done():
		return Frame{}, nil, m.ctxErr(ctx)
	case <-m.stopped:
		return Frame{}, nil, ErrClosed
	}
	r := <-c.reply
	if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() != nil {
		r.err = m.ctxErr(ctx)
	}
	return r.frame, r.payload, r.err
}

func (m *Module) ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ctx.Err()
}

// Do sends p to the module (no address field) and returns the reply's
// payload, resending up to Config.Retries times when no answer comes. A deny
// is a *DenyError.
func (m *Module) Do(ctx context.Context, p Payload) (Payload, error) {
	return m.do(ctx, p, m.cfg.ReplyTimeout, m.cfg.Retries)
}

func (m *Module) do(ctx context.Context, p Payload, timeout time.Duration, retries int) (Payload, error) {
	f, err := NewFrame(Control{Primary: true, Mode: m.cfg.Mode}, Info{}, p)
	if err != nil {
		return nil, err
	}
	afn, fn := p.AFNFn()
	for attempt := 0; ; attempt++ {
		_, rp, err := m.exchange(ctx, f, timeout)
		if err == nil {
			return rp, nil
		}
		if !errors.Is(err, ErrTimeout) || attempt >= retries || ctx.Err() != nil {
			return nil, fmt.Errorf("hplc: AFN %02X F%d: %w", afn, fn, err)
		}
		m.log.Debug("no answer, resending", "afn", afn, "fn", fn, "attempt", attempt+1)
	}
}

// Confirmed sends p and requires an AFN 00 F1 confirm.
func (m *Module) Confirmed(ctx context.Context, p Payload) (Confirm, error) {
	rp, err := m.Do(ctx, p)
	if err != nil {
		return Confirm{}, err
	}
	c, ok := rp.(Confirm)
	if !ok {
		afn, fn := p.AFNFn()
		return Confirm{}, fmt.Errorf("hplc: AFN %02X F%d: answered with %T: %w", afn, fn, rp, ErrUnexpected)
	}
	return c, nil
}

func query[T Payload](ctx context.Context, m *Module, p Payload) (T, error) {
	var zero T
	rp, err := m.Do(ctx, p)
	if err != nil {
		return zero, err
	}
	v, ok := rp.(T)
	if !ok {
		afn, fn := p.AFNFn()
		return zero, fmt.Errorf("hplc: AFN %02X F%d: answered with %T, want %T: %w", afn, fn, rp, zero, ErrUnexpected)
	}
	return v, nil
}

// Vendor queries AFN 03 F1.
func (m *Module) Vendor(ctx context.Context) (VendorInfo, error) {
	return query[VendorInfo](ctx, m, QueryVendor)
}

// RunMode queries AFN 03 F10.
func (m *Module) RunMode(ctx context.Context) (RunMode, error) {
	return query[RunMode](ctx, m, QueryRunMode)
}

// MasterAddr queries AFN 03 F4.
func (m *Module) MasterAddr(ctx context.Context) (Addr, error) {
	v, err := query[MasterAddr](ctx, m, QueryMaster)
	return v.Addr, err
}

// RouteStatus queries AFN 10 F4.
func (m *Module) RouteStatus(ctx context.Context) (RouteStatus, error) {
	return query[RouteStatus](ctx, m, QueryRouteStat)
}

// NodeCount queries AFN 10 F1.
func (m *Module) NodeCount(ctx context.Context) (NodeCount, error) {
	return query[NodeCount](ctx, m, QueryNodeCount)
}

// Nodes reads the module's whole node table with AFN 10 F1 and 10 F2 pages.
func (m *Module) Nodes(ctx context.Context) ([]NodeInfo, error) {
	nc, err := m.NodeCount(ctx)
	if err != nil {
		return nil, err
	}
	var out []NodeInfo
	for start := 1; len(out) < int(nc.Count); {
		page, err := query[NodeInfoList](ctx, m, NodeInfoQuery{Start: uint16(start), Count: m.cfg.NodePage})
		if err != nil {
			return nil, err
		}
		if len(page.Nodes) == 0 {
			return nil, fmt.Errorf("hplc: node table: module counts %d nodes but returned none from index %d: %w", nc.Count, start, ErrUnexpected)
		}
		out = append(out, page.Nodes...)
		start += len(page.Nodes)
	}
	return out, nil
}

// Monitor forwards frame (protocol proto) to the node at addr with AFN 13 F1
// and returns the node's answer frame.
func (m *Module) Monitor(ctx context.Context, addr Addr, proto uint8, frame []byte) ([]byte, error) {
	f, err := NewFrame(Control{Primary: true, Mode: m.cfg.Mode}, Info{ModuleID: true},
		MonitorRequest{Protocol: proto, Frame: frame})
	if err != nil {
		return nil, err
	}
	f.Src, f.Dst = m.cfg.Master, addr
	_, rp, err := m.exchange(ctx, f, m.cfg.MonitorTimeout)
	if err != nil {
		return nil, fmt.Errorf("hplc: monitor node %s: %w", addr, err)
	}
	r, ok := rp.(MonitorReply)
	if !ok {
		return nil, fmt.Errorf("hplc: monitor node %s: answered with %T: %w", addr, rp, ErrUnexpected)
	}
	return r.Frame, nil
}

// MonitorNode sends a DL/T 645-2007 frame to the meter at addr through
// AFN 13 F1 and returns the meter's answer frame.
func (m *Module) MonitorNode(ctx context.Context, addr Addr, frame645 []byte) ([]byte, error) {
	return m.Monitor(ctx, addr, ProtoDLT645_2007, frame645)
}
