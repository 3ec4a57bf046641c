package daemon

// Alarms to the master station (issue 15 part 5): every alarm the daemon
// raises (alarmList.Raise) goes to the master as a DL/T 698.45 event
// record, exactly once, like the 3106 power events. The reporter stores
// each report in the data store before it is sent (store.AddAlarm numbers
// it), hands it to the uplink, and marks it delivered when the master
// confirms it; a restart resends what was not confirmed with the same
// numbers, and the master drops what it already holds. While the data
// store is unavailable reports wait in memory and are stored (then sent)
// when it opens. Repeats of one alarm kind within alarmWindow are folded
// into one report with their count, so a flapping interface cannot fill
// the uplink.
//
// uplink-auth is raised for every request the uplink refuses on security
// grounds (securityAlarms), the first of a window through the alarm list,
// the rest to the reporter alone, so a flood is one report with a count.
//
// The event object of each alarm code (the standard's terminal event
// objects where one fits; see proto698/alarmevent.go):
//
//	code                               object  source                          why
//	uplink-auth                        3109    NULL                            a master request refused on security grounds (MAC, replayed random number, time tag, unauthenticated control): the message authentication error record
//	journal, replay, replay-rejected,  310A    0 memory fault                  the EEPROM journal lost records, or the data store (flash) cannot take or keep them
//	  outage-log, data-store-damaged
//	voltmeter-garbage,                 310A    2 main-board communication      the AC-sampling unit is the main board's metering module on its internal serial line
//	  voltmeter-unreachable
//	devices, reinit, resume,           310A    3 RS-485 reading fault          a field bus (RS-485 meters, Modbus) failed or was closed
//	  io-error-rate, io-link-down,
//	  io-reinit-failed, io-device-silent
//	hplc, and io-* on an HPLC meter's  310A    5 carrier channel abnormal      the HPLC (carrier) module or the meters behind it
//	  interface
//	anything else (uplink,             310A    255 (holdup: no standard source) the standard has no object for these: the power-fail line, the supercap,
//	  power-fail-line, supercap,                                               the final flush and shutdown, the journal's admission near full, the
//	  final-flush, shutdown,                                                   console, the status socket, the hooks, the uplink's own set-up, a line
//	  journal-admission, console,                                              that disagrees with the voltages; the device fault record is the
//	  status-socket, hooks,                                                    standard's catch-all for a terminal fault, and the record's code
//	  line-disagrees-with-voltages)                                            column names which one it was

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"holdup/console"
	"holdup/devices"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

// alarmUplinkAuth: a master request was refused on security grounds (its
// MAC, random number or time tag, or control without authentication).
const alarmUplinkAuth power.AlarmCode = "uplink-auth"

// alarmWindow is the rate limit: one report per alarm kind per window,
// later ones in the window folded into the next report with their count.
const alarmWindow = time.Minute

// maxAlarmsHanded bounds the reports handed to the uplink and not yet
// confirmed (the rest wait in the data store).
const maxAlarmsHanded = 8

// alarmObject maps an alarm to its event object and source; hplc says
// whether a scheduler interface is an HPLC meter's.
func alarmObject(a power.Alarm, hplc func(iface string) bool) (proto698.OAD, proto698.FaultSource) {
	switch a.Code {
	case alarmUplinkAuth:
		return proto698.OADAuthErrorEvent, 0
	case power.AlarmJournal, power.AlarmReplay, power.AlarmReplayRejected, power.AlarmOutageLog, alarmDataStoreDamaged:
		return proto698.OADFaultEvent, proto698.FaultMemory
	case power.AlarmVoltmeterGarbage, power.AlarmVoltmeterUnreachable:
		return proto698.OADFaultEvent, proto698.FaultBoardComm
	case alarmHPLC:
		return proto698.OADFaultEvent, proto698.FaultCarrier
	case alarmDevices, power.AlarmReinit, power.AlarmResume:
		return proto698.OADFaultEvent, proto698.FaultRS485
	}
	var io ioAlarmError
	if errors.As(a.Err, &io) {
		if hplc != nil && hplc(io.a.Interface) {
			return proto698.OADFaultEvent, proto698.FaultCarrier
		}
		return proto698.OADFaultEvent, proto698.FaultRS485
	}
	return proto698.OADFaultEvent, proto698.FaultOther
}

