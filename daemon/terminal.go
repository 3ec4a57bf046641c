package daemon

// The terminal's own objects as the master station reads them over the
// uplink: 4001 communication address, 4000 date-time (read; set, and the
// broadcast time setting, where the configuration allows it), and the
// 3106 power-off/on event object's attributes. Every other OAD goes to
// the points' server (northbound).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"sync"
	"time"

	"holdup/proto698"
)

// outageCounts is what the terminal reports of its outage history in
// 3106: the outages the data store logged (plus one open now), and their
// total duration.
type outageCounts func(ctx context.Context) (count int, total time.Duration, err error)

// terminal is the uplink's proto698.Server (and, through Action, the
// method server) for the terminal as a whole. It holds no state of its
// own but the clock-setting lock; the methods run on the uplink's request
// goroutines, several at once. SET and ACTION reach it only over the
// uplink's authenticated path (the uplink refuses them otherwise).
type terminal struct {
	points proto698.Server // the exposed points; nil: none
	addr   []byte          // 4001: the terminal's server address, natural order
	clock  Clock
	loc    *time.Location // time zone of date_time_s (the uplink's)
	// setClock allows SET 40000200 and ACTION 40007F00 (uplink.set_clock);
	// maxStep bounds the step (uplink.clock_max_step); floor is holdup's
	// build date: a time before it is refused, a clock before it is unset
	// and may be stepped any distance forward.
	setClock bool
	maxStep  time.Duration
	floor    time.Time
	power    proto698.PowerEventConfig // 3106 attribute 6
	outages  outageCounts              // nil: no data store configured
	log      *slog.Logger
	clockMu  sync.Mutex // one clock setting at a time: the step is measured against the clock it replaces
}

// terminal invokes the broadcast time setting.
var _ proto698.ActionServer = (*terminal)(nil)

// maxEventRecords is 3106 attribute 5: the data store keeps every outage,
// so the most a long-unsigned can say.
const maxEventRecords = math.MaxUint16

// latestValidTime bounds a time the master sets, years after the build.
const latestValidYears = 50

// Get implements proto698.Server.
func (t *terminal) Get(ctx context.Context, oad proto698.OAD) (proto698.Data, proto698.DAR) {
	var d proto698.Data
	switch oad.OI {
	case proto698.OICommAddress:
		switch oad.AttrID() {
		case 1:
			d = proto698.LogicalName(oad.OI)
		case 2:
			d = proto698.OctetString(append([]byte(nil), t.addr...))
		default:
			return nil, proto698.DARUndefined
		}
	case proto698.OIDateTime:
		switch oad.AttrID() {
		case 1:
			d = proto698.LogicalName(oad.OI)
		case 2:
			d = proto698.NewDateTimeS(t.clock.Now().In(t.loc))
		default:
			return nil, proto698.DARUndefined
		}
	case proto698.OIPowerEventTerm:
		var dar proto698.DAR
		if d, dar = t.powerEvent(ctx, oad.AttrID()); dar != proto698.DARSuccess {
			return nil, dar
		}
	default:
		if t.points == nil {
			return nil, proto698.DARUndefined
		}
		return t.points.Get(ctx, oad)
	}
	return element(d, oad.Index)
}

// element selects element idx (1-based) of an array or structure; idx 0
// is the whole value, and a value of neither kind has no elements.
func element(d proto698.Data, idx uint8) (proto698.Data, proto698.DAR) {
	if idx == 0 {
		return d, proto698.DARSuccess
	}
	var items []proto698.Data
	switch x := d.(type) {
	case proto698.Array:
		items = x
	case proto698.Structure:
		items = x
	}
	if int(idx) > len(items) {
		return nil, proto698.DAROutOfRange
	}
	return items[idx-1], proto698.DARSuccess
}

