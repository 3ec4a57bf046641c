package power

import (
	"context"
	"log/slog"
	"time"
)

// Gate sheds and restores the IO that cannot run on the hold-up capacitor
// (the scheduler implements it). GateMainsOnly is called from the power-fail
// line's event goroutine within microseconds of the edge: both methods must
// be cheap and must not block. Calls are serialised by the monitor.
type Gate interface {
	// GateMainsOnly stops issuing mains-only (strong-power) IO and
	// returns how many devices an outage stops (mains-only or over the
	// draw threshold; 0: there is none, nothing was shed).
	GateMainsOnly() int
	// Ungate lets mains-only IO run again.
	Ungate()
}

// OutageBegin is the lifecycle record journaled when an outage starts.
type OutageBegin struct {
	// At is when the power-fail line first reported the loss.
	At time.Time
	// Confirmed is true when the phase voltages confirmed the loss, false
	// when it was decided from the GPIO line alone.
	Confirmed bool
	// Volts holds the phase voltages A, B, C of the confirming reading
	// (zero when unconfirmed).
	Volts [3]float64
	// BootID is the kernel's boot id when the outage began (Deps.BootID);
	// empty when unknown (unreadable, or a record older than the field).
	BootID string
}

// OutageEnd is the lifecycle record journaled when power returns.
type OutageEnd struct {
	// Begin is the At of the outage that ends.
	Begin time.Time
	// End is when the power-fail line reported the return; on a cold start
	// (the capacitor ran out) it is the start-up time.
	End time.Time
	// Cold is true when the capacitor ran out (the terminal lost power).
	Cold bool
	// Confirmed is true when the phase voltages confirmed the return.
	Confirmed bool
	// Evidence says what decided warm or cold (OutageRecord.Evidence).
	Evidence string
}

// Journal is the outage lifecycle part of the EEPROM journal (store).
type Journal interface {
	// AppendOutageBegin durably records the start of an outage.
	AppendOutageBegin(ctx context.Context, b OutageBegin) error
	// AppendOutageEnd durably records the end of the outage begun at
	// e.Begin.
	AppendOutageEnd(ctx context.Context, e OutageEnd) error
	// OpenOutage returns the last outage-begin record that has no end
	// record, if any: at start-up, an outage this process did not live
	// through (whether the capacitor ran out is decided from evidence:
	// the boot id, the supercap voltage, the time elapsed).
	OpenOutage(ctx context.Context) (OutageBegin, bool, error)
}

// Uplink reports outage events to the master station (DL/T 698.45 event
// 3106). Both methods only enqueue and must not block; an error means the
// report could not be queued.
type Uplink interface {
	// ReportOutage reports that the mains has been lost since begin.
	ReportOutage(begin time.Time) error
	// ReportRestore reports that the outage from begin ended at end.
	ReportRestore(begin, end time.Time) error
}

// Modules are the business modules that keep running during an outage.
type Modules interface {
	// SetInvalid switches value reporting to "invalid" (true) while mains
	// is lost, and back (false). It returns how many points the master
	// station sees that the switch applies to (0: no point reports the
	// invalid value, or none is exposed).
	SetInvalid(invalid bool) int
}

// ReinitResult is the outcome of re-initialising one interface.
type ReinitResult struct {
	// Interface names it ("hplc", "rs485-1").
	Interface string
	// Err is nil on success.
	Err error
}

// Reinitializer brings back the interfaces that were shut during an outage
// (HPLC module reset and init, serial ports reopened).
type Reinitializer interface {
	// Reinit re-initialises every interface and reports each one.
	Reinit(ctx context.Context) []ReinitResult
}

// Resumer resumes business IO in the scheduler once interfaces are back.
type Resumer interface {
	// Resume restarts business IO.
	Resume(ctx context.Context) error
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	// Replayed records were verified and imported into the data store.
	Replayed int
	// Rejected records failed the second verification; kept aside.
	Rejected int
	// Duplicate records were already in the data store (idempotent).
	Duplicate int
}

// Add returns the sum of two results.
func (r ReplayResult) Add(o ReplayResult) ReplayResult {
	return ReplayResult{r.Replayed + o.Replayed, r.Rejected + o.Rejected, r.Duplicate + o.Duplicate}
}

// Recoverer moves journaled data into the data store (store implements it).
type Recoverer interface {
	// Pending returns how many journal records await replay.
	Pending(ctx context.Context) (int, error)
	// Replay verifies journaled records (CRC, schema, value ranges),
	// imports the good ones idempotently into the data store and consumes
	// the journal up to what it imported or rejected. It checks ctx between
	// batches: when ctx is cancelled it stops at a safe point and returns
	// the counts so far with ctx's error; a later Replay continues where it
	// stopped without importing anything twice.
	Replay(ctx context.Context) (ReplayResult, error)
}

// Kind says how an outage ended.
type Kind string

const (
	// KindWarm: the terminal lived through the outage (holdup may have
	// been restarted during it: same kernel boot).
	KindWarm Kind = "warm"
	// KindCold: the capacitor ran out (or the terminal was rebooted
	// during the outage); recovery ran at the next start.
	KindCold Kind = "cold"
)