// objectName describes an event object and source for people.
func objectName(obj proto698.OAD, src proto698.FaultSource) string {
	if obj == proto698.OADAuthErrorEvent {
		return "3109 message authentication error"
	}
	return "310A device fault: " + src.String()
}

// ioAlarmError carries a scheduler alarm as a power.Alarm's error, so the
// reporter knows its interface.
type ioAlarmError struct{ a sched.Alarm }

func (e ioAlarmError) Error() string { return e.a.String() }

// eventReporter is the uplink's side the reporter needs.
type eventReporter interface {
	ReportEvent(proto698.Event) error
}

// alarmReporter is the goroutine (run) that owns the alarm reports.
type alarmReporter struct {
	ds  func() *store.DataStore // nil while the data store is unavailable
	up  eventReporter           // nil: no master station
	log *slog.Logger
	// hplc says whether a scheduler interface is an HPLC meter's; set
	// before run.
	hplc   func(iface string) bool
	window time.Duration
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	in      chan power.Alarm    // raised alarms (raise)
	confirm chan proto698.Event // the master's confirmations (confirmed)
	opened  chan struct{}       // the data store opened (storeOpened); capacity 1
	dropped atomic.Int64        // alarms raise could not queue
	pending atomic.Int64        // reports stored and not confirmed, for status
}

func newAlarmReporter(ds func() *store.DataStore, log *slog.Logger) *alarmReporter {
	return &alarmReporter{ds: ds, log: log, window: alarmWindow, now: time.Now, after: time.After,
		in: make(chan power.Alarm, 256), confirm: make(chan proto698.Event, 2*maxAlarmsHanded), opened: make(chan struct{}, 1)}
}

// raise queues an alarm without blocking (alarmList's observer).
func (r *alarmReporter) raise(a power.Alarm) {
	select {
	case r.in <- a:
	default:
		r.dropped.Add(1)
	}
}

// confirmed is the uplink's OnEventConfirm: never blocks (at most
// maxAlarmsHanded alarm events are unconfirmed; power events are not
// ours).
func (r *alarmReporter) confirmed(ev proto698.Event) {
	if _, ok := ev.(proto698.AlarmEvent); !ok {
		return
	}
	select {
	case r.confirm <- ev:
	default:
		r.log.Error("alarm report confirmation lost (queue full); it is resent after a restart", "event", ev.Key())
	}
}

// storeOpened tells the reporter the data store is there now.
func (r *alarmReporter) storeOpened() {
	select {
	case r.opened <- struct{}{}:
	default:
	}
}

// kindState is the rate limit of one alarm kind.
type kindState struct {
	sent   time.Time   // when the last report of the kind was made (r.now)
	folded uint32      // alarms since, not yet reported
	first  time.Time   // the first one's time
	last   power.Alarm // the last one
}

// alarmRun is run's state.
type alarmRun struct {
	kinds  map[power.AlarmCode]*kindState
	mem    []store.AlarmRecord // not stored yet (no data store)
	loaded bool                // the data store's pending reports were read
	queue  []store.AlarmRecord // stored, not handed to the uplink yet
	handed map[string]uint64   // event key → alarm number, handed and unconfirmed
	timer  <-chan time.Time    // the next folded report or retry is due
}

// run owns the reports until ctx ends.
func (r *alarmReporter) run(ctx context.Context) error {
	st := &alarmRun{kinds: map[power.AlarmCode]*kindState{}, handed: map[string]uint64{}}
	r.flush(st)
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-r.in:
			r.take(st, a)
		case ev := <-r.confirm:
			r.delivered(st, ev)
		case <-r.opened:
		case <-st.timer:
			st.timer = nil
			// Alarms raised before the window ended count in it, even
			// when they still wait in the queue.
			r.drain(st)
			r.fold(st)
		}
		r.flush(st)
	}
}

// drain takes the alarms waiting in the queue without blocking.
func (r *alarmReporter) drain(st *alarmRun) {
	for {
		select {
		case a := <-r.in:
			r.take(st, a)
		default:
			return
		}
	}
}

