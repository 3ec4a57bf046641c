package main

// The small adapters between packages: each one maps an interface a
// package defines (power.Gate, power.Journal, sched.Journal,
// devices.HPLCClient, …) onto the package that does the work. They hold no
// policy of their own; the lifecycle is power's, the ordering sched's.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"holdup/config"
	"holdup/devices"
	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

// errNoDataStore is returned by the recovery path while the data store
// could not be opened: the journal keeps the records until it can.
var errNoDataStore = errors.New("data store unavailable: journal records are kept until it opens")

// journalEvent is one record the EEPROM journal acknowledged (durable).
type journalEvent struct {
	JournalID string
	Seq       uint64
	Record    store.Record
}

// journalObserver is told of every acknowledged append (the sim's
// scenario uses it to know what must reach the data store). Nil: none.
type journalObserver func(journalEvent)

// --- critical records: sched → store ---

// criticalRecord converts a critical record taken during an outage into a
// journal record: business type from the class, the point and op
// attributes as attributes, the protocol checksum as integrity.
func criticalRecord(c sched.CriticalRecord) store.Record {
	b := store.BusinessCollection
	if c.Class == sched.Control {
		b = store.BusinessControl
	}
	attrs := map[string]any{"point": clip(c.Point, 256)}
	if c.Business != "" {
		attrs["business"] = clip(c.Business, 256)
	}
	if c.Err != "" {
		attrs["error"] = clip(c.Err, 256)
	}
	keys := make([]string, 0, len(c.Attrs))
	for k := range c.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(attrs) >= 8 {
			break
		}
		if _, taken := attrs[k]; !taken && k != "" && len(k) <= 64 {
			attrs[k] = clip(c.Attrs[k], 256)
		}
	}
	rec := store.Record{
		Time: c.Time, Business: b, Interface: clip(c.Interface, 64), Device: clip(c.Device, 64),
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

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// --- the EEPROM journal, for sched and power ---

// journal adapts *store.Journal to sched.Journal (critical records) and
// power.Journal (outage lifecycle records). It remembers the journal
// sequence of each outage-begin record: the uplink reports the outage under
// that number, so a restore reported after a restart (cold start) carries
// the same event number and the master deduplicates resends.
type journal struct {
	j       *store.Journal
	id      string
	observe journalObserver

	mu       sync.Mutex
	beginSeq map[int64]uint64 // outage-begin time (ms) → journal sequence
}

func newJournal(j *store.Journal, observe journalObserver) *journal {
	return &journal{j: j, id: j.MountReport().ID, observe: observe, beginSeq: map[int64]uint64{}}
}

func (a *journal) append(ctx context.Context, rec store.Record) (uint64, error) {
	seq, err := a.j.Append(ctx, rec)
	if err != nil {
		return 0, err
	}
	if a.observe != nil {
		rec.Seq = seq
		a.observe(journalEvent{JournalID: a.id, Seq: seq, Record: rec})
	}
	return seq, nil
}

// Append implements sched.Journal.
func (a *journal) Append(ctx context.Context, c sched.CriticalRecord) error {
	rec := criticalRecord(c)
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("main: critical record of %s/%s: %w", c.Device, c.Point, err)
	}
	if _, err := a.append(ctx, rec); err != nil {
		return fmt.Errorf("main: journal critical record of %s/%s: %w", c.Device, c.Point, err)
	}
	return nil
}

// AppendOutageBegin implements power.Journal.
func (a *journal) AppendOutageBegin(ctx context.Context, b power.OutageBegin) error {
	seq, err := a.append(ctx, store.OutageBeginRecord(b.At, b.Confirmed, b.Volts))
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.beginSeq[b.At.UnixMilli()] = seq
	a.mu.Unlock()
	return nil
}

// AppendOutageEnd implements power.Journal.
func (a *journal) AppendOutageEnd(ctx context.Context, e power.OutageEnd) error {
	_, err := a.append(ctx, store.OutageEndRecord(e.Begin, e.End, e.Cold, e.Confirmed))
	return err
}

// OpenOutage implements power.Journal, and learns the open outage's
// journal sequence for the uplink.
func (a *journal) OpenOutage(ctx context.Context) (power.OutageBegin, bool, error) {
	begin, confirmed, ok, err := a.j.OpenOutage(ctx)
	if err != nil || !ok {
		return power.OutageBegin{}, false, err
	}
	ob := power.OutageBegin{At: begin, Confirmed: confirmed}
	_, err = a.j.Replay(ctx, func(e store.Entry) error {
		if ev, _ := store.IsOutageEvent(e.Record); ev == store.EventOutageBegin && e.Record.Time.Equal(begin) {
			a.mu.Lock()
			a.beginSeq[begin.UnixMilli()] = e.Seq
			a.mu.Unlock()
			for i, k := range []string{"ua", "ub", "uc"} {
				if v, ok := e.Record.Attrs[k].(float64); ok {
					ob.Volts[i] = v
				}
			}
		}
		return nil
	})
	return ob, true, err
}

