package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"holdup/eeprom"
)

// TestOutageBootIDAndEvidence: the boot id of an outage-begin record and
// the evidence of an outage-end record survive a remount and replay; an
// older begin record without a boot id still opens the outage and reads
// as unknown boot (""); the end record closes it; over-long values are
// clipped to a record's limits.
func TestOutageBootIDAndEvidence(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := t0
	at := t0.Add(time.Hour)
	const boot = "0f3d6a1e-7c55-4c3b-9b0e-2a9d3c8e1f47"
	for _, r := range []Record{
		OutageBeginRecord(old, true, [3]float64{}), // an older journal's
		OutageEndRecordEvidence(old, old.Add(time.Minute), true, false, ""),
		OutageBeginRecordBoot(at, true, [3]float64{1, 2, 3}, boot),
	} {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, err := j.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	if j, err = Open(chip, Options{}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := j.OpenOutage(ctx)
	if err != nil || !ok || !e.Record.Time.Equal(at) {
		t.Fatalf("open outage after remount: %+v %v %v", e, ok, err)
	}
	if got := OutageBootID(e.Record); got != boot {
		t.Fatalf("boot id %q, want %q", got, boot)
	}
	const ev = "boot id changed a → b: the terminal rebooted"
	if _, err := j.Append(ctx, OutageEndRecordEvidence(at, at.Add(time.Minute), true, false, ev)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if j, err = Open(chip, Options{}); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, ok, err := j.OpenOutage(ctx); ok || err != nil {
		t.Fatalf("outage still open after its end record: %v %v", ok, err)
	}
	var begins, ends []Record
	if _, err := j.Replay(ctx, func(e Entry) error {
		switch kind, _ := IsOutageEvent(e.Record); kind {
		case EventOutageBegin:
			begins = append(begins, e.Record)
		case EventOutageEnd:
			ends = append(ends, e.Record)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(begins) != 2 || OutageBootID(begins[0]) != "" || OutageBootID(begins[1]) != boot {
		t.Fatalf("replayed begins %+v", begins)
	}
	if len(ends) != 2 || OutageEvidence(ends[0]) != "" || OutageEvidence(ends[1]) != ev || OutageEvidence(begins[1]) != "" {
		t.Fatalf("replayed ends %+v", ends)
	}
	if _, ok := ends[0].Attrs[AttrEvidence]; ok {
		t.Fatal("an empty evidence was journaled")
	}
	long := OutageEndRecordEvidence(at, at, true, false, strings.Repeat("é", MaxStringLen))
	if err := long.Validate(); err != nil || len(OutageEvidence(long)) > MaxStringLen {
		t.Fatalf("long evidence: %v, %d bytes", err, len(OutageEvidence(long)))
	}
}
