package sched

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type pointKey struct{ device, point string }

// inflight is an exchange in progress on a device that an outage gates.
type inflight struct {
	cancel context.CancelFunc
	gated  atomic.Bool // GateMainsOnly called it off
}

// callOff cancels the exchange in progress if its device is gated; it is
// called by GateMainsOnly and neither blocks nor allocates.
func (o *owner) callOff() {
	if fl := o.cur.Load(); fl != nil {
		fl.gated.Store(true)
		fl.cancel()
	}
}

type pointState struct {
	r         Reading
	integrity Integrity
}

// owner is the one goroutine that performs IO on a physical interface.
// Everything below the channels is owned by run; the counters are atomics
// readable from anywhere.
type owner struct {
	s              *Scheduler
	name           string
	in             chan *job
	ctl            chan func(context.Context)
	wake           chan struct{}
	devices        []*devInfo
	carriesControl bool // some device has control points: run at ControlNice

	q           queue
	win         window
	winErrs     atomic.Int32 // errors in the window, for Stats
	winFill     atomic.Int32 // outcomes in the window, for Stats
	depth       atomic.Int32 // ops in the priority queue, for Stats
	closed      bool
	epoch       uint64 // outage count last acted on
	awaiting    map[string]bool
	lastCollect time.Time
	// readings are written by the owner under rmu and read by Latest
	// under it from any goroutine.
	rmu      sync.Mutex
	readings map[pointKey]*pointState
	periodic []*periodic
	overruns atomic.Uint64

	// cur is the exchange in progress on a gatable device, for
	// GateMainsOnly to call off.
	cur atomic.Pointer[inflight]

	dispatched  atomic.Uint64
	silencedOps atomic.Uint64
	dropped     atomic.Uint64
	gatedOps    atomic.Uint64
	closedFlag  atomic.Bool
}

func newOwner(s *Scheduler, name string) *owner {
	return &owner{
		s:        s,
		name:     name,
		in:       make(chan *job, s.cfg.QueueLen),
		ctl:      make(chan func(context.Context)),
		wake:     make(chan struct{}, 1),
		win:      newWindow(s.cfg.ErrorWindow),
		awaiting: make(map[string]bool),
		readings: make(map[pointKey]*pointState),
	}
}

// poke wakes the owner without blocking or allocating.
func (o *owner) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// control runs fn on the owner goroutine, between exchanges.
func (o *owner) control(ctx context.Context, done <-chan struct{}, fn func(context.Context)) error {
	select {
	case o.ctl <- fn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return ErrStopped
	}
}