// eventSeq is the 3106 event number of the outage begun at begin: the
// journal sequence of its begin record, or, when that append failed, a
// number derived from the begin time (stable across restarts).
func (a *journal) eventSeq(begin time.Time) uint32 {
	a.mu.Lock()
	seq, ok := a.beginSeq[begin.UnixMilli()]
	a.mu.Unlock()
	if ok {
		return uint32(seq)
	}
	return uint32(begin.Unix())
}

// --- uplink ---

// uplink adapts proto698's master-station uplink to power.Uplink.
type uplink struct {
	u    *proto698.Uplink // nil: no master station configured
	seqs *journal
	log  *slog.Logger
}

func (a uplink) ReportOutage(begin time.Time) error {
	if a.u == nil {
		a.log.Info("outage not reported: no master station configured", "since", begin)
		return nil
	}
	return a.u.ReportPowerEvent(proto698.PowerEvent{Seq: a.seqs.eventSeq(begin), Kind: proto698.PowerOff, Start: begin})
}

func (a uplink) ReportRestore(begin, end time.Time) error {
	if a.u == nil {
		a.log.Info("restore not reported: no master station configured", "begin", begin, "end", end)
		return nil
	}
	return a.u.ReportPowerEvent(proto698.PowerEvent{Seq: a.seqs.eventSeq(begin), Kind: proto698.PowerOn, Start: begin, End: end})
}

// --- gate, modules, reinit, resume ---

// gate adapts the scheduler to power.Gate. Ungate ends the outage in the
// scheduler and wakes the reopener, which lets devices gated by a blip run
// again (after a real outage, Resume does that once interfaces are back).
type gate struct {
	s      *sched.Scheduler
	reopen chan struct{} // capacity 1
}

func (g gate) GateMainsOnly() { g.s.GateMainsOnly() }

func (g gate) Ungate() {
	g.s.Restore()
	select {
	case g.reopen <- struct{}{}:
	default:
	}
}

// modules is power.Modules: the scheduler marks readings invalid itself
// the moment it is gated; this records the switch for the console.
type modules struct {
	log     *slog.Logger
	invalid *atomic.Bool
}

func (m modules) SetInvalid(invalid bool) {
	m.invalid.Store(invalid)
	m.log.Info("northbound readings", "invalid", invalid)
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
	j *store.Journal
	r *store.Recovery // nil without a data store
}

func (r recoverer) Pending(ctx context.Context) (int, error) {
	if r.r == nil {
		st, err := r.j.Stats(ctx)
		return st.Records, err
	}
	return r.r.Pending(ctx)
}

func (r recoverer) Replay(ctx context.Context) (power.ReplayResult, error) {
	if r.r == nil {
		return power.ReplayResult{}, fmt.Errorf("main: replay: %w", errNoDataStore)
	}
	c, err := r.r.Replay(ctx)
	return power.ReplayResult{Replayed: c.Replayed, Rejected: c.Rejected, Duplicate: c.Duplicate}, err
}

// outageLog writes completion logs into the data store.
type outageLog struct {
	d       *store.DataStore // nil: unavailable
	observe func(power.OutageRecord)
}

func (o outageLog) Record(ctx context.Context, r power.OutageRecord) error {
	if o.observe != nil {
		o.observe(r)
	}
	if o.d == nil {
		return fmt.Errorf("main: outage log: %w", errNoDataStore)
	}
	return o.d.RecordOutage(ctx, storeOutage(r))
}

func storeOutage(r power.OutageRecord) store.Outage {
	return store.Outage{
		Begin: r.Begin, End: r.End, Duration: r.Duration, Kind: string(r.Kind),
		LossConfirmed: r.LossConfirmed, RestoreConfirmed: r.RestoreConfirmed,
		Replayed: r.Replay.Replayed, Rejected: r.Replay.Rejected, Duplicate: r.Replay.Duplicate,
		Blips: r.Blips, Interrupted: r.Interrupted,
		ReinitFailed: append([]string(nil), r.ReinitFailed...), Errors: append([]string(nil), r.Errors...),
	}
}