// take applies the rate limit to a raised alarm, by the time it was
// raised (a queued alarm belongs to the window it was raised in).
func (r *alarmReporter) take(st *alarmRun, a power.Alarm) {
	now := a.At
	if now.IsZero() {
		now = r.now()
	}
	k := st.kinds[a.Code]
	if k == nil {
		k = &kindState{}
		st.kinds[a.Code] = k
	}
	if k.sent.IsZero() || now.Sub(k.sent) >= r.window {
		k.sent = now
		r.emit(st, a, a.At, a.At, 1)
		return
	}
	if k.folded == 0 {
		k.first = a.At
	}
	k.folded++
	k.last = a
	r.arm(st)
}

// fold reports the kinds whose window ended with alarms folded.
func (r *alarmReporter) fold(st *alarmRun) {
	now := r.now()
	for _, code := range sortedCodes(st.kinds) {
		k := st.kinds[code]
		if k.folded > 0 && now.Sub(k.sent) >= r.window {
			r.emit(st, k.last, k.first, k.last.At, k.folded)
			k.sent, k.folded = now, 0
		}
	}
	r.arm(st)
}

// arm sets the timer for the earliest window end with folded alarms.
func (r *alarmReporter) arm(st *alarmRun) {
	if st.timer != nil {
		return
	}
	var due time.Time
	for _, k := range st.kinds {
		if end := k.sent.Add(r.window); k.folded > 0 && (due.IsZero() || end.Before(due)) {
			due = end
		}
	}
	if !due.IsZero() {
		st.timer = r.after(max(0, due.Sub(r.now())))
	}
}

