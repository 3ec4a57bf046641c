package daemon

// The master station's view of the field: the points the configuration
// exposes with uplink_oad, read (GET) and, for control points, set (SET)
// over the 698 uplink.

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"holdup/devices"
	"holdup/proto698"
	"holdup/sched"
)

// northbound is proto698.Server on the scheduler. A GET answers the
// point's latest reading as the point's uplink data type at its scaler
// (float64 without one; Data NULL for a value the type cannot carry), or
// Data NULL whenever the scheduler has no
// current value for it (an outage stopped its collection, its latest
// collection failed, its interface is closed): the master never receives
// the last good value as if it were current. From the confirmed loss of
// mains to its confirmed return (invalid, switched by the power monitor
// through the modules adapter) every point reads NULL — the method's
// initial invalid value — even one still collected on the supercapacitor,
// unless the point is configured UplinkLiveInOutage; the scheduler keeps
// collecting and journaling the real values meanwhile. The same values go
// to the master unasked as periodic data reports, and at once when an
// outage turns readings invalid or its end valid again (reportLoop). A SET
// of a control point runs as a control op through the scheduler, so it
// takes control's place ahead of collection and is gated, journaled and
// error-watched like any other. Its answer is durable and bounded: beyond
// the configured control rate (limit) it is refused with "temporarily
// unavailable" before it reaches the scheduler, and "success" means the op
// ran and, during an outage, its record is in the EEPROM journal (a
// Durable op); a record the journal could not store is "hardware failure".
type northbound struct {
	// unencodable limits the warnings about values a point's uplink type
	// cannot carry.
	unencodable limitedLog

	sched   *sched.Scheduler
	points  map[uint32]nbPoint // uplink OAD → point
	invalid *atomic.Bool       // the outage's invalid values are in force; nil: never
	log     *slog.Logger
	now     chan struct{} // reportNow → reportLoop
	limit   *controlLimit // the master's control rate; nil: unbounded
}

// outageInvalid reports whether the master reads NULL for p because the
// outage's invalid values are in force (invalid) and p is not configured to
// keep its live value. Get and the console decide with it alike.
func outageInvalid(invalid bool, p devices.Point) bool {
	return invalid && !p.UplinkLiveInOutage
}

// masked reports whether the outage's invalid values hide p's reading now.
func (n *northbound) masked(p devices.Point) bool {
	return n.invalid != nil && outageInvalid(n.invalid.Load(), p)
}

type nbPoint struct {
	drv devices.Driver
	p   devices.Point
}

// Get implements proto698.Server.
func (n *northbound) Get(ctx context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	np, ok := n.points[oad.Uint32()]
	if !ok {
		return nil, proto698.DARUndefined
	}
	if np.p.Class == devices.ClassControl {
		// A control point has no measured value; the last command is not
		// the output's state.
		return nil, proto698.DARReadDenied
	}
	if n.masked(np.p) {
		// The initial invalid value, whatever the point still reads
		// on the capacitor.
		return proto698.Null{}, proto698.DARSuccess
	}
	r, err := n.sched.Latest(ctx, np.drv.Device().Name, np.p.Name)
	switch {
	case err != nil:
		return nil, darOf(err)
	case r.Invalid:
		return proto698.Null{}, proto698.DARSuccess
	}
	return n.encode(oad, np, r.Value), proto698.DARSuccess
}

// encode is v as the master receives it: of the point's uplink data type
// at its scaler (float64 without one). A value the type cannot carry goes
// as Data NULL, never as a wrapped integer, with a warning per point at
// most once a minute (and how many were held back).
func (n *northbound) encode(oad proto698.OAD, np nbPoint, v float64) proto698.Data {
	d, err := np.p.UplinkData(v)
	if err == nil {
		return d
	}
	if ok, held := n.unencodable.allow(oad.String()); ok {
		n.log.Warn("value not representable in the point's uplink type: the master reads NULL", "oad", oad.String(),
			"device", np.drv.Device().Name, "point", np.p.Name, "value", v, "uplink_type", np.p.UplinkType.String(),
			"uplink_scaler", np.p.UplinkScaler, "held_back", held, "err", err)
	}
	return proto698.Null{}
}

// limitedLog lets a warning through per key at most once per interval,
// counting the ones it holds back in between. The zero value is ready
// (time.Now, one minute); it is safe for concurrent use.
type limitedLog struct {
	mu    sync.Mutex
	now   func() time.Time // nil: time.Now
	every time.Duration    // 0: one minute
	last  map[string]limitedEntry
}

type limitedEntry struct {
	at   time.Time
	held int
}

// allow reports whether key's warning may be logged now and, if so, how
// many were held back since the last one.
func (l *limitedLog) allow(key string) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	every := l.every
	if every <= 0 {
		every = time.Minute
	}
	t := now()
	e, seen := l.last[key]
	if seen && t.Sub(e.at) < every {
		e.held++
		l.last[key] = e
		return false, 0
	}
	if l.last == nil {
		l.last = map[string]limitedEntry{}
	}
	l.last[key] = limitedEntry{at: t}
	return true, e.held
}