// --- protocol clients for the devices package ---

// dlt698Client is devices.DLT698Client on a proto698 client bound to one
// server address (a dlt698 device's port).
type dlt698Client struct {
	c *proto698.ACClient
}

func (d dlt698Client) Get(ctx context.Context, _ []byte, oad uint32) (devices.Value, error) {
	v, err := d.c.Get(ctx, proto698.NewOAD(oad))
	if err != nil {
		return devices.Value{}, outcome698(err)
	}
	f, null, err := dataFloat(v)
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: 698 attribute %08X: %w", devices.ErrLengthMismatch, oad, err)
	}
	return devices.Value{Value: f, Null: null}, nil
}

func (d dlt698Client) Set(_ context.Context, _ []byte, oad uint32, _ float64) error {
	return fmt.Errorf("%w: main: SET of 698 attribute %08X is not supported by the client", devices.ErrNoData, oad)
}

func (d dlt698Client) Reinit(context.Context) error { return nil }

// outcome698 names a proto698 error's exchange outcome for the
// scheduler's error-rate watch.
func outcome698(err error) error {
	var fe *proto698.FrameError
	switch {
	case errors.Is(err, context.Canceled):
		// Called off (the device was gated, or shutdown): not a link fault.
		return fmt.Errorf("%w: %w", devices.ErrNotSent, err)
	case errors.Is(err, proto698.ErrNoAnswer), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", devices.ErrTimeout, err)
	case errors.Is(err, proto698.ErrDAR):
		return fmt.Errorf("%w: %w", devices.ErrNoData, err)
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %w", devices.ErrChecksumMismatch, err)
	}
	return fmt.Errorf("%w: %w", devices.ErrLinkDown, err)
}

// dataFloat reads a numeric 698 datum (the first element of an array or
// structure); null reports a NULL.
func dataFloat(d proto698.Data) (v float64, null bool, err error) {
	switch x := d.(type) {
	case proto698.Null:
		return 0, true, nil
	case proto698.DoubleLong:
		return float64(x), false, nil
	case proto698.DoubleLongUnsigned:
		return float64(x), false, nil
	case proto698.Long:
		return float64(x), false, nil
	case proto698.LongUnsigned:
		return float64(x), false, nil
	case proto698.Integer:
		return float64(x), false, nil
	case proto698.Unsigned:
		return float64(x), false, nil
	case proto698.Long64:
		return float64(x), false, nil
	case proto698.Long64Unsigned:
		return float64(x), false, nil
	case proto698.Float32:
		return float64(x), false, nil
	case proto698.Float64:
		return float64(x), false, nil
	case proto698.Enum:
		return float64(x), false, nil
	case proto698.Bool:
		if x {
			return 1, false, nil
		}
		return 0, false, nil
	case proto698.Array:
		if len(x) == 0 {
			return 0, true, nil
		}
		return dataFloat(x[0])
	case proto698.Structure:
		if len(x) == 0 {
			return 0, true, nil
		}
		return dataFloat(x[0])
	}
	return 0, false, fmt.Errorf("datum of type %T is not a number", d)
}

// hplcClient is devices.HPLCClient on the HPLC module: a DL/T 645-2007
// read relayed to the meter with AFN 13 F1.
type hplcClient struct {
	m *hplc.Module
}

func (h hplcClient) Read(ctx context.Context, node, item []byte) (devices.Value, error) {
	if len(node) != 6 || len(item) != 4 {
		return devices.Value{}, fmt.Errorf("%w: main: hplc read: node %X / item %X: want 6 and 4 bytes", devices.ErrNoData, node, item)
	}
	var addr dlt645.Address
	for i := range addr {
		addr[i] = node[5-i] // natural order → wire order
	}
	di := dlt645.DI(binary.BigEndian.Uint32(item))
	req := dlt645.NewRead(addr, di)
	frame, err := req.Encode()
	if err != nil {
		return devices.Value{}, fmt.Errorf("main: hplc read %s: %w", di, err)
	}
	ans, err := h.m.MonitorNode(ctx, hplc.Addr(addr), frame)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// Called off (the device was gated, or shutdown): not a link fault.
			return devices.Value{}, fmt.Errorf("%w: %w", devices.ErrNotSent, err)
		}
		if errors.Is(err, hplc.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return devices.Value{}, fmt.Errorf("%w: %w", devices.ErrTimeout, err)
		}
		if errors.Is(err, hplc.ErrDenied) {
			return devices.Value{}, fmt.Errorf("%w: %w", devices.ErrNoData, err)
		}
		return devices.Value{}, fmt.Errorf("%w: %w", devices.ErrLinkDown, err)
	}
	f, n, err := dlt645.Decode(ans)
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s answer: %w", devices.ErrChecksumMismatch, addr, err)
	}
	gotDI, data, err := f.ReadResponse()
	if err != nil {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s: %w", devices.ErrNoData, addr, err)
	}
	if gotDI != di {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s answered item %s to a read of %s", devices.ErrLengthMismatch, addr, gotDI, di)
	}
	vals, ok, err := dlt645.DecodeValues(di, data)
	if err != nil || !ok || len(vals) == 0 {
		return devices.Value{}, fmt.Errorf("%w: main: meter %s item %s: undecodable value % X (%v)", devices.ErrLengthMismatch, addr, di, data, err)
	}
	if !vals[0].Valid {
		return devices.Value{Null: true}, nil
	}
	// The byte sum is the frame's second-last byte.
	return devices.Value{Value: vals[0].Float64(), Raw: data, Checksum: uint32(ans[n-2])}, nil
}

