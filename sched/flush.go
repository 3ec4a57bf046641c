package sched

// Holding collection back and flushing the journal queue: the end of the
// hold-up window (the final flush stops collection and waits until every
// critical record taken is journaled) and the start-up charge wait (no
// collection until the capacitor has charged) use them.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrHeld is returned for collection while it is held back (HoldCollection).
var ErrHeld = errors.New("sched: collection held back")

// flushState counts critical records handed to the journal writer and
// written (or failed) by it, so FlushJournal can wait for the ones handed
// over before it was called.
type flushState struct {
	held    atomic.Bool
	handed  atomic.Uint64 // records the owners handed to the writer
	mu      sync.Mutex
	written uint64        // records the writer finished, under mu
	changed chan struct{} // closed at each finished record, under mu
}

// HoldCollection holds collection back (true) or lets it run again
// (false): while held, periodic and requested collection ops are refused
// with ErrHeld when their turn comes (no bus time; their points read
// invalid, as a failed collection's do) and control runs as usual. An
// exchange already on the wire completes.
func (s *Scheduler) HoldCollection(hold bool) {
	if s.fl.held.Swap(hold) == hold {
		return
	}
	s.log.Info("collection " + map[bool]string{true: "held back", false: "released"}[hold])
	for _, o := range s.owners {
		o.poke()
	}
}

// CollectionHeld reports whether collection is held back.
func (s *Scheduler) CollectionHeld() bool { return s.fl.held.Load() }

// FlushJournal returns once every critical record of an exchange that
// ended before the call is through the journal (appended, or its failure
// logged): it waits for each interface's exchange in progress, then for
// the journal writer to reach the records handed over until then. Hold
// collection back first for the queue to stay empty after it.
func (s *Scheduler) FlushJournal(ctx context.Context) error {
	for _, o := range s.owners {
		passed := make(chan struct{})
		if err := o.control(ctx, s.done, func(context.Context) { close(passed) }); err != nil {
			return fmt.Errorf("sched: flush journal: interface %q: %w", o.name, err)
		}
		select {
		case <-passed:
		case <-ctx.Done():
			return fmt.Errorf("sched: flush journal: interface %q: %w", o.name, ctx.Err())
		}
	}
	target := s.fl.handed.Load()
	for {
		s.fl.mu.Lock()
		if s.fl.changed == nil {
			s.fl.changed = make(chan struct{})
		}
		written, ch := s.fl.written, s.fl.changed
		s.fl.mu.Unlock()
		if written >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sched: flush journal: %d of %d critical records written: %w", written, target, ctx.Err())
		}
	}
}

// countingJournal counts the records the writer finished for FlushJournal.
type countingJournal struct {
	j  Journal
	fl *flushState
}

func (c countingJournal) Append(ctx context.Context, rec CriticalRecord) error {
	err := c.j.Append(ctx, rec)
	c.fl.mu.Lock()
	c.fl.written++
	if c.fl.changed != nil {
		close(c.fl.changed)
		c.fl.changed = nil
	}
	c.fl.mu.Unlock()
	return err
}
