package sched

import (
	"context"
	"fmt"
	"time"
)

// periodic is one collection op the owner runs every period. Owned by the
// owner goroutine once Run has started.
type periodic struct {
	job      job
	period   time.Duration
	deadline time.Duration
	next     time.Time
	queued   bool
}

// Collect registers op to run every period on its device's interface,
// each run due deadline after it starts being due (0: the period). It must
// be called before Run. Results go to OnReading and Latest (and, during an
// outage, checked data to the Journal); the usual rules apply: gated
// devices and unchecked points skip the outage, collection keeps the
// outage rate, and a run still queued when the next falls due is counted
// as an overrun rather than queued twice.
func (s *Scheduler) Collect(op Op, period, deadline time.Duration) error {
	d := s.devices[op.Device]
	switch {
	case s.running.Load():
		return fmt.Errorf("sched: device %q point %q: Collect after Run", op.Device, op.Point)
	case d == nil:
		return fmt.Errorf("%w %q", ErrUnknownDevice, op.Device)
	case op.Class != Collection:
		return fmt.Errorf("sched: device %q point %q: periodic ops must be collection", op.Device, op.Point)
	case period <= 0:
		return fmt.Errorf("sched: device %q point %q: period %v must be > 0", op.Device, op.Point, period)
	case op.Run == nil:
		return fmt.Errorf("sched: device %q point %q: op has no Run", op.Device, op.Point)
	}
	if deadline <= 0 {
		deadline = period
	}
	p := &periodic{period: period, deadline: deadline}
	p.job = job{op: op, ctx: context.Background(), every: p}
	d.owner.periodic = append(d.owner.periodic, p)
	return nil
}

// duePeriodic queues every periodic op that is due at now and returns how
// long until the next one falls due (0: none registered).
func (o *owner) duePeriodic(now time.Time) time.Duration {
	var soonest time.Duration
	for _, p := range o.periodic {
		if p.next.IsZero() {
			p.next = now
		}
		if !now.Before(p.next) {
			if p.queued {
				o.overruns.Add(1)
			} else {
				p.queued = true
				p.job.seq = o.s.seq.Add(1)
				p.job.op.Deadline = p.next.Add(p.deadline)
				o.accept(&p.job)
			}
			p.next = p.next.Add(p.period)
			if p.next.Before(now) {
				p.next = now.Add(p.period) // fell behind: no burst
			}
		}
		if d := p.next.Sub(now); soonest == 0 || d < soonest {
			soonest = max(d, time.Nanosecond)
		}
	}
	return soonest
}
