package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// Recovery moves journaled records into the data store exactly once: it
// replays the journal (each record read back from the chip for the second
// verification; what fails goes to the rejected bucket), imports each batch
// in one data-store transaction, and only then consumes the journal up to
// the batch's last sequence. A crash between the two re-imports the batch
// as duplicates, which the data store recognises by journal identity and
// sequence; nothing is lost and nothing is stored twice.
type Recovery struct {
	j     *Journal
	d     *DataStore
	batch int
	// hook, for tests, is called at each step of a replay; an error stops
	// the replay there as a crash would.
	hook func(step string, batch int) error
}

// NewRecovery returns the recovery path from j into d.
func NewRecovery(j *Journal, d *DataStore) *Recovery {
	return &Recovery{j: j, d: d, batch: 32}
}

// Pending returns how many journal records await replay.
func (r *Recovery) Pending(ctx context.Context) (int, error) {
	st, err := r.j.Stats(ctx)
	return st.Records, err
}

// Replay imports every pending record, batch by batch, checking ctx between
// batches: on cancellation it stops at that safe point and returns the
// counts so far with ctx's error.
//
// One pass of the journal's Replay reads the records back from the chip
// and verifies them; each batch of verified records, with the corrupt ones
// found before its end, is imported and then consumed while the pass goes
// on, so every page is read once. Another pass picks up what was appended
// meanwhile, until a pass finds nothing.
func (r *Recovery) Replay(ctx context.Context) (ReplayCounts, error) {
	var total ReplayCounts
	id, err := hex.DecodeString(r.j.MountReport().ID)
	if err != nil {
		return total, fmt.Errorf("store: replay: journal identity: %w", err)
	}
	b := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var (
			good    []Entry
			bad     []CorruptEntry
			last    uint64
			handled int
			stop    error // from a batch: returned as is
		)
		batch := func() error {
			if len(good) == 0 && len(bad) == 0 {
				return nil
			}
			c, err := r.d.importBatch(id, good, bad)
			if err != nil {
				return err
			}
			total.Replayed += c.Replayed
			total.Rejected += c.Rejected
			total.Duplicate += c.Duplicate
			if err := r.step("stored", b); err != nil {
				return err
			}
			if err := r.reconcile(ctx, id, good); err != nil {
				return err
			}
			if err := r.j.Consume(ctx, last); err != nil {
				return fmt.Errorf("store: replay: consume up to %d: %w", last, err)
			}
			if err := r.step("consumed", b); err != nil {
				return err
			}
			handled += len(good) + len(bad)
			good, bad = nil, nil
			b++
			return ctx.Err()
		}
		_, err := r.j.replay(ctx, func(e Entry) error {
			good = append(good, e)
			last = max(last, e.Seq)
			if len(good) >= r.batch {
				stop = batch()
			}
			return stop
		}, func(c CorruptEntry) error {
			bad = append(bad, c)
			last = max(last, c.Seq)
			if len(bad) >= r.batch {
				stop = batch()
			}
			return stop
		})
		if stop != nil {
			return total, stop
		}
		if err != nil {
			return total, fmt.Errorf("store: replay: %w", err)
		}
		if err := batch(); err != nil {
			return total, err
		}
		if handled == 0 {
			return total, nil
		}
	}
}

// reconcile gives every outage whose end record was just stored an entry
// in the outage log if it has none: when the process stops after the end
// was journaled but before the completion log was written, the outage is
// still logged (reconstructed from the journal). The completion log, when
// it is written, replaces the entry.
func (r *Recovery) reconcile(ctx context.Context, id []byte, good []Entry) error {
	for _, e := range good {
		if ev, _ := IsOutageEvent(e.Record); ev != EventOutageEnd {
			continue
		}
		a := e.Record.Attrs
		beginMS, ok := outageEndBegin(e.Record)
		if !ok {
			continue
		}
		begin := time.UnixMilli(beginMS).UTC()
		has, err := r.d.HasOutage(begin)
		if err != nil {
			return fmt.Errorf("store: replay: outage log: %w", err)
		}
		if has {
			continue
		}
		cold, _ := a["cold"].(bool)
		confirmed, _ := a["confirmed"].(bool)
		o := Outage{Begin: begin, End: e.Record.Time, Duration: e.Record.Time.Sub(begin), Kind: "warm",
			RestoreConfirmed: confirmed,
			Errors:           []string{"reconstructed from the journal: the completion log was not written (holdup stopped during recovery)"}}
		if cold {
			o.Kind = "cold"
		}
		if n, err := r.d.countBeforeEnd(id, begin, e.Seq); err == nil {
			o.Journaled = n
		}
		if err := r.d.RecordOutage(ctx, o); err != nil {
			return fmt.Errorf("store: replay: %w", err)
		}
	}
	return nil
}

func (r *Recovery) step(s string, b int) error {
	if r.hook == nil {
		return nil
	}
	return r.hook(s, b)
}
