package daemon

// The small adapters between packages: each one maps an interface a
// package defines (power.Gate, power.Journal, sched.Journal,
// devices.HPLCClient, …) onto the package that does the work. They hold no
// policy of their own; the lifecycle is power's, the ordering sched's.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"holdup/devices"
	"holdup/hplc"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

// errNoDataStore is returned by the recovery path while the data store
// could not be opened: the journal keeps the records until it can.
var errNoDataStore = errors.New("data store unavailable: journal records are kept until it opens")

// --- critical records: sched → store ---

// criticalRecord converts a critical record taken during an outage into a
// journal record: business type from the class, the point and op
// attributes as attributes, the protocol checksum as integrity.
func criticalRecord(c sched.CriticalRecord) store.Record {
	b := store.BusinessCollection
	if c.Class == sched.Control {
		b = store.BusinessControl
	}
	// The essential attributes first, then the op's own, sorted: which
	// ones a full record keeps is decided the same way every time.
	attrs := map[string]any{}
	store.AddAttr(attrs, "point", c.Point)
	if c.Business != "" {
		store.AddAttr(attrs, "business", c.Business)
	}
	if c.Err != "" {
		store.AddAttr(attrs, "error", c.Err)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Attrs)) {
		store.AddAttr(attrs, k, c.Attrs[k])
	}
	rec := store.Record{
		Time: c.Time, Business: b, Interface: store.Clip(c.Interface, store.MaxNameLen), Device: store.Clip(c.Device, store.MaxNameLen),
		Attrs: attrs, Value: c.Value, Invalid: c.Invalid,
		Integrity: store.Integrity{Kind: integrityKind(c.ChecksumKind), Value: c.Checksum},
	}
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
		rec.Value, rec.Invalid = nil, true
	}
	if rec.Integrity.Kind == store.IntegrityNone {
		rec.Integrity.Value = 0
	}
	return rec
}

func integrityKind(checksum string) store.IntegrityKind {
	switch checksum {
	case devices.ChecksumCRC16Modbus:
		return store.IntegrityCRC16Modbus
	case devices.ChecksumCRC16X25:
		return store.IntegrityCRC16X25
	case devices.ChecksumSum8:
		return store.IntegritySum8
	}
	return store.IntegrityNone
}

// --- the EEPROM journal, for sched and power ---

// journal adapts *store.Journal to sched.Journal (critical records) and
// power.Journal (outage lifecycle records), and tells the observer of every
// acknowledged append. The journal itself numbers the outages it holds
// (store.Journal.OutageEventNumber).
type journal struct {
	j       *store.Journal
	id      string
	observe func(JournalEvent)
	// admit is told of every append refused for lack of space (nil: not).
	admit *admissionWatch
}

func newJournal(j *store.Journal, observe func(JournalEvent)) *journal {
	return &journal{j: j, id: j.MountReport().ID, observe: observe}
}

func (a *journal) append(ctx context.Context, rec store.Record) (uint64, error) {
	seq, err := a.j.Append(ctx, rec)
	if err != nil {
		a.admit.refused(&rec, err)
		return 0, err
	}
	if a.observe != nil {
		rec.Seq = seq
		a.observe(JournalEvent{JournalID: a.id, Seq: seq, Record: rec})
	}
	return seq, nil
}

// Append implements sched.Journal.
func (a *journal) Append(ctx context.Context, c sched.CriticalRecord) error {
	rec := criticalRecord(c)
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("daemon: critical record of %s/%s: %w", c.Device, c.Point, err)
	}
	if _, err := a.append(ctx, rec); err != nil {
		return fmt.Errorf("daemon: journal critical record of %s/%s: %w", c.Device, c.Point, err)
	}
	return nil
}

// Admits implements sched.JournalAdmitter: whether the journal would take
// c's record now (store.Journal.Admits, no write). What the exchange has
// not produced yet is assumed at its largest: a value that needs a 64-bit
// float, the widest check value of the checksum kind the device's driver
// reports (devices.DriverChecksum). A refusal is alarmed like a refused
// append.
func (a *journal) Admits(ctx context.Context, c sched.CriticalRecord) error {
	if c.ChecksumKind == "" {
		c.ChecksumKind = devices.DriverChecksum(devices.DriverName(c.Attrs["driver"]))
	}
	if c.Checksum == 0 {
		c.Checksum = widestCheck(c.ChecksumKind)
	}
	if c.Value == 0 {
		c.Value = 0.1 // no shorter float encodes it exactly
	}
	rec := criticalRecord(c)
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("daemon: critical record of %s/%s: %w", c.Device, c.Point, err)
	}
	if err := a.j.Admits(ctx, rec); err != nil {
		a.admit.refused(&rec, err)
		return fmt.Errorf("daemon: journal admission of the record of %s/%s: %w", c.Device, c.Point, err)
	}
	return nil
}

