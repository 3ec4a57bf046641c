package daemon

// The store-and-forward leg (the method's 2-8: the business modules use the
// outage history). A replay puts the records journaled during an outage
// into the data store, and each newly stored record (but the outage
// begin/end events, which went to the master as 3106 reports) into its
// outbox. The forwarder delivers the outbox to the master station as
// DL/T 698.45 history reports — each record under its point's uplink OAD,
// its value of the point's uplink data type at its scaler (as a GET reads
// it), with its original time and its outbox number — and takes a record out
// of the outbox only when the master has confirmed the report that
// carried it. A report unconfirmed when holdup stops is sent again after
// the restart with the same numbers, and the master drops what it already
// stored: each record reaches the master exactly once. Reports go one at a
// time, at most cfg.Uplink.ForwardBatch records each and at least
// ForwardInterval apart, after the uplink's power events and data reports.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"time"

	"holdup/devices"
	"holdup/power"
	"holdup/proto698"
	"holdup/store"
)

// historyUplink is the part of proto698.Uplink the forwarder uses.
type historyUplink interface {
	// DeliverHistory sends one history report and returns once the master
	// has confirmed it, or with ctx's error.
	DeliverHistory(ctx context.Context, recs []proto698.ResultRecord) error
}

// outbox is the part of store.DataStore the forwarder uses.
type outbox interface {
	Outbox(limit int) ([]store.Outgoing, error)
	Delivered(nos []uint64) error
	Dropped(nos []uint64, reason string) error
}

// storeOutbox is the outbox of the data store ds returns; while there is
// none every call fails with errNoDataStore.
type storeOutbox struct{ ds func() *store.DataStore }

func (b storeOutbox) Outbox(limit int) ([]store.Outgoing, error) {
	if ds := b.ds(); ds != nil {
		return ds.Outbox(limit)
	}
	return nil, errNoDataStore
}

func (b storeOutbox) Delivered(nos []uint64) error {
	if ds := b.ds(); ds != nil {
		return ds.Delivered(nos)
	}
	return errNoDataStore
}

func (b storeOutbox) Dropped(nos []uint64, reason string) error {
	if ds := b.ds(); ds != nil {
		return ds.Dropped(nos, reason)
	}
	return errNoDataStore
}

// pointRef names a point as records carry it: device and point name.
type pointRef struct{ device, point string }

// forwarder owns the delivery of the outbox; run is its goroutine.
type forwarder struct {
	box   outbox
	up    historyUplink
	oads  map[pointRef]proto698.OAD // exposed points
	batch int
	gap   time.Duration // least time between two reports
	retry time.Duration // wait after a failed report or outbox read
	loc   *time.Location
	wake  chan struct{} // kick → run
	// after is time.After (tests pace the forwarder on a fake clock).
	after func(time.Duration) <-chan time.Time
	log   *slog.Logger
	// done, if set, is told how many records went to the master and how
	// many were kept local each time the outbox has been emptied.
	done func(delivered, dropped int)
	// points are the exposed points, whose uplink data type and scaler
	// the records' values go with (a point missing: float64).
	points map[pointRef]devices.Point
}

// kick tells the forwarder that the outbox may hold new records (a replay
// stored some); it never blocks.
func (f *forwarder) kick() {
	select {
	case f.wake <- struct{}{}:
	default: // one is pending already
	}
}

// run delivers the outbox until ctx ends: at start (what a previous run
// left), and after every kick.
func (f *forwarder) run(ctx context.Context) error {
	delivered, dropped := 0, 0
	for {
		n, k, more, err := f.once(ctx)
		delivered, dropped = delivered+n, dropped+k
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errNoDataStore) {
			err = nil // nothing to deliver until it opens, which kicks
		}
		if err == nil && !more {
			if (delivered > 0 || dropped > 0) && f.done != nil {
				f.done(delivered, dropped)
			}
			delivered, dropped = 0, 0
			select {
			case <-ctx.Done():
				return nil
			case <-f.wake:
			}
			continue
		}
		if err == nil && n == 0 {
			continue // a full batch kept local only: no report went out to pace
		}
		wait := f.gap
		if err != nil {
			f.log.Warn("outage history not delivered; trying again", "err", err, "retry_in", f.retry)
			wait = f.retry
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.after(wait):
		}
	}
}

// once delivers the oldest batch of the outbox: the records of exposed
// points in one report, the others taken out as kept local. It returns
// how many went each way and whether a full batch was found (more may
// wait).
func (f *forwarder) once(ctx context.Context) (delivered, dropped int, more bool, err error) {
	out, err := f.box.Outbox(f.batch)
	if err != nil {
		return 0, 0, false, fmt.Errorf("daemon: forward: read the outbox: %w", err)
	}
	if len(out) == 0 {
		return 0, 0, false, nil
	}
	recs, send, local := f.report(out)
	if len(local) > 0 {
		if err := f.box.Dropped(local, "no uplink OAD: kept in the data store only"); err != nil {
			return 0, 0, false, fmt.Errorf("daemon: forward: %w", err)
		}
		f.log.Info("outage records kept local (their points have no uplink OAD)", "records", len(local))
	}
	if len(send) > 0 {
		if err := f.up.DeliverHistory(ctx, recs); err != nil {
			return 0, len(local), false, fmt.Errorf("daemon: forward: history report of %d record(s): %w", len(send), err)
		}
		if err := f.box.Delivered(send); err != nil {
			// Confirmed but still in the outbox: sent again, and the
			// master drops the copy.
			return 0, len(local), false, fmt.Errorf("daemon: forward: %w", err)
		}
		f.log.Info("outage records delivered to the master station", "records", len(send), "from", send[0], "to", send[len(send)-1])
	}
	return len(send), len(local), len(out) == f.batch, nil
}