// powerEvent answers attribute attr of 3106 (interface class 7).
func (t *terminal) powerEvent(ctx context.Context, attr uint8) (proto698.Data, proto698.DAR) {
	switch attr {
	case proto698.EventAttrLogicalName:
		return proto698.LogicalName(proto698.OIPowerEventTerm), proto698.DARSuccess
	case proto698.EventAttrRecords:
		// The event records go to the master as 3106 reports; holdup
		// keeps no record table to read with GET-Normal.
		return nil, proto698.DARReadDenied
	case proto698.EventAttrAssociated:
		// The associated column every 3106 report carries beyond the
		// event's own (sequence, start, end, source, report status).
		return proto698.Array{proto698.OADPowerAttrFlag}, proto698.DARSuccess
	case proto698.EventAttrRecordCount, proto698.EventAttrCurrentValue:
		if t.outages == nil {
			return nil, proto698.DARTemporary
		}
		n, total, err := t.outages(ctx)
		if err != nil {
			t.log.Warn("3106 outage history not available", "err", err)
			return nil, proto698.DARTemporary
		}
		if attr == proto698.EventAttrRecordCount {
			return proto698.LongUnsigned(min(n, math.MaxUint16)), proto698.DARSuccess
		}
		return proto698.EventCurrentValue(uint64(n), uint64(total/time.Second)), proto698.DARSuccess
	case proto698.EventAttrMaxRecords:
		return proto698.LongUnsigned(maxEventRecords), proto698.DARSuccess
	case proto698.EventAttrConfig:
		d, err := t.power.Data()
		if err != nil {
			t.log.Warn("3106 configuration not representable", "err", err)
			return nil, proto698.DAROther
		}
		return d, proto698.DARSuccess
	case proto698.EventAttrReportFlag:
		return proto698.ReportBoth, proto698.DARSuccess // holdup reports the power going off and coming back
	case proto698.EventAttrValid:
		return proto698.Bool(true), proto698.DARSuccess
	}
	return nil, proto698.DARUndefined
}

// Set implements proto698.Server.
func (t *terminal) Set(ctx context.Context, oad proto698.OAD, v proto698.Data) proto698.DAR {
	switch oad.OI {
	case proto698.OIDateTime:
		switch {
		case oad.AttrID() == 2 && oad.Index == 0:
			return t.setTime(v, "SET "+oad.String())
		case oad.AttrID() == 1 || oad.AttrID() == 2:
			return proto698.DARReadDenied
		}
		return proto698.DARUndefined
	case proto698.OICommAddress:
		if oad.AttrID() == 1 || oad.AttrID() == 2 {
			return proto698.DARReadDenied // the address is holdup's configuration
		}
		return proto698.DARUndefined
	case proto698.OIPowerEventTerm:
		if oad.AttrID() >= proto698.EventAttrLogicalName && oad.AttrID() <= proto698.EventAttrValid {
			return proto698.DARReadDenied // from holdup's configuration and outage history
		}
		return proto698.DARUndefined
	}
	if t.points == nil {
		return proto698.DARUndefined
	}
	return t.points.Set(ctx, oad, v)
}

// Action answers ACTION-Request-Normal: 4000 method 127, the broadcast
// time setting, with its date_time_s parameter; any other method is
// undefined.
func (t *terminal) Action(_ context.Context, omd proto698.OMD, param proto698.Data) (proto698.Data, proto698.DAR) {
	if omd.OI == proto698.OMDBroadcastTime.OI && omd.Method == proto698.OMDBroadcastTime.Method {
		return nil, t.setTime(param, "ACTION "+omd.String())
	}
	return nil, proto698.DARUndefined
}