func (o *owner) run(ctx context.Context) {
	if o.carriesControl {
		o.raiseCPUPriority()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer o.shutdown()
	for ctx.Err() == nil {
		o.syncPower()
		o.serveControl(ctx)
		o.absorb()
		next := o.duePeriodic(time.Now())
		var wait <-chan time.Time
		if o.q.len() > 0 && !o.closed {
			delay := o.rateDelay(o.q.peek())
			if delay <= 0 {
				j := o.q.pop()
				o.depth.Store(int32(o.q.len()))
				o.dispatch(j)
				continue
			}
			if next <= 0 || delay < next {
				next = delay
			}
		}
		if next > 0 {
			timer.Reset(next)
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case j := <-o.in:
			o.accept(j)
		case fn := <-o.ctl:
			fn(ctx)
		case <-o.wake:
		case <-wait:
		}
		timer.Stop()
	}
}

// raiseCPUPriority locks the owner to its OS thread and gives the thread
// ControlNice, so its control exchanges are scheduled before the
// terminal's other work. Best effort: what was not permitted is logged once
// per scheduler, and the owner runs all the same. The thread is never
// unlocked: it exits with the owner, and the priority never reaches another
// goroutine.
func (o *owner) raiseCPUPriority() {
	runtime.LockOSThread()
	err := setThreadNice(ControlNice)
	o.s.niceLogged.Do(func() {
		if err != nil {
			o.s.log.Warn("CPU priority not applied to the owners of interfaces with control points", "interface", o.name, "nice", ControlNice, "err", err)
			return
		}
		o.s.log.Info("CPU priority applied to the owners of interfaces with control points", "nice", ControlNice)
	})
}

// serveControl runs a waiting control request (Reinit, Latest) before the
// next exchange, so a saturated queue cannot starve them.
func (o *owner) serveControl(ctx context.Context) {
	select {
	case fn := <-o.ctl:
		fn(ctx)
	default:
	}
}

// absorb moves everything waiting on the input channel into the queue so
// the next dispatch sees every pending op.
func (o *owner) absorb() {
	for {
		select {
		case j := <-o.in:
			o.accept(j)
		default:
			return
		}
	}
}

func (o *owner) shutdown() {
	o.absorb()
	for o.q.len() > 0 {
		o.finish(o.q.pop(), Result{}, ErrStopped)
	}
}

func (o *owner) finish(j *job, res Result, err error) {
	if j.op.Class == Collection && err != nil && Classify(err) != Cancelled {
		// No current value: the last good one must not be reported as if
		// it were (a caller's own cancel leaves the reading as it was).
		o.invalidate(pointKey{j.op.Device, j.op.Point}, time.Now())
	}
	if j.every != nil {
		j.every.queued = false
		return
	}
	j.reply <- reply{res, err, j.ack}
}

// refusal says why j may not run now, or nil.
func (o *owner) refusal(j *job) error {
	d := o.s.devices[j.op.Device]
	outage := o.s.power.Load()&1 != 0
	switch {
	case o.closed:
		return fmt.Errorf("sched: interface %q: %w", o.name, ErrPathClosed)
	case d.disabled.Load():
		return fmt.Errorf("sched: device %q: %w", d.Name, ErrDisabled)
	case outage && d.gated:
		o.gatedOps.Add(1)
		return fmt.Errorf("sched: device %q: %w", d.Name, ErrGated)
	case o.awaiting[d.Name]:
		return fmt.Errorf("sched: device %q on %q: %w", d.Name, o.name, ErrAwaitingReinit)
	case d.silent.Load() && (d.probing || time.Now().Before(d.silentUntil)):
		o.silencedOps.Add(1)
		return o.silentErr(d)
	case outage && j.op.Class == Collection && j.op.Integrity == Unchecked:
		o.dropped.Add(1)
		return fmt.Errorf("sched: device %q point %q: %w", d.Name, j.op.Point, ErrDropped)
	case j.op.Class == Collection && o.s.fl.held.Load():
		return fmt.Errorf("sched: device %q point %q: %w", d.Name, j.op.Point, ErrHeld)
	}
	return nil
}

func (o *owner) accept(j *job) {
	if err := o.refusal(j); err != nil {
		o.finish(j, Result{}, err)
		return
	}
	o.q.push(j)
	o.depth.Store(int32(o.q.len()))
}

// rateDelay is how long j must wait for the outage collection rate.
func (o *owner) rateDelay(j *job) time.Duration {
	iv := o.s.cfg.OutageCollectInterval
	if iv <= 0 || j.op.Class != Collection || o.s.power.Load()&1 == 0 {
		return 0
	}
	return time.Until(o.lastCollect.Add(iv))
}

// syncPower acts on an outage that began since the owner last looked:
// queued ops of gated devices fail with ErrGated, queued unchecked
// collection is dropped, gated devices wait for Reinit after the outage,
// and readings that will not be refreshed are marked invalid.
func (o *owner) syncPower() {
	v := o.s.power.Load()
	epoch := v >> 1
	if epoch == o.epoch {
		return
	}
	o.epoch = epoch
	for _, d := range o.devices {
		if d.gated {
			o.awaiting[d.Name] = true
		}
	}
	o.q.removeIf(func(j *job) bool {
		d := o.s.devices[j.op.Device]
		return d.gated || (j.op.Class == Collection && j.op.Integrity == Unchecked)
	}, func(j *job) { o.finish(j, Result{}, o.refusal(j)) })
	o.depth.Store(int32(o.q.len()))
	now := time.Now()
	for k, ps := range o.readings {
		if o.s.devices[k.device].gated || ps.integrity == Unchecked {
			o.invalidate(k, now)
		}
	}
	o.s.log.Info("outage: IO gated", "interface", o.name, "outage", v&1 != 0)
}

func (o *owner) dispatch(j *job) {
	if err := j.ctx.Err(); err != nil {
		o.finish(j, Result{}, err)
		return
	}
	// The power state may have changed since the job was queued: look
	// again right before the exchange.
	o.syncPower()
	if err := o.refusal(j); err != nil {
		o.finish(j, Result{}, err)
		return
	}
	if err := o.admitControl(j); err != nil {
		o.finish(j, Result{}, err)
		return
	}
	if j.op.Class == Collection {
		o.lastCollect = time.Now()
	}
	d := o.s.devices[j.op.Device]
	runCtx := j.ctx
	var fl *inflight
	if d.gated {
		// Publish the exchange, then look at the power state again: the
		// gate either sees it and calls it off, or is seen here.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithCancel(j.ctx)
		fl = &inflight{cancel: cancel}
		o.cur.Store(fl)
		if o.s.power.Load()&1 != 0 {
			o.cur.Store(nil)
			cancel()
			o.gatedOps.Add(1)
			o.finish(j, Result{}, fmt.Errorf("sched: device %q: %w", d.Name, ErrGated))
			return
		}
	}
	d.probing = d.silent.Load() // the one exchange let through to a silenced device
	res, err := j.op.Run(runCtx)
	if fl != nil {
		o.cur.Store(nil)
		fl.cancel()
		if fl.gated.Load() && Classify(err) == Cancelled {
			d.probing = false
			o.gatedOps.Add(1)
			o.finish(j, Result{}, fmt.Errorf("sched: device %q: exchange called off: %w", d.Name, ErrGated))
			return
		}
	}
	o.dispatched.Add(1)
	outage := o.s.power.Load()&1 != 0
	oc := Classify(err)
	probe := d.probing
	o.probed(d, oc)
	if !probe || !oc.countsAsError() || oc == LinkDown {
		// A silenced device's failed probe is its own failure, already
		// handled by probed; it says nothing more about the interface.
		o.watch(d, oc, err)
	}
	if j.op.Class == Collection && err == nil {
		o.record(j, res)
	}
	if outage && o.s.cfg.Journal != nil && (j.op.Class == Control || (j.op.Integrity == Checked && err == nil)) {
		o.journal(j, res, err)
	}
	o.finish(j, res, err)
}

// watch feeds the error-rate window and closes the path at the threshold
// or on a link failure — unless every error in the window came from one
// device while another on the interface answered: the line works, that
// device does not, and it alone is silenced.
func (o *owner) watch(d *devInfo, oc Outcome, err error) {
	n := o.win.add(d, oc)
	switch {
	case oc == LinkDown:
		o.close(AlarmLinkDown, oc, n, err)
	case n >= o.s.cfg.ErrorThreshold:
		if c := o.win.culprit(); c != nil {
			o.silence(c, oc, n, err)
			n = o.win.errors
			break
		}
		o.close(AlarmErrorRate, oc, n, err)
	}
	o.winErrs.Store(int32(n))
	o.winFill.Store(int32(o.win.filled))
}

// silence stops IO to a device that fails while its interface works: its
// ops fail at once (ErrSilent) instead of holding the bus for a timeout
// each, one probe exchange is let through after a back-off that doubles
// up to SilentBackoffMax, and its errors leave the interface's window.
func (o *owner) silence(d *devInfo, last Outcome, errs int, err error) {
	o.win.forget(d)
	d.silentFor = o.s.cfg.SilentBackoff
	d.silentUntil = time.Now().Add(d.silentFor)
	d.silent.Store(true)
	a := Alarm{Interface: o.name, Device: d.Name, Reason: AlarmDeviceSilent, Errors: errs, Window: o.s.cfg.ErrorWindow, Last: last, Err: err, Time: time.Now()}
	o.s.log.Error("device silenced", "interface", o.name, "device", d.Name, "errors", errs, "window", a.Window, "last", last.String(), "probe_in", d.silentFor, "err", err)
	o.q.removeIf(func(j *job) bool { return j.op.Device == d.Name }, func(j *job) { o.finish(j, Result{}, o.silentErr(d)) })
	o.depth.Store(int32(o.q.len()))
	now := time.Now()
	for k := range o.readings {
		if k.device == d.Name {
			o.invalidate(k, now)
		}
	}
	if o.s.cfg.OnAlarm != nil {
		o.s.cfg.OnAlarm(a)
	}
}

// probed ends a silenced device's probe: an answer brings it back, a
// failure doubles the back-off.
func (o *owner) probed(d *devInfo, oc Outcome) {
	if !d.probing {
		return
	}
	d.probing = false
	if oc == OK || oc == Exception {
		d.silent.Store(false)
		d.silentFor = 0
		o.s.log.Info("silenced device answers again", "interface", o.name, "device", d.Name)
		return
	}
	d.silentFor = min(2*d.silentFor, o.s.cfg.SilentBackoffMax)
	d.silentUntil = time.Now().Add(d.silentFor)
	o.s.log.Warn("silenced device still not answering", "interface", o.name, "device", d.Name, "outcome", oc.String(), "probe_in", d.silentFor)
}

func (o *owner) silentErr(d *devInfo) error {
	return fmt.Errorf("sched: device %q on %q: %w (next probe in %v)", d.Name, o.name, ErrSilent, time.Until(d.silentUntil).Round(time.Millisecond))
}

func (o *owner) silentNames() []string {
	var out []string
	for _, d := range o.devices {
		if d.silent.Load() {
			out = append(out, d.Name)
		}
	}
	return out
}

// unsilence clears every device's silence (the interface was
// re-initialised: start afresh).
func (o *owner) unsilence() {
	for _, d := range o.devices {
		d.silent.Store(false)
		d.silentFor, d.probing = 0, false
	}
}

func (o *owner) close(reason AlarmReason, last Outcome, errs int, err error) {
	if o.closed && reason != AlarmReinitFailed {
		return // already closed and alarmed
	}
	o.closed = true
	o.closedFlag.Store(true)
	a := Alarm{Interface: o.name, Reason: reason, Errors: errs, Window: o.s.cfg.ErrorWindow, Last: last, Err: err, Time: time.Now()}
	o.s.log.Error("IO path closed", "interface", o.name, "reason", reason.String(), "errors", errs, "window", a.Window, "last", last.String(), "err", err)
	for o.q.len() > 0 {
		o.finish(o.q.pop(), Result{}, fmt.Errorf("sched: interface %q: %w", o.name, ErrPathClosed))
	}
	o.depth.Store(0)
	for k := range o.readings {
		o.invalidate(k, a.Time)
	}
	if o.s.cfg.OnAlarm != nil {
		o.s.cfg.OnAlarm(a)
	}
}

// reinit runs fn and re-opens the path on success. During an outage,
// devices gated by it stay waiting: their parts are unpowered, so a
// re-initialisation now does not count.
func (o *owner) reinit(ctx context.Context, fn func(context.Context) error) error {
	if fn != nil {
		if err := fn(ctx); err != nil {
			err = fmt.Errorf("sched: interface %q: reinit: %w", o.name, err)
			o.close(AlarmReinitFailed, Classify(err), o.win.errors, err)
			return err
		}
	}
	o.closed = false
	o.closedFlag.Store(false)
	o.win.reset()
	o.unsilence()
	o.winErrs.Store(0)
	o.winFill.Store(0)
	if o.s.power.Load()&1 == 0 {
		clear(o.awaiting)
	}
	o.s.log.Info("IO path re-opened", "interface", o.name)
	return nil
}

func (o *owner) record(j *job, res Result) {
	k := pointKey{j.op.Device, j.op.Point}
	o.rmu.Lock()
	ps := o.readings[k]
	if ps == nil {
		ps = &pointState{}
		o.readings[k] = ps
	}
	ps.integrity = j.op.Integrity
	ps.r = Reading{Device: j.op.Device, Point: j.op.Point, Value: res.Value, Time: time.Now()}
	o.rmu.Unlock()
	if o.s.cfg.OnReading != nil {
		o.s.cfg.OnReading(ps.r)
	}
}

// invalidate replaces a point's reading with the invalid marker (698
// NULL) and reports it, unless it is invalid already.
func (o *owner) invalidate(k pointKey, now time.Time) {
	ps := o.readings[k]
	if ps == nil || ps.r.Invalid {
		return // never read: Latest says invalid already
	}
	o.rmu.Lock()
	ps.r = Reading{Device: k.device, Point: k.point, Invalid: true, Time: now}
	o.rmu.Unlock()
	if o.s.cfg.OnReading != nil {
		o.s.cfg.OnReading(ps.r)
	}
}

// latest returns a point's reading and integrity; the caller holds rmu.
func (o *owner) latest(device, point string) (Reading, Integrity) {
	if ps := o.readings[pointKey{device, point}]; ps != nil {
		return ps.r, ps.integrity
	}
	return Reading{Device: device, Point: point, Invalid: true}, Checked
}

// criticalRecord is the journal record of j's exchange.
func (o *owner) criticalRecord(j *job, res Result, err error) CriticalRecord {
	rec := CriticalRecord{
		Business:     j.op.Business,
		Interface:    o.name,
		Device:       j.op.Device,
		Point:        j.op.Point,
		Class:        j.op.Class,
		Integrity:    j.op.Integrity,
		Attrs:        j.op.Attrs,
		Time:         time.Now(),
		ChecksumKind: res.ChecksumKind,
		Checksum:     res.Checksum,
		Value:        res.Value,
		Raw:          res.Raw,
	}
	if err != nil {
		rec.Invalid = true
		rec.Err = err.Error()
	}
	return rec
}

// admitControl lets a Durable control op run during an outage only if the
// journal (a JournalAdmitter) would take its record now; otherwise the op
// fails with ErrJournalFull and nothing reaches the device. The question
// goes through the journal writer's queue, so it is answered after every
// record handed over before it — this owner's earlier records included —
// is appended: the owner waits for that (a few page writes at most; the
// journal queue is short during an outage). Space can still go between
// the answer and the record's Append only to a record handed over later
// by another interface's owner or written by the power monitor; then the
// Append is refused and Do answers ErrNotJournaled, as before.
func (o *owner) admitControl(j *job) error {
	if !j.op.Durable || j.op.Class != Control || j.every != nil || o.s.power.Load()&1 == 0 {
		return nil
	}
	adm, ok := o.s.cfg.Journal.(JournalAdmitter)
	if !ok {
		return nil
	}
	ack := make(chan error, 1)
	o.s.journal <- journalItem{rec: o.criticalRecord(j, Result{}, nil), ack: ack, admit: adm}
	if err := <-ack; err != nil {
		return fmt.Errorf("sched: device %q point %q: %w: %w", j.op.Device, j.op.Point, ErrJournalFull, err)
	}
	return j.ctx.Err() // the caller may have gone meanwhile: then do not run it
}

func (o *owner) journal(j *job, res Result, err error) {
	rec := o.criticalRecord(j, res, err)
	it := journalItem{rec: rec}
	if j.op.Durable && err == nil && j.every == nil {
		// Do waits for it, not the owner: the channel is buffered.
		it.ack = make(chan error, 1)
		j.ack = it.ack
	}
	// Blocking while the queue is full: the writer runs until the owners
	// have stopped.
	o.s.fl.handed.Add(1)
	o.s.journal <- it
}