// report groups a batch by point: one A-ResultRecord per uplink OAD, rows
// in outbox order. send lists the numbers the report carries, local those
// of records no exposed point owns.
func (f *forwarder) report(out []store.Outgoing) (recs []proto698.ResultRecord, send, local []uint64) {
	rows := map[proto698.OAD][]proto698.HistoryRow{}
	var unencodable []string
	for _, o := range out {
		r := o.Record
		point, _ := r.Attrs["point"].(string)
		ref := pointRef{r.Device, point}
		oad, ok := f.oads[ref]
		if !ok {
			local = append(local, o.No)
			continue
		}
		v, err := uplinkHistoryValue(r, f.points[ref])
		if err != nil {
			unencodable = append(unencodable, fmt.Sprintf("%d %s: %v", o.No, oad, err))
		}
		rows[oad] = append(rows[oad], proto698.HistoryRow{No: historyNo(o.No), Time: r.Time, Value: v})
		send = append(send, o.No)
	}
	if len(unencodable) > 0 {
		// Once per report: a batch holds at most ForwardBatch records.
		f.log.Warn("outage records whose values the points' uplink types cannot carry go to the master as NULL", "records", len(unencodable), "first", unencodable[0])
	}
	for _, oad := range slices.SortedFunc(maps.Keys(rows), func(a, b proto698.OAD) int { return cmp.Compare(a.Uint32(), b.Uint32()) }) {
		recs = append(recs, proto698.HistoryRecord(oad, rows[oad], f.loc))
	}
	return recs, send, local
}

// historyNo is an outbox number as the report's double-long-unsigned
// column carries it. The master keys a record by point, number and time,
// so a number that wrapped past 2^32 (billions of records on) still names
// a record uniquely.
func historyNo(no uint64) uint32 { return uint32(no & math.MaxUint32) }

// historyValue is a record's value as the master reads it: the value
// journaled during the outage (a reading, or the value a control wrote),
// Data NULL for one known not to be valid and for an operation that failed
// (a control write the device did not take wrote nothing).
func historyValue(r store.Record) proto698.Data {
	if _, failed := r.Attrs["error"]; failed || r.Invalid {
		return proto698.Null{}
	}
	switch v := r.Value.(type) {
	case float64:
		return proto698.Float64(v)
	case int64:
		return proto698.Long64(v)
	case uint64:
		return proto698.Long64Unsigned(v)
	case bool:
		return proto698.Bool(v)
	case string:
		return proto698.VisibleString(v)
	case []byte:
		return proto698.OctetString(v)
	}
	return proto698.Null{} // nil: no value
}

// uplinkHistoryValue is historyValue as the point's uplink data type at
// its scaler, the same encoding a GET and the data reports use: a numeric
// value (a bool as 0 or 1) the type cannot carry is Data NULL and an
// error saying why; strings and octets go as they are.
func uplinkHistoryValue(r store.Record, p devices.Point) (proto698.Data, error) {
	d := historyValue(r)
	if p.UplinkType == proto698.TypeNull {
		return d, nil
	}
	var v float64
	switch x := d.(type) {
	case proto698.Float64:
		v = float64(x)
	case proto698.Long64:
		v = float64(x)
	case proto698.Long64Unsigned:
		v = float64(x)
	case proto698.Bool:
		if x {
			v = 1
		}
	default:
		return d, nil // NULL, a string, octets
	}
	e, err := p.UplinkData(v)
	if err != nil {
		return proto698.Null{}, err
	}
	return e, nil
}

// newForwarder builds the forwarder over the data store's outbox and the
// uplink (nil without an uplink; while the data store is unavailable it
// waits for the kick of its opening); its finished deliveries show on the
// timeline as the method's 2-8 when some record went to the master.
func (d *Daemon) newForwarder() *forwarder {
	if d.up == nil || d.nb == nil {
		return nil
	}
	f := &forwarder{box: storeOutbox{d.store}, up: d.up, oads: map[pointRef]proto698.OAD{}, batch: d.cfg.Uplink.ForwardBatch,
		gap: d.cfg.Uplink.ForwardInterval, retry: max(d.cfg.Uplink.ForwardInterval, 5*time.Second), loc: time.Local,
		wake: make(chan struct{}, 1), after: time.After, log: d.log.With("part", "forward")}
	if f.batch <= 0 {
		f.batch = 16
	}
	f.points = map[pointRef]devices.Point{}
	for oad, np := range d.nb.points {
		f.oads[pointRef{np.drv.Device().Name, np.p.Name}] = proto698.NewOAD(oad)
		f.points[pointRef{np.drv.Device().Name, np.p.Name}] = np.p
	}
	tl := d.mon.Timeline()
	f.done = func(delivered, dropped int) {
		if delivered == 0 {
			return // nothing went to the master: no step to show
		}
		detail := fmt.Sprintf("%d record(s) confirmed by the master station", delivered)
		if dropped > 0 {
			detail += fmt.Sprintf("; %d kept in the data store only (no uplink OAD)", dropped)
		}
		tl.Add(time.Now(), power.StepForwarded, detail)
	}
	return f
}

// kickForward tells the forwarder a replay stored new records.
func (d *Daemon) kickForward() {
	if d.fwd != nil {
		d.fwd.kick()
	}
}