func sortedCodes(m map[power.AlarmCode]*kindState) []power.AlarmCode {
	out := make([]power.AlarmCode, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// emit makes a report of alarm a, the last of count alarms raised from
// first to last.
func (r *alarmReporter) emit(st *alarmRun, a power.Alarm, first, last time.Time, count uint32) {
	msg := ""
	if a.Err != nil {
		msg = a.Err.Error()
	}
	obj, src := alarmObject(a, r.hplc)
	s := int(src)
	if obj == proto698.OADAuthErrorEvent {
		s = -1
	}
	st.mem = append(st.mem, store.AlarmRecord{Code: string(a.Code), Object: obj.Uint32(), Source: s, ObjectName: objectName(obj, src),
		Time: first, Last: last, Count: count, Message: msg})
}

// flush stores what waits in memory (once the data store is there, after
// reading the reports an earlier run left pending) and hands stored
// reports to the uplink.
func (r *alarmReporter) flush(st *alarmRun) {
	ds := r.ds()
	if ds == nil {
		return
	}
	if !st.loaded {
		old, err := ds.PendingAlarms(0)
		if err != nil {
			r.log.Error("alarm reports: read the pending ones", "err", err)
			return
		}
		st.loaded, st.queue = true, old
		r.pending.Add(int64(len(old)))
		if len(old) > 0 {
			r.log.Info("alarm reports not confirmed before: resending", "count", len(old))
		}
	}
	for len(st.mem) > 0 {
		a, err := ds.AddAlarm(st.mem[0])
		if err != nil {
			r.log.Error("alarm report not stored; kept in memory", "code", st.mem[0].Code, "err", err)
			break
		}
		st.mem = st.mem[1:]
		st.queue = append(st.queue, a)
		r.pending.Add(1)
		r.log.Info("alarm report stored", "code", a.Code, "no", a.No, "object", a.ObjectName, "seq", a.Seq, "count", a.Count)
	}
	if r.up == nil {
		return
	}
	for len(st.queue) > 0 && len(st.handed) < maxAlarmsHanded {
		ev := alarmEvent(st.queue[0])
		if err := r.up.ReportEvent(ev); err != nil {
			r.log.Warn("alarm report not handed to the uplink; retried", "event", ev.Key(), "err", err)
			if st.timer == nil {
				st.timer = r.after(time.Second)
			}
			return
		}
		st.handed[ev.Key()] = st.queue[0].No
		st.queue = st.queue[1:]
	}
}

// alarmEvent is the event report of a stored alarm.
func alarmEvent(a store.AlarmRecord) proto698.AlarmEvent {
	return proto698.AlarmEvent{Object: proto698.NewOAD(a.Object), Seq: a.Seq, Source: proto698.FaultSource(max(a.Source, 0)),
		Start: a.Time, Count: a.Count, Code: a.Code}
}

// delivered marks a confirmed report delivered.
func (r *alarmReporter) delivered(st *alarmRun, ev proto698.Event) {
	no, ok := st.handed[ev.Key()]
	if !ok {
		return
	}
	delete(st.handed, ev.Key())
	r.pending.Add(-1)
	if err := r.ds().AlarmDelivered(no, r.now()); err != nil {
		// The master has it; a restart resends it and the master drops
		// the duplicate.
		r.log.Error("alarm report confirmed but not marked delivered", "no", no, "err", err)
	}
}

// securityAlarms raises alarmUplinkAuth (3109) for every request the
// uplink refuses on security grounds (proto698.SecurityConfig.OnRefused:
// a MAC that does not verify, a replayed random number, a missing or stale
// time tag, plaintext control, ciphertext, control to a group address).
// The first refusal of a window goes through the alarm list (the
// console's alarms, the hooks' alarm event, the reporter); the rest of the
// window go to the reporter alone, which folds them into its next report
// with their count. A peer flooding the uplink thus costs one report per
// window and cannot push other alarms out of the console's list or the
// hooks' queues. refused is called on the uplink's link loop and never
// blocks.
type securityAlarms struct {
	raise  func(power.Alarm) // the alarm list
	fold   func(power.Alarm) // the reporter alone
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last time.Time // when the last refusal went to raise
}

func newSecurityAlarms(raise, fold func(power.Alarm)) *securityAlarms {
	return &securityAlarms{raise: raise, fold: fold, window: alarmWindow, now: time.Now}
}

// refusalError is a security refusal as an alarm's error.
type refusalError struct{ r proto698.Refusal }

func (e refusalError) Error() string { return "uplink: " + e.r.String() }
func (e refusalError) Unwrap() error { return e.r.Err }

// refused is the uplink's OnRefused.
func (s *securityAlarms) refused(r proto698.Refusal) {
	a := power.Alarm{Code: alarmUplinkAuth, Err: refusalError{r}, At: s.now()}
	s.mu.Lock()
	first := s.last.IsZero() || a.At.Sub(s.last) >= s.window
	if first {
		s.last = a.At
	}
	s.mu.Unlock()
	if first {
		s.raise(a)
		return
	}
	s.fold(a)
}

// buildAlarmReport makes the reporter and has alarmList tell it of every
// alarm (after the observer already set, the hooks'). New calls it before
// any alarm is raised.
func (d *Daemon) buildAlarmReport() {
	d.alarmRep = newAlarmReporter(d.store, d.log.With("part", "alarm reports"))
	prev := d.alarms.observe
	d.alarms.observe = func(a power.Alarm) {
		if prev != nil {
			prev(a)
		}
		d.alarmRep.raise(a)
	}
}

// runAlarmReport runs the reporter with the uplink and the devices New
// built.
func (d *Daemon) runAlarmReport(ctx context.Context) error {
	r := d.alarmRep
	if d.up != nil {
		r.up = d.up
	}
	hplc := map[string]bool{}
	for _, dev := range d.devs {
		if dev.Driver == devices.DriverHPLC {
			hplc[devices.InterfaceOf(dev)] = true
		}
	}
	r.hplc = func(iface string) bool { return hplc[iface] }
	return r.run(ctx)
}

// withAlarms merges the newest n alarm reports of ds into recs (the
// console's history, newest first) and keeps the newest n. An alarm is
// shown as business alarm, "device" its event object and sequence number,
// "point" its code, value delivered or pending.
func withAlarms(ds *store.DataStore, recs []console.HistoryRecord, n int) ([]console.HistoryRecord, error) {
	var alarms []console.HistoryRecord
	err := ds.AlarmHistory(store.HistoryQuery{Newest: true, Limit: n}, func(a store.AlarmRecord) error {
		state := "pending"
		if !a.Delivered.IsZero() {
			state = "delivered"
		}
		alarms = append(alarms, console.HistoryRecord{Time: a.Time, Business: store.BusinessAlarm.String(),
			Device: fmt.Sprintf("%04X#%d", a.Object>>16, a.Seq), Point: a.Code, Value: state})
		return nil
	})
	if err != nil {
		return recs, err
	}
	out := append(recs, alarms...)
	slices.SortStableFunc(out, func(a, b console.HistoryRecord) int { return b.Time.Compare(a.Time) })
	return out[:min(n, len(out))], nil
}