// AppendOutageBegin implements power.Journal.
func (a *journal) AppendOutageBegin(ctx context.Context, b power.OutageBegin) error {
	_, err := a.append(ctx, store.OutageBeginRecord(store.OutageBegin(b)))
	return err
}

// AppendOutageEnd implements power.Journal.
func (a *journal) AppendOutageEnd(ctx context.Context, e power.OutageEnd) error {
	_, err := a.append(ctx, store.OutageEndRecord(store.OutageEnd(e)))
	return err
}

// OpenOutage implements power.Journal.
func (a *journal) OpenOutage(ctx context.Context) (power.OutageBegin, bool, error) {
	e, ok, err := a.j.OpenOutage(ctx)
	if err != nil || !ok {
		return power.OutageBegin{}, false, err
	}
	ob, _ := store.OutageBeginOf(e.Record) // BootID "" in an older record: unknown boot
	return power.OutageBegin(ob), true, nil
}

// --- uplink ---

// uplink adapts proto698's master-station uplink to power.Uplink.
type uplink struct {
	u    *proto698.Uplink // nil: no master station configured
	seqs *store.Journal   // numbers the outages (3106 event numbers)
	log  *slog.Logger
}

func (a uplink) ReportOutage(begin time.Time) error {
	if a.u == nil {
		a.log.Info("outage not reported: no master station configured", "since", begin)
		return nil
	}
	return a.u.ReportPowerEvent(proto698.PowerEvent{Seq: a.seqs.OutageEventNumber(begin), Kind: proto698.PowerOff, Start: begin})
}

func (a uplink) ReportRestore(begin, end time.Time) error {
	if a.u == nil {
		a.log.Info("restore not reported: no master station configured", "begin", begin, "end", end)
		return nil
	}
	return a.u.ReportPowerEvent(proto698.PowerEvent{Seq: a.seqs.OutageEventNumber(begin), Kind: proto698.PowerOn, Start: begin, End: end})
}

// --- gate, modules, reinit, resume ---

// gate adapts the scheduler to power.Gate. Ungate ends the outage in the
// scheduler and wakes the reopener, which lets devices gated by a blip run
// again (after a real outage, Resume does that once interfaces are back).
type gate struct {
	s      *sched.Scheduler
	reopen chan struct{} // capacity 1
}

func (g gate) GateMainsOnly() int { return g.s.GateMainsOnly() }

func (g gate) Ungate() {
	g.s.Restore()
	select {
	case g.reopen <- struct{}{}:
	default:
	}
}

// modules is power.Modules: the power monitor switches the business
// modules to the initial invalid value at the confirmed loss of mains and
// back at its confirmed return. invalid is the switch: while it is set the
// northbound server answers Data NULL for every point not configured
// uplink_live_in_outage (the scheduler itself only marks the points whose
// collection the outage stopped, and keeps collecting and journaling the
// others with their real values), and the console shows it. Each switch
// asks for a data report at once, so the master sees the invalid markers,
// and after the return the values collected on the capacitor, without
// waiting for the next period; points gated by the outage stay NULL until
// their next collection. SetInvalid returns how many exposed points the
// switch applies to (those not configured uplink_live_in_outage), so the
// timeline shows the step only when some point went invalid.
type modules struct {
	log     *slog.Logger
	invalid *atomic.Bool
	report  func() // nil: no uplink
	nb      *northbound
}

func (m modules) SetInvalid(invalid bool) int {
	m.invalid.Store(invalid)
	n := 0
	if m.nb != nil {
		for _, p := range m.nb.points {
			if outageInvalid(true, p.p) {
				n++
			}
		}
	}
	m.log.Info("northbound readings", "invalid", invalid, "points", n)
	if m.report != nil {
		m.report()
	}
	return n
}

// interfaces re-initialises and re-opens the scheduler's interfaces:
// power.Reinitializer and power.Resumer.
type interfaces struct {
	s      *sched.Scheduler
	order  []string                                   // interface names, sorted
	reinit map[string]func(ctx context.Context) error // one per interface
	module *hplc.Module                               // an HPLC module no device names
}

// Reinit runs each interface's re-initialisation on its owner goroutine
// (HPLC reset + init, serial ports re-opened, GPIO lines re-claimed).
// Interfaces are independent (one owner goroutine each), so they come back
// in parallel: a slow HPLC module reboot does not hold up a serial port.
func (i interfaces) Reinit(ctx context.Context) []power.ReinitResult {
	out := make([]power.ReinitResult, len(i.order))
	var wg sync.WaitGroup
	for k, name := range i.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[k] = power.ReinitResult{Interface: name, Err: i.s.Reinit(ctx, name, i.reinit[name])}
		}()
	}
	wg.Wait()
	if i.module != nil {
		out = append(out, power.ReinitResult{Interface: "hplc", Err: i.module.Reinit(ctx)})
	}
	return out
}

