package console

import (
	"context"
	"time"
)

// State is the read-only view of the daemon the console shows. The daemon
// implements it (daemon/console.go); each call should answer from the owning
// goroutine's state (for example by a request on its channel) and honour
// ctx, which carries the console's command timeout.
type State interface {
	// Status is the one-screen summary for `status`.
	Status(ctx context.Context) (Status, error)
	// Outages returns up to n most recent outages, newest first.
	Outages(ctx context.Context, n int) ([]Outage, error)
	// JournalStats describes the EEPROM journal.
	JournalStats(ctx context.Context) (JournalStats, error)
	// JournalTail returns up to n most recent journal records, oldest first.
	JournalTail(ctx context.Context, n int) ([]JournalRecord, error)
	// Devices lists every configured device.
	Devices(ctx context.Context) ([]Device, error)
	// Points lists the points of one device (every device when device is
	// ""), with their current reading and what the master station reads
	// for it; an unknown device is an error.
	Points(ctx context.Context, device string) ([]Point, error)
	// History returns up to n most recent records of the data store (the
	// journal's records replayed after an outage), of one device or of
	// every device when device is "", oldest first; by the records' own
	// time.
	History(ctx context.Context, device string, n int) ([]HistoryRecord, error)
	// Sched describes the scheduler: queues, gated devices, error rates.
	Sched(ctx context.Context) (SchedStats, error)
	// Log returns up to n most recent log lines, oldest first (LogRing
	// keeps them).
	Log(ctx context.Context, n int) ([]string, error)
	// Config returns the configuration summary (config.Config.Summary).
	Config(ctx context.Context) ([]string, error)
}

// Actions are the commands that change state. They run only for a
// logged-in operator.
type Actions interface {
	// JournalConsume discards journal records already replayed into the
	// data store and returns how many it discarded.
	JournalConsume(ctx context.Context) (int, error)
	// SetDeviceEnabled enables or disables the named device.
	SetDeviceEnabled(ctx context.Context, name string, enabled bool) error
	// SimulateMains cuts (present=false) or restores simulated mains. It is
	// only called when Options.Sim is set.
	SimulateMains(ctx context.Context, present bool) error
}

// Status is what `status` shows.
type Status struct {
	Power          string        // lifecycle state: normal, suspect, outage, recovering …
	Since          time.Time     // when Power was entered
	MainsV         []float64     // phase voltages, V; empty when unknown
	HoldupLeft     time.Duration // estimated hold-up remaining
	HoldupBudget   time.Duration // configured budget
	SupercapV      float64       // measured supercap voltage; 0 when not measured
	JournalUsed    int           // bytes
	JournalSize    int           // bytes
	JournalRecords int
	// JournalCapacityRecords is how many records of the configuration's
	// outage workload the journal holds from empty (0: no estimate);
	// JournalEstimateS how many seconds of that workload still fit beside
	// the records held (nil: no journaled collection to measure it by).
	// Both as `holdup status -json` tells them.
	JournalCapacityRecords int
	JournalEstimateS       *float64
	// HistoryPending counts the outage records waiting to reach the master
	// station, HistoryDelivered those it confirmed; HistoryKnown is false
	// when there is no outbox (no data store or no uplink).
	HistoryKnown                     bool
	HistoryPending, HistoryDelivered int
	// AlarmReportsPending counts the alarms stored as event reports the
	// master station has not confirmed yet (or -1 without an uplink).
	AlarmReportsPending int
	Alarms              []string // active alarms, one short line each
	// Start says what start-up still holds back (collection until the
	// supercap has charged); empty when nothing.
	Start string
}

// Outage is one mains outage.
type Outage struct {
	ID      uint64
	Begin   time.Time
	End     time.Time // zero while the outage goes on
	Records int       // journal records written during it
	State   string    // open, replayed, lost …
	// Evidence says what decided whether the capacitor ran out (warm or
	// cold): the process saw the return, the boot id, the supercap.
	Evidence string
}

// JournalStats describes the EEPROM journal.
type JournalStats struct {
	Part       string // EEPROM part name
	Size       int    // bytes
	PageSize   int
	Used       int // bytes
	Records    int
	FirstSeq   uint64 // oldest record held
	LastSeq    uint64 // newest record held
	Consumed   uint64 // records up to this sequence number are replayed and consumable
	OpenOutage bool
	OpenSince  time.Time
	Corrupt    int // records that failed verification
}

// JournalRecord is one journal record, summarised.
type JournalRecord struct {
	Seq     uint64
	Time    time.Time
	Kind    string // outage-begin, reading, outage-end …
	Summary string
}

// HistoryRecord is one record of the data store.
type HistoryRecord struct {
	Time     time.Time // when the datum was taken
	Business string    // control, collection, event, alarm
	Device   string
	Point    string // the point, or the event's name; "" when neither
	Value    any    // nil, bool, an integer, a float64, a string or []byte
	Invalid  bool
}

// Device is one device as the scheduler sees it.
type Device struct {
	Name      string
	Driver    string
	Enabled   bool
	Gated     bool   // shed by power gating right now
	MainsOnly bool   // shed whenever mains is lost
	DrawMW    int    // configured draw
	State     string // ok, error, invalid …
	ErrorRate float64
	LastOK    time.Time // zero when never
}

// Point is one point and what the master station would read of it now.
type Point struct {
	Device string
	Name   string
	Class  string // control, collection
	// Value is the current reading of a collection point; Invalid marks
	// that there is none (698 NULL northbound); a control point has
	// neither (Measured false).
	Value    float64
	Invalid  bool
	Measured bool
	Time     time.Time // of the reading or of the invalid marking; zero: never
	// UplinkOAD is the OAD the master station uses for it ("" when the
	// point is not exposed).
	UplinkOAD string
	// UplinkNull says the master station reads Data NULL for the exposed
	// collection point now, though Value may be a live reading: during an
	// outage every point not configured to keep its live value reads the
	// initial invalid value, and a point without a current value (Invalid)
	// reads NULL always. Otherwise the master reads Value.
	UplinkNull bool
}

// SchedStats describes the scheduler.
type SchedStats struct {
	Mode   string // normal, outage …
	Queues []Queue
	Gated  []string // devices gated now
	Errors []ErrorRate
}

// Queue is one interface's priority queue.
type Queue struct {
	Name     string // interface: port or bus
	Depth    int
	Capacity int
	Done     uint64
	Failed   uint64
}

// ErrorRate is one device's error rate over the scheduler's window.
type ErrorRate struct {
	Device  string
	Failed  int
	Total   int
	Flagged bool // over the threshold: its values are marked invalid
}
