package store

import (
	"context"
	"reflect"
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
		OutageBeginRecord(OutageBegin{At: old, Confirmed: true}), // an older journal's
		OutageEndRecord(OutageEnd{Begin: old, End: old.Add(time.Minute), Cold: true}),
		OutageBeginRecord(OutageBegin{At: at, Confirmed: true, Volts: [3]float64{1, 2, 3}, BootID: boot}),
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
	if got, _ := OutageBeginOf(e.Record); got.BootID != boot {
		t.Fatalf("boot id %q, want %q", got.BootID, boot)
	}
	const ev = "boot id changed a → b: the terminal rebooted"
	if _, err := j.Append(ctx, OutageEndRecord(OutageEnd{Begin: at, End: at.Add(time.Minute), Cold: true, Evidence: ev})); err != nil {
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
	var begins []OutageBegin
	var ends []OutageEnd
	var endRecs []Record
	if _, err := j.Replay(ctx, func(e Entry) error {
		if b, ok := OutageBeginOf(e.Record); ok {
			begins = append(begins, b)
		}
		if end, ok := OutageEndOf(e.Record); ok {
			ends = append(ends, end)
			endRecs = append(endRecs, e.Record)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantBegins := []OutageBegin{
		{At: old, Confirmed: true},
		{At: at, Confirmed: true, Volts: [3]float64{1, 2, 3}, BootID: boot},
	}
	wantEnds := []OutageEnd{
		{Begin: old, End: old.Add(time.Minute), Cold: true},
		{Begin: at, End: at.Add(time.Minute), Cold: true, Evidence: ev},
	}
	if !reflect.DeepEqual(begins, wantBegins) {
		t.Fatalf("replayed begins %+v, want %+v", begins, wantBegins)
	}
	if !reflect.DeepEqual(ends, wantEnds) {
		t.Fatalf("replayed ends %+v, want %+v", ends, wantEnds)
	}
	if _, ok := endRecs[0].Attrs[AttrEvidence]; ok {
		t.Fatal("an empty evidence was journaled")
	}
	long := OutageEndRecord(OutageEnd{Begin: at, End: at, Cold: true, Evidence: strings.Repeat("é", MaxStringLen)})
	got, _ := OutageEndOf(long)
	if err := long.Validate(); err != nil || len(got.Evidence) > MaxStringLen {
		t.Fatalf("long evidence: %v, %d bytes", err, len(got.Evidence))
	}
}