// Resume re-opens every interface in the scheduler: gated devices run
// again now that power is back and their interfaces were re-initialised.
func (i interfaces) Resume(ctx context.Context) error {
	var errs []error
	for _, name := range i.order {
		if err := i.s.Reinit(ctx, name, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// --- recovery and the outage log ---

// recoverer adapts store.Recovery to power.Recoverer; without a data
// store it counts pending records but refuses to replay (nothing is
// consumed, so nothing is lost).
type recoverer struct {
	j  *store.Journal
	ds func() *store.DataStore // nil while the data store is unavailable
	// stored, if set, is called after a replay stored new records (the
	// forwarder's kick: they are in the outbox now).
	stored func()
}

func (r recoverer) Pending(ctx context.Context) (int, error) {
	ds := r.ds()
	if ds == nil {
		st, err := r.j.Stats(ctx)
		return st.Records, err
	}
	return store.NewRecovery(r.j, ds).Pending(ctx)
}

func (r recoverer) Replay(ctx context.Context) (power.ReplayResult, error) {
	ds := r.ds()
	if ds == nil {
		return power.ReplayResult{}, fmt.Errorf("daemon: replay: %w", errNoDataStore)
	}
	c, err := store.NewRecovery(r.j, ds).Replay(ctx)
	if c.Replayed > 0 && r.stored != nil {
		r.stored()
	}
	return power.ReplayResult{Replayed: c.Replayed, Rejected: c.Rejected, Duplicate: c.Duplicate}, err
}

// outageLog writes completion logs into the data store, with the number
// of records journaled between the outage's begin and end records.
type outageLog struct {
	ds      func() *store.DataStore // nil while the data store is unavailable
	j       *store.Journal
	observe func(power.OutageRecord)
	// lostLogged is set once the journal's lost ranges (found at mount)
	// went into a completion log: the first one written after the mount
	// carries them.
	lostLogged *atomic.Bool
	// admit notes the records the journal refused near full since the
	// previous completion log (nil: none noted).
	admit *admissionWatch
}

func (o outageLog) Record(ctx context.Context, r power.OutageRecord) error {
	if o.observe != nil {
		o.observe(r)
	}
	ds := o.ds()
	if ds == nil {
		return fmt.Errorf("daemon: outage log: %w", errNoDataStore)
	}
	so := storeOutage(r)
	if lost := o.j.LostRanges(); len(lost) > 0 && o.lostLogged != nil && !o.lostLogged.Load() {
		for _, l := range lost {
			so.Errors = append(so.Errors, "journal: lost to damage: "+l.String())
		}
	}
	if o.admit != nil {
		if st, err := o.j.Stats(ctx); err == nil {
			if note := o.admit.since(st.Refused); note != "" {
				so.Errors = append(so.Errors, note)
			}
		}
	}
	n, ok, err := ds.OutageJournaled(o.j, r.Begin)
	if err != nil {
		return fmt.Errorf("daemon: outage log: count journaled records: %w", err)
	}
	if ok {
		so.Journaled = n
	}
	if err := ds.RecordOutage(ctx, so); err != nil {
		return err
	}
	if o.lostLogged != nil {
		o.lostLogged.Store(true)
	}
	return nil
}

func storeOutage(r power.OutageRecord) store.Outage {
	return store.Outage{
		Begin: r.Begin, End: r.End, Duration: r.Duration, Kind: string(r.Kind), Evidence: r.Evidence,
		LossConfirmed: r.LossConfirmed, RestoreConfirmed: r.RestoreConfirmed,
		Replayed: r.Replay.Replayed, Rejected: r.Replay.Rejected, Duplicate: r.Replay.Duplicate,
		Blips: r.Blips, Interrupted: r.Interrupted,
		ReinitFailed: append([]string(nil), r.ReinitFailed...), Errors: append([]string(nil), r.Errors...),
	}
}

// --- power-fail line and alarms ---

// deadLine stands in for a power-fail line that could not be requested:
// it reads mains present and never delivers an edge.
type deadLine struct{}

func (deadLine) Value() (power.Mains, error) { return power.MainsPresent, nil }
func (deadLine) Close() error                { return nil }

// alarmList keeps the most recent alarms for the console. Raise never
// blocks (power.Alarmer, sched.OnAlarm).
type alarmList struct {
	mu   sync.Mutex
	max  int
	list []power.Alarm
	// observe, when set (before any Raise), is told of every alarm, after
	// the list took it; it must not block (the hooks' alarm event).
	observe func(power.Alarm)
}

func newAlarmList(n int) *alarmList { return &alarmList{max: n} }

func (a *alarmList) Raise(al power.Alarm) {
	a.mu.Lock()
	if len(a.list) == a.max {
		copy(a.list, a.list[1:])
		a.list = a.list[:a.max-1]
	}
	a.list = append(a.list, al)
	a.mu.Unlock()
	if a.observe != nil {
		a.observe(al)
	}
}

func (a *alarmList) recent() []power.Alarm {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]power.Alarm(nil), a.list...)
}