// OutageRecord is the completion log entry of one outage.
type OutageRecord struct {
	// Begin is when the line first reported the loss.
	Begin time.Time
	// End is when the line reported the return (cold: the start-up time).
	End time.Time
	// Duration is End − Begin.
	Duration time.Duration
	// Kind is warm or cold.
	Kind Kind
	// Evidence says what decided Kind: this process saw the return, the
	// kernel boot id (same, or changed), the supercap voltage at start-up,
	// or the time elapsed against the hold-up budget (see Monitor).
	Evidence string
	// LossConfirmed / RestoreConfirmed: the phase voltages confirmed the
	// edge (false: decided from the GPIO line alone).
	LossConfirmed    bool
	RestoreConfirmed bool
	// Replay counts the records replayed during this outage's recovery.
	Replay ReplayResult
	// Blips counts power-fail edges since the previous record that turned
	// out to be blips.
	Blips int
	// Interrupted is true when another loss cut this outage's recovery
	// short; the rest of its journal was replayed by the next recovery.
	Interrupted bool
	// ReinitFailed names the interfaces that did not come back.
	ReinitFailed []string
	// Errors lists what went wrong during recovery, for the operator.
	Errors []string
}

// OutageLog keeps the outage history (store implements it, in bbolt).
type OutageLog interface {
	// Record writes the completion log of one outage.
	Record(ctx context.Context, r OutageRecord) error
}

// Flusher gets the "final flush" signal: the hold-up budget is down to its
// margin and critical data must be in EEPROM now. Optional.
type Flusher interface {
	// FinalFlush stops collection and returns once every critical record
	// taken before it is journaled; left is the estimated hold-up time
	// remaining. ctx is cancelled when the outage ends (mains returned)
	// or the monitor stops: the flusher then returns at its next step.
	FinalFlush(ctx context.Context, left time.Duration) error
}

// Shutdowner is the end of the hold-up window after the final flush: the
// file systems made durable, then the operating system shut down before
// the capacitor dies. Optional; the monitor calls Prepare once FinalFlush
// returned, then Shutdown, each only while the mains is still lost, and
// Undo (from the recovery worker, before the interfaces are brought back)
// when the mains returns after any of them, so that nothing stays closed.
// ctx is cancelled when the outage ends or the monitor stops.
type Shutdowner interface {
	// Prepare syncs the file systems holding the data store and the logs
	// and closes the data store; detail says what it did.
	Prepare(ctx context.Context) (detail string, err error)
	// Shutdown reports "shutting down" (master station, hooks) and runs
	// the shutdown command, left being the hold-up time remaining; ran
	// says whether the command was started (none configured, or ctx
	// cancelled before it: false).
	Shutdown(ctx context.Context, left time.Duration) (ran bool, detail string, err error)
	// Undo reopens what Prepare closed and resumes the collection
	// FinalFlush stopped; it waits for a Prepare or Shutdown still
	// returning.
	Undo(ctx context.Context) (detail string, err error)
}

// AlarmCode names an alarm condition.
type AlarmCode string

// Alarm codes raised by the monitor.
const (
	AlarmVoltmeterGarbage     AlarmCode = "voltmeter-garbage"
	AlarmVoltmeterUnreachable AlarmCode = "voltmeter-unreachable"
	AlarmLineDisagrees        AlarmCode = "line-disagrees-with-voltages"
	AlarmJournal              AlarmCode = "journal"
	AlarmUplink               AlarmCode = "uplink"
	AlarmReinit               AlarmCode = "reinit"
	AlarmResume               AlarmCode = "resume"
	AlarmReplay               AlarmCode = "replay"
	AlarmReplayRejected       AlarmCode = "replay-rejected"
	AlarmOutageLog            AlarmCode = "outage-log"
	AlarmSupercap             AlarmCode = "supercap"
	AlarmFlush                AlarmCode = "final-flush"
	AlarmShutdown             AlarmCode = "shutdown"
	AlarmLine                 AlarmCode = "power-fail-line"
)

// Alarm is a condition the operator must see.
type Alarm struct {
	Code AlarmCode
	Err  error
	At   time.Time
}

// Alarmer receives alarms (for the master station or a status LED).
// Raise is called from the monitor goroutine and must not block. Optional.
type Alarmer interface {
	Raise(a Alarm)
}

// Deps are what the monitor drives. Gate, Journal, Uplink, Modules, Reinit,
// Resume, Recoverer and OutageLog are required; the rest are optional.
type Deps struct {
	Gate      Gate
	Journal   Journal
	Uplink    Uplink
	Modules   Modules
	Reinit    Reinitializer
	Resume    Resumer
	Recoverer Recoverer
	OutageLog OutageLog

	// Voltmeter confirms edges; nil decides from the GPIO line alone.
	Voltmeter Voltmeter
	// Supercap reads the hold-up capacitor voltage; nil uses the
	// configured hold-up time only.
	Supercap SupercapReader
	// BootID returns the kernel's boot id
	// (/proc/sys/kernel/random/boot_id), read once at start-up and
	// journaled with every outage-begin record; at start-up with an open
	// outage the same boot means the terminal never lost power. Nil (or an
	// error) means unknown: the decision falls back to the other evidence.
	BootID func() (string, error)
	// Flusher gets the final-flush signal; nil only logs it.
	Flusher Flusher
	// Shutdown acts after the final flush (sync, close, the shutdown
	// command); nil: nothing more happens until the capacitor runs out.
	Shutdown Shutdowner
	// Alarms receives alarms; nil only logs them.
	Alarms Alarmer
	// Clock is the time source; nil means the real clock.
	Clock Clock
	// Logger gets the monitor's logs; nil discards them.
	Logger *slog.Logger
}