// Set implements proto698.Server.
func (n *northbound) Set(ctx context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	np, ok := n.points[oad.Uint32()]
	if !ok {
		return proto698.DARUndefined
	}
	if np.p.Class != devices.ClassControl {
		return proto698.DARReadDenied // a collection point is measured, not set
	}
	f, null, err := np.p.UplinkFloat(v) // of the point's uplink type, raw × 10^scaler
	if err != nil || null {
		return proto698.DARTypeMismatch
	}
	dev := np.drv.Device().Name
	if n.limit != nil && !n.limit.allow() {
		return proto698.DARTemporary // counted and logged by the limit
	}
	op := pointOp(np.drv, np.p, f)
	op.Durable = true
	if _, err := n.sched.Do(ctx, op); err != nil {
		dar := darOf(err)
		n.log.Warn("master's SET refused", "oad", oad.String(), "device", dev, "point", np.p.Name, "value", f, "dar", dar.String(), "err", err)
		return dar
	}
	n.log.Info("master's SET done", "oad", oad.String(), "device", dev, "point", np.p.Name, "value", f)
	return proto698.DARSuccess
}

// darOf names a scheduler or driver error as the DAR the master receives:
// the device's own refusal where it gave one, "temporarily unavailable"
// while holdup keeps the path shut (outage gating, error-rate closure,
// awaiting re-initialisation, disabled), "hardware failure" when the
// device did not answer properly — and when a control ran during an outage
// but the EEPROM journal could not store its record (full, or the write
// failed: sched.ErrNotJournaled): the terminal's own storage failed, so the
// master must not take the action as done and recorded; it reads the
// output's state back once power returns.
//
// A control the journal could not take was not run at all
// (sched.ErrJournalFull: checked before the exchange, the output is as it
// was): "temporarily unavailable", like a SET over the control rate — the
// refusal is the terminal's state during this outage, not a fault, and the
// master may try again once power returns and the journal is replayed and
// consumed. "Hardware failure" stays for the rare record refused after
// its control ran (space taken by another record in between).
func darOf(err error) proto698.DAR {
	var de *proto698.DARError
	switch {
	case errors.Is(err, sched.ErrJournalFull):
		return proto698.DARTemporary
	case errors.Is(err, sched.ErrNotJournaled):
		return proto698.DARHardware
	case errors.As(err, &de):
		return de.DAR
	case errors.Is(err, devices.ErrBadValue):
		return proto698.DAROutOfRange
	case errors.Is(err, context.DeadlineExceeded):
		return proto698.DARRequestTimeout
	case errors.Is(err, sched.ErrGated), errors.Is(err, sched.ErrPathClosed), errors.Is(err, sched.ErrAwaitingReinit),
		errors.Is(err, sched.ErrDisabled), errors.Is(err, sched.ErrDropped), errors.Is(err, sched.ErrStopped),
		errors.Is(err, context.Canceled):
		return proto698.DARTemporary
	}
	if errors.Is(err, sched.ErrSilent) {
		return proto698.DARHardware // the device stopped answering
	}
	switch sched.Classify(err) {
	case sched.Exception:
		return proto698.DARReadDenied // the device refused it
	case sched.Timeout, sched.LengthMismatch, sched.ChecksumMismatch, sched.LinkDown:
		return proto698.DARHardware
	}
	return proto698.DAROther
}

// snapshot returns the value of every exposed collection point, in OAD
// order: the reading, or Data NULL where the scheduler has no current
// value (the same answer a GET gets).
func (n *northbound) snapshot(ctx context.Context) []proto698.ResultNormal {
	oads := make([]uint32, 0, len(n.points))
	for oad, np := range n.points {
		if np.p.Class == devices.ClassCollection {
			oads = append(oads, oad)
		}
	}
	slices.Sort(oads)
	out := make([]proto698.ResultNormal, 0, len(oads))
	for _, o := range oads {
		oad := proto698.NewOAD(o)
		d, dar := n.Get(ctx, oad)
		out = append(out, proto698.ResultNormal{OAD: oad, Data: d, DAR: dar})
	}
	return out
}

// reportNow asks the report loop for a snapshot at once (the readings
// have just turned invalid or valid); it never blocks.
func (n *northbound) reportNow() {
	select {
	case n.now <- struct{}{}:
	default: // one is pending already
	}
}

// reportLoop hands send a snapshot every period (0: only when asked) and
// whenever reportNow is called, until ctx ends. send queues the report on
// the uplink and must not block; a failure is logged and the next
// snapshot, which supersedes it, tried as usual.
func (n *northbound) reportLoop(ctx context.Context, period time.Duration, send func([]proto698.ResultNormal) error) error {
	var tick <-chan time.Time
	if period > 0 {
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-n.now:
		}
		snap := n.snapshot(ctx)
		if len(snap) == 0 {
			continue
		}
		nulls := 0
		for _, r := range snap {
			if _, null := r.Data.(proto698.Null); null {
				nulls++
			}
		}
		if err := send(snap); err != nil {
			n.log.Warn("data report not queued", "points", len(snap), "err", err)
			continue
		}
		n.log.Debug("data report queued", "points", len(snap), "invalid", nulls)
	}
}
