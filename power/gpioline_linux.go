//go:build linux

package power

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/warthog618/go-gpiocdev"
)

// GPIOLine is the power-fail input on a Linux GPIO character device,
// through go-gpiocdev: both edges, the configured active level, kernel
// debounce where the kernel and driver offer it, and events from the
// library's epoll watcher (never polled).
type GPIOLine struct {
	l        *gpiocdev.Line
	read     func() (int, error) // l.Value; replaceable in tests
	chip     string
	offset   int
	debounce bool
	h        EdgeHandler
	log      *slog.Logger

	// Touched only by the library's watcher goroutine.
	lastSeq uint32
	gaps    int
}

// OpenGPIOLine requests the power-fail line and starts delivering its edges
// to h. A missing chip, an offset beyond the chip, an unknown line name or a
// busy line give an error naming chip and offset that wraps
// ErrLineUnavailable.
func OpenGPIOLine(cfg GPIOConfig, h EdgeHandler, log *slog.Logger) (*GPIOLine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if h == nil {
		h = func(Event) {}
	}
	consumer := cfg.Consumer
	if consumer == "" {
		consumer = "holdup-power-fail"
	}
	chipName, offset := cfg.Chip, cfg.Offset
	if cfg.Name != "" && chipName == "" {
		c, o, err := gpiocdev.FindLine(cfg.Name)
		if err != nil {
			return nil, fmt.Errorf("power: gpio %s: find line: %w (%w)", cfg.where(), ErrLineUnavailable, err)
		}
		chipName, offset = c, o
	}
	chip, err := gpiocdev.NewChip(chipName, gpiocdev.WithConsumer(consumer))
	if err != nil {
		return nil, fmt.Errorf("power: gpio %s: open chip: %w (%w)", cfg.where(), ErrLineUnavailable, err)
	}
	defer chip.Close()
	if cfg.Name != "" && cfg.Chip != "" {
		o, err := chip.FindLine(cfg.Name)
		if err != nil {
			return nil, fmt.Errorf("power: gpio %s: find line: %w (%w)", cfg.where(), ErrLineUnavailable, err)
		}
		offset = o
	}
	if offset >= chip.Lines() {
		return nil, fmt.Errorf("power: gpio chip %q offset %d: chip has %d lines: %w (%w)",
			chipName, offset, chip.Lines(), ErrLineUnavailable, gpiocdev.ErrInvalidOffset)
	}
	g := &GPIOLine{chip: chipName, offset: offset, h: h, log: log}
	opts := []gpiocdev.LineReqOption{
		gpiocdev.AsInput,
		gpiocdev.WithBothEdges,
		gpiocdev.WithConsumer(consumer),
		gpiocdev.WithEventHandler(g.onEvent),
		gpiocdev.WithEventBufferSize(256),
	}
	// The power-fail signal asserted is the library's "active" state, so
	// a rising (inactive→active) event means mains lost.
	if cfg.ActiveHigh {
		opts = append(opts, gpiocdev.AsActiveHigh)
	} else {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	var l *gpiocdev.Line
	if cfg.Debounce > 0 {
		l, err = chip.RequestLine(offset, append(opts, gpiocdev.WithDebounce(cfg.Debounce))...)
		if err == nil {
			g.debounce = true
		} else {
			log.Warn("power: kernel debounce unavailable, requesting without it",
				"chip", chipName, "offset", offset, "debounce", cfg.Debounce, "err", err)
		}
	}
	if l == nil {
		l, err = chip.RequestLine(offset, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("power: gpio chip %q offset %d: request line: %w (%w)", chipName, offset, ErrLineUnavailable, err)
	}
	g.l, g.read = l, l.Value
	log.Info("power: power-fail line requested", "chip", chipName, "offset", offset,
		"active_high", cfg.ActiveHigh, "kernel_debounce", g.debounce)
	return g, nil
}

// onEvent maps a library event to an Event. A gap in the kernel's line
// sequence numbers means its event buffer overflowed and dropped the newest
// edges, so the event at hand may be stale: the line is read again and its
// current state delivered instead.
func (g *GPIOLine) onEvent(e gpiocdev.LineEvent) {
	m := MainsPresent
	if e.Type == gpiocdev.LineEventRisingEdge {
		m = MainsLost
	}
	if g.lastSeq != 0 && e.LineSeqno != 0 && e.LineSeqno != g.lastSeq+1 {
		g.gaps++
		if v, err := g.read(); err == nil {
			m = MainsPresent
			if v == 1 {
				m = MainsLost
			}
		}
		g.log.Warn("power: power-fail line events dropped by the kernel; line re-read",
			"chip", g.chip, "offset", g.offset, "after_seq", g.lastSeq, "seq", e.LineSeqno, "now", m.String())
	}
	g.lastSeq = e.LineSeqno
	g.h(Event{Mains: m, Stamp: e.Timestamp, Seq: e.LineSeqno})
}

// Value reads the line.
func (g *GPIOLine) Value() (Mains, error) {
	v, err := g.read()
	if err != nil {
		if errors.Is(err, gpiocdev.ErrClosed) {
			return MainsUnknown, ErrClosed
		}
		return MainsUnknown, fmt.Errorf("power: gpio chip %q offset %d: read: %w", g.chip, g.offset, err)
	}
	if v == 1 {
		return MainsLost, nil
	}
	return MainsPresent, nil
}

// KernelDebounce reports whether the kernel accepted the debounce request.
func (g *GPIOLine) KernelDebounce() bool { return g.debounce }

// Close releases the line, waiting for a running handler call.
func (g *GPIOLine) Close() error {
	if err := g.l.Close(); err != nil {
		if errors.Is(err, gpiocdev.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("power: gpio chip %q offset %d: close: %w", g.chip, g.offset, err)
	}
	return nil
}