func (h hplcClient) Write(_ context.Context, _, item []byte, _ float64) error {
	return fmt.Errorf("%w: main: hplc write of item %X is not supported", devices.ErrNoData, item)
}

func (h hplcClient) Reinit(ctx context.Context) error { return h.m.Reinit(ctx) }

// --- configuration → devices ---

// deviceConfig maps the configuration's device onto the devices package's
// model. hplc devices sit behind the [hplc] module's port.
func deviceConfig(d config.Device, mod *config.HPLC) devices.Device {
	out := devices.Device{
		Name: d.Name, Driver: devices.DriverName(d.Driver), Unit: d.Unit, Address: d.Address,
		MainsOnly: d.MainsOnly, DrawMW: d.DrawMW,
		Port: d.Serial.Port, Baud: d.Serial.Baud, DataBits: d.Serial.DataBits, StopBits: d.Serial.StopBits,
		Parity: parityLetter(d.Serial.Parity), Timeout: duration(d.Timeout),
	}
	switch d.Driver {
	case config.DriverModbusTCP:
		out.Port = d.Address
	case config.DriverGPIOOutput:
		out.Port = d.Chip
	case config.DriverHPLC:
		if mod != nil {
			out.Port = mod.Port
		}
	}
	for _, p := range d.Points {
		q := devices.Point{
			Name: p.Name, Class: devices.Class(p.Class), Integrity: devices.Integrity(p.Integrity),
			Period: duration(p.Period), Deadline: duration(p.Deadline), Scale: p.Scale,
			Register: p.Register, Kind: devices.Kind(p.Kind), Type: devices.Type(p.Type), ActiveLow: p.ActiveLow,
		}
		if d.Driver == config.DriverDLT698 || d.Driver == config.DriverHPLC {
			q.Item = p.Address
		}
		if d.Driver == config.DriverGPIOOutput && q.Kind == "" {
			q.Kind = devices.KindLine
		}
		out.Points = append(out.Points, q)
	}
	return out
}

func parityLetter(p string) string {
	switch strings.ToLower(p) {
	case "even":
		return "E"
	case "odd":
		return "O"
	case "none":
		return "N"
	}
	return ""
}

func duration(d time.Duration) devices.Duration {
	var out devices.Duration
	if d > 0 {
		_ = out.UnmarshalText([]byte(d.String()))
	}
	return out
}

// pointOp builds the scheduler op that runs one point of a driver: a read
// for collection points, a write of v for control points.
func pointOp(drv devices.Driver, p devices.Point, v float64) sched.Op {
	d := drv.Device()
	op := sched.Op{
		Device: d.Name, Point: p.Name, Class: sched.Collection, Integrity: sched.Checked,
		Business: string(p.Class), Attrs: map[string]string{"driver": string(d.Driver)},
	}
	if p.Class == devices.ClassControl {
		op.Class = sched.Control
	}
	if p.Integrity == devices.IntegrityUnchecked {
		op.Integrity = sched.Unchecked
	}
	control := p.Class == devices.ClassControl
	op.Run = func(ctx context.Context) (sched.Result, error) {
		var (
			s   devices.Sample
			err error
		)
		if control {
			s, err = drv.Write(ctx, p, v)
		} else {
			s, err = drv.Read(ctx, p)
		}
		return sched.Result{Value: s.Value, Raw: s.Raw, ChecksumKind: s.ChecksumKind, Checksum: s.Checksum}, err
	}
	return op
}