// setTime sets the clock to the date_time_s v (in the uplink's time zone)
// as the master station asked through via. It refuses, and logs why: when
// the configuration does not allow it (read/write denied), a value that is
// not a date_time_s (type mismatch), a time that does not exist, lies
// before holdup's build date or decades after it, or a step larger than
// uplink.clock_max_step from a clock that is set (out of range). A clock
// setting is part of the outage record's timeline: the old and new times
// and the step are logged.
func (t *terminal) setTime(v proto698.Data, via string) proto698.DAR {
	log := t.log.With("request", via)
	if !t.setClock {
		log.Warn("master station's clock setting refused: not allowed (uplink.set_clock = false)", "value", fmt.Sprint(v))
		return proto698.DARReadDenied
	}
	ds, ok := v.(proto698.DateTimeS)
	if !ok {
		log.Warn("master station's clock setting refused: not a date_time_s", "type", typeOf(v))
		return proto698.DARTypeMismatch
	}
	nt, err := ds.Time(t.loc)
	if err == nil && proto698.NewDateTimeS(nt) != ds {
		err = fmt.Errorf("%v does not exist in %v", ds, t.loc) // a daylight-saving gap
	}
	if err != nil {
		log.Warn("master station's clock setting refused", "value", ds.String(), "err", err)
		return proto698.DAROutOfRange
	}
	t.clockMu.Lock()
	defer t.clockMu.Unlock()
	old := t.clock.Now()
	step := nt.Sub(old)
	attrs := []any{"old", old.In(t.loc).Format(time.RFC3339), "new", nt.Format(time.RFC3339), "step", step.Round(time.Millisecond).String()}
	switch {
	case nt.Before(t.floor):
		log.Warn("master station's clock setting refused: before holdup's build date", append(attrs, "build_date", t.floor.Format(time.DateOnly))...)
		return proto698.DAROutOfRange
	case nt.After(t.floor.AddDate(latestValidYears, 0, 0)):
		log.Warn("master station's clock setting refused: decades after holdup's build date", append(attrs, "build_date", t.floor.Format(time.DateOnly))...)
		return proto698.DAROutOfRange
	case !old.Before(t.floor) && (step > t.maxStep || step < -t.maxStep):
		log.Warn("master station's clock setting refused: step too large (uplink.clock_max_step)", append(attrs, "max_step", t.maxStep.String())...)
		return proto698.DAROutOfRange
	}
	if err := t.clock.Set(nt); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			log.Error("master station's clock setting failed: holdup may not set the system clock (the unit needs CAP_SYS_TIME and clock_settime: see deploy/holdup.service)", append(attrs, "err", err)...)
			return proto698.DARReadDenied
		}
		log.Error("master station's clock setting failed", append(attrs, "err", err)...)
		return proto698.DARHardware
	}
	log.Info("system clock set by the master station", attrs...)
	return proto698.DARSuccess
}

// typeOf names a Data's type for logs ("none" for nil).
func typeOf(d proto698.Data) string {
	if d == nil {
		return "none"
	}
	return d.Type().String()
}

// newTerminal builds the uplink's server: the terminal's own objects over
// the exposed points (d.nb), its clock Hardware.Clock (nil: the system
// clock, or a simulated one for a [sim] configuration, so the rig never
// steps the host's clock).
func (d *Daemon) newTerminal(addr proto698.ServerAddress) *terminal {
	u := d.cfg.Uplink
	clock := d.hw.Clock
	switch {
	case clock != nil:
	case d.cfg.Sim.Enabled:
		clock = NewSimClock(nil)
	default:
		clock = SystemClock{}
	}
	t := &terminal{points: d.nb, addr: append([]byte(nil), addr.Bytes()...), clock: clock, loc: time.Local,
		setClock: u.SetClock, maxStep: u.ClockMaxStep, floor: buildDate(),
		power: proto698.PowerEventConfig{LossV: d.cfg.Power.LossV, RestoreV: d.cfg.Power.RestoreV},
		log:   d.log.With("part", "terminal")}
	t.outages = func(ctx context.Context) (int, time.Duration, error) {
		ds := d.store()
		if ds == nil {
			return 0, 0, errNoDataStore
		}
		os, err := ds.Outages(0)
		if err != nil {
			return 0, 0, err
		}
		var total time.Duration
		for _, o := range os {
			total += o.Duration
		}
		n := len(os)
		if d.mon != nil {
			if ms, err := d.mon.Stats(ctx); err == nil && !ms.Outage.At.IsZero() {
				n++ // the outage going on: its power-off report went out
				total += time.Since(ms.Outage.At)
			}
		}
		return n, total, nil
	}
	if u.SetClock {
		t.log.Info("the master station may set the clock", "max_step", u.ClockMaxStep.String(), "build_date", t.floor.Format(time.DateOnly))
	}
	return t
}
