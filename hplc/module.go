package hplc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Report is a module-initiated AFN 06 report, already confirmed to the
// module.
type Report struct {
	Seq     uint8
	Payload Payload
}

// Module drives an HPLC module over a serial port. While Run runs it is
// the port's only reader and writer: it reads frames, matches replies to
// commands by sequence number, and confirms AFN 06 reports. Commands
// (Reinit, MonitorNode, Do, …) may be called from any goroutine while Run
// is running; they are sent one at a time, as the module is half-duplex.
//
// The Module never closes the port: whoever opened it closes it, after
// Run has returned.
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

// NewModule returns a driver for the module on port, which stays the
// caller's to close. Run must be started for commands to be sent. A nil
// log discards.
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

// Run reads the port and serves commands until ctx is cancelled (it then
// returns nil) or a read fails; it must be called once. Commands fail with
// ErrClosed once it has returned.
//
// Run does not close the port. Its reader goroutine may still be blocked
// in the port's Read when Run returns: closing the port, which the caller
// does next, ends that Read, and the reader then exits without delivering
// what it read. Until the port is closed that pending Read may take bytes
// from it, so the port is not for another reader.
func (m *Module) Run(ctx context.Context) error {
	defer m.once.Do(func() { close(m.stopped) })
	frames := make(chan inFrame)
	readErr := make(chan error, 1) // the reader never blocks on it
	stopReader := make(chan struct{})
	go func() { readErr <- m.readLoop(frames, stopReader) }()
	defer close(stopReader)

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
		select {
		case <-stop: // Run has returned: a Read that ends now delivers nothing
			return nil
		default:
		}
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
