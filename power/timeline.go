package power

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Step names a point of the outage lifecycle. The leading number is the
// method's step, and a step is added only when what it names happened:
//
//	1-1 report the outage to the master station (and again periodically)
//	1-2 differential shutdown: mains-only and high-draw devices gated (only
//	    when there are some), and the business modules report the invalid
//	    value northbound (only when some point goes invalid)
//	1-3 the priority IO scheduler's outage rule is in force (once per outage)
//	1-4 the error-rate watch closed an IO path during the outage
//	1-5 critical data stored in the EEPROM journal: the outage-begin record,
//	    the final flush
//	2-1 report the return
//	2-2 warm or cold: did the supercapacitor run out (with the evidence)
//	2-3 re-initialise the interfaces that were shut
//	2-4 resume business IO
//	2-5 replay the journal into the data store after a second verification
//	2-6 erase (consume) the journal
//	2-7 log completion
//	2-8 sleep until the next interrupt
//
// Steps the method does not number carry no method number: "1-0" and "2-0"
// mark detection (the power-fail edge, the phase voltages, a blip, a
// return, an open outage found at start-up) that precedes the method's
// steps on loss and on return, "--" bookkeeping, "!!" an alarm. Numbers
// name the method's step, not the order: the outage-begin record (1-5) is
// journaled before the outage is reported (1-1), so that nothing is
// reported that is not durable.
type Step string

// Lifecycle steps, in the method's order.
const (
	StepEdgeGated        Step = "1-0 power-fail edge"
	StepVoltages         Step = "1-0 phase voltages read"
	StepLossConfirmed    Step = "1-0 loss confirmed by phase voltages"
	StepLossUnconfirmed  Step = "1-0 loss decided from GPIO alone (unconfirmed)"
	StepBlip             Step = "1-0 blip: mains-only IO un-gated, no outage"
	StepOutageContinued  Step = "1-0 open outage continued from the journal"
	StepOutageReported   Step = "1-1 outage reported to the master station"
	StepOutageRepeated   Step = "1-1 outage report repeated"
	StepGated            Step = "1-2 differential shutdown: mains-only and high-draw devices gated"
	StepModulesInvalid   Step = "1-2 business modules report invalid values northbound"
	StepPriority         Step = "1-3 priority IO: control before collection, checked before unchecked, unchecked dropped"
	StepPathClosed       Step = "1-4 error-rate watch closed an IO path"
	StepOutageJournaled  Step = "1-5 outage-begin record journaled"
	StepFinalFlush       Step = "1-5 final flush"
	StepFlushed          Step = "1-5 critical data flushed to the journal"
	StepRestoreConfirmed Step = "2-0 power return confirmed by phase voltages"
	StepRestoreGPIO      Step = "2-0 power return decided from GPIO alone (unconfirmed)"
	StepReturnVoltages   Step = "2-0 phase voltages read"
	StepColdStart        Step = "2-0 start-up: the journal holds an open outage"
	StepRestoreReported  Step = "2-1 return reported to the master station"
	StepWarm             Step = "2-2 warm: the supercapacitor held"
	StepCold             Step = "2-2 cold: the supercapacitor ran out"
	StepReinit           Step = "2-3 interfaces re-initialised"
	StepResumed          Step = "2-4 business IO resumed"
	StepReplayed         Step = "2-5 journal replayed into the data store after a second verification"
	StepConsumed         Step = "2-6 journal consumed"
	StepCompletion       Step = "2-7 completion logged"
	StepSleeping         Step = "2-8 sleeping until the next interrupt"
	// StepForwarded is the daemon's (the store-and-forward leg), not the
	// monitor's: the records of an outage have reached the master.
	StepForwarded Step = "2-8 outage history delivered to the master station"

	StepIdle              Step = "-- sleeping until the next interrupt"
	StepRecoveryStopped   Step = "-- recovery stopped at a safe point"
	StepRecoveryResumed   Step = "-- recovery resumed"
	StepVoltagesDisagree  Step = "-- line and phase voltages disagree"
	StepLeftoverRecovered Step = "-- journal left over from an interrupted recovery"
	StepSynced            Step = "-- file systems synced, data store closed"
	StepShutdown          Step = "-- shutdown command run"
	StepShutdownSkipped   Step = "-- mains returned before the shutdown command: nothing shut down"
	StepFlushUndone       Step = "-- data store reopened, collection resumed"
	StepChargeWait        Step = "-- start-up: collection held until the supercap charges"
	StepChargeReady       Step = "-- start-up: collection released"
	StepAlarm             Step = "!! alarm"
)

// Entry is one timeline record.
type Entry struct {
	// Seq numbers entries from 1.
	Seq uint64
	// At is the monitor clock's time.
	At time.Time
	// Step is what happened.
	Step Step
	// Detail adds the facts (voltages, counts, errors).
	Detail string
}

// Format renders the entry for a readable timeline, its time relative to
// base: "+1m0.02s     1-1 outage reported  since …".
func (e Entry) Format(base time.Time) string {
	s := fmt.Sprintf("%-12s %s", "+"+e.At.Sub(base).String(), e.Step)
	if e.Detail != "" {
		s += "  " + e.Detail
	}
	return s
}

// Timeline is the in-memory, bounded, ordered record of lifecycle steps;
// every entry is also logged. Tests and `holdup sim` read it. Safe for
// concurrent use: the monitor writes, anyone reads.
type Timeline struct {
	log *slog.Logger

	mu      sync.Mutex
	ring    []Entry
	next    int
	n       int
	seq     uint64
	changed chan struct{}
}

// NewTimeline returns a timeline keeping the last size entries.
func NewTimeline(size int, log *slog.Logger) *Timeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Timeline{log: log, ring: make([]Entry, size), changed: make(chan struct{})}
}

// Add appends an entry and wakes waiters.
func (t *Timeline) Add(at time.Time, step Step, detail string) Entry {
	t.mu.Lock()
	t.seq++
	e := Entry{Seq: t.seq, At: at, Step: step, Detail: detail}
	t.ring[t.next] = e
	t.next = (t.next + 1) % len(t.ring)
	if t.n < len(t.ring) {
		t.n++
	}
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	lvl := slog.LevelInfo
	if step == StepAlarm {
		lvl = slog.LevelWarn
	}
	t.log.Log(context.Background(), lvl, "power: "+string(step), "seq", e.Seq, "detail", detail)
	return e
}

// Since returns the retained entries with Seq > seq, oldest first.
func (t *Timeline) Since(seq uint64) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, t.n)
	start := (t.next - t.n + len(t.ring)) % len(t.ring)
	for i := 0; i < t.n; i++ {
		e := t.ring[(start+i)%len(t.ring)]
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out
}

// Entries returns every retained entry, oldest first.
func (t *Timeline) Entries() []Entry { return t.Since(0) }

// Last returns the Seq of the newest entry (0 when empty).
func (t *Timeline) Last() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// Wait blocks until an entry with the given step and Seq > after exists,
// and returns the first such entry.
func (t *Timeline) Wait(ctx context.Context, step Step, after uint64) (Entry, error) {
	for {
		ch := t.Changed()
		for _, e := range t.Since(after) {
			if e.Step == step {
				return e, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// Changed returns a channel that is closed at the next Add; a reader
// streams the timeline by reading Since(last) after each close.
func (t *Timeline) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}
