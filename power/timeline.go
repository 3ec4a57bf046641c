package power

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Step names a point of the outage lifecycle. The leading number is the
// seed's step ("1-x" protection on loss, "2-x" recovery); "1-0" marks the
// optimistic shed and its confirmation that precede the seed's steps, "0-0"
// the idle state, "!!" an alarm, "--" bookkeeping.
type Step string

// Lifecycle steps, in the order they normally appear.
const (
	StepSleeping          Step = "0-0 sleeping until the next interrupt"
	StepEdgeGated         Step = "1-0 power-fail edge: mains-only IO gated"
	StepVoltages          Step = "1-0 phase voltages read"
	StepLossConfirmed     Step = "1-0 loss confirmed by phase voltages"
	StepLossUnconfirmed   Step = "1-0 loss decided from GPIO alone (unconfirmed)"
	StepBlip              Step = "1-0 blip: mains-only IO un-gated, no outage"
	StepOutageJournaled   Step = "1-1 outage-begin journaled"
	StepOutageReported    Step = "1-1 outage reported"
	StepOutageRepeated    Step = "1-2 outage report repeated"
	StepGated             Step = "1-3 strong-power devices gated"
	StepModulesInvalid    Step = "1-4 modules report invalid values"
	StepFinalFlush        Step = "1-5 final flush"
	StepFlushed           Step = "1-5 critical data flushed to the journal"
	StepRestoreConfirmed  Step = "2-1 power return confirmed by phase voltages"
	StepRestoreGPIO       Step = "2-1 power return decided from GPIO alone (unconfirmed)"
	StepRestoreReported   Step = "2-2 restore reported"
	StepReinit            Step = "2-3 interfaces reinitialised"
	StepResumed           Step = "2-4 business IO resumed"
	StepReplayed          Step = "2-5 journal replayed, verified and consumed"
	StepCompletion        Step = "2-6 completion log written"
	StepColdStart         Step = "2-7 cold start: journal holds an open outage"
	StepRecoveryStopped   Step = "-- recovery stopped at a safe point"
	StepRecoveryResumed   Step = "-- recovery resumed"
	StepAlarm             Step = "!! alarm"
	StepVoltagesDisagree  Step = "-- line and phase voltages disagree"
	StepLeftoverRecovered Step = "-- journal left over from an interrupted recovery"
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
