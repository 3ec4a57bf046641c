package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"holdup/eeprom"
)

func simChip(t testing.TB, part string, torn eeprom.TornMode, seed uint64) (*eeprom.Sim, *eeprom.Chip) {
	t.Helper()
	p, err := eeprom.LookupPart(part)
	if err != nil {
		t.Fatal(err)
	}
	sim := eeprom.NewSim(eeprom.SimConfig{Part: p, Torn: torn, Seed: seed})
	chip, err := eeprom.NewChip(sim, p, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	return sim, chip
}

var t0 = time.Date(2026, 11, 26, 22, 15, 24, 123e6, time.UTC)

// typicalRecord is a switch-output control action as the scheduler
// journals it during an outage.
func typicalRecord(i int) Record {
	return Record{
		Time:      t0.Add(time.Duration(i) * 250 * time.Millisecond),
		Business:  BusinessControl,
		Interface: "rs485-2",
		Device:    "breaker-07",
		Attrs:     map[string]any{"topic": "ctl/breaker-07/switch", "qos": 1},
		Value:     i%2 == 0,
		Integrity: Integrity{Kind: IntegrityCRC16Modbus, Value: uint32(0xB52E + i)},
	}
}

func collect(t testing.TB, j *Journal) []Entry {
	t.Helper()
	var out []Entry
	rep, err := j.Replay(context.Background(), func(e Entry) error { out = append(out, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Corrupt) > 0 {
		t.Fatalf("replay reported corrupt records: %v", rep.Corrupt)
	}
	return out
}

func TestJournalAppendReplayConsumeRemount(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c256", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !j.MountReport().Formatted {
		t.Fatal("a blank chip was not reported as formatted")
	}
	var seqs []uint64
	for i := 0; i < 50; i++ {
		seq, err := j.Append(ctx, typicalRecord(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) > 0 && seq <= seqs[len(seqs)-1] {
			t.Fatalf("sequence %d after %d", seq, seqs[len(seqs)-1])
		}
		seqs = append(seqs, seq)
	}
	got := collect(t, j)
	if len(got) != 50 {
		t.Fatalf("replay returned %d records, want 50", len(got))
	}
	for i, e := range got {
		want := typicalRecord(i)
		if e.Seq != seqs[i] || e.Record.Seq != seqs[i] || !e.Record.Time.Equal(want.Time) ||
			e.Record.Value != want.Value || e.Record.Device != want.Device ||
			e.Record.Attrs["topic"] != "ctl/breaker-07/switch" || e.Record.Integrity != want.Integrity {
			t.Fatalf("record %d = %+v, want %+v (seq %d)", i, e.Record, want, seqs[i])
		}
	}
	if err := j.Consume(ctx, seqs[29]); err != nil {
		t.Fatal(err)
	}
	if err := j.Consume(ctx, seqs[49]+100); err == nil {
		t.Fatal("consuming past the last record was accepted")
	}
	id := j.MountReport().ID
	j.Close()
	if _, err := j.Append(ctx, typicalRecord(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}

	j2, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	rep := j2.MountReport()
	if rep.Formatted || rep.ID != id || len(rep.Skipped) != 0 {
		t.Fatalf("remount report %+v (id was %s)", rep, id)
	}
	got = collect(t, j2)
	if len(got) != 20 || got[0].Seq != seqs[30] || got[19].Seq != seqs[49] {
		t.Fatalf("after consume and remount replay has %d records starting at %d", len(got), got[0].Seq)
	}
	seq, err := j2.Append(ctx, typicalRecord(99))
	if err != nil || seq <= seqs[49] {
		t.Fatalf("append after remount: seq %d, %v", seq, err)
	}
}

func TestJournalFullNeverOverwritesUnconsumed(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c32", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var last uint64
	n := 0
	for ; n < 10000; n++ {
		seq, err := j.Append(ctx, typicalRecord(n))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	// A 4 KiB part holds about 45 of these frames; the admission reserve
	// (Journal.Reserve) keeps a third of it for the outage records.
	if n == 10000 || n < 24 {
		t.Fatalf("journal accepted %d records on a 4 KiB part", n)
	}
	for i := 0; i < 3; i++ {
		// The record refused (its size decides how many pages it claims).
		if _, err := j.Append(ctx, typicalRecord(n)); !errors.Is(err, ErrFull) {
			t.Fatalf("append to a full journal: %v", err)
		}
	}
	st, _ := j.Stats(ctx)
	if st.FullRejects != 4 {
		t.Fatalf("FullRejects = %d, want 4", st.FullRejects)
	}
	got := collect(t, j)
	if len(got) != n || got[len(got)-1].Seq != last {
		t.Fatalf("full journal replays %d records, want %d", len(got), n)
	}
	// Consuming frees space: appends resume and nothing older is lost.
	if err := j.Consume(ctx, got[n/2].Seq); err != nil {
		t.Fatalf("consume on a full journal: %v", err)
	}
	if _, err := j.Append(ctx, typicalRecord(1)); err != nil {
		t.Fatalf("append after consume: %v", err)
	}
	got2 := collect(t, j)
	if len(got2) != n-n/2-1+1 || got2[0].Seq != got[n/2+1].Seq {
		t.Fatalf("after consume: %d records from %d", len(got2), got2[0].Seq)
	}
}

func TestJournalRejectsInvalidRecords(t *testing.T) {
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 1)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	bad := []func(*Record){
		func(r *Record) { r.Business = 0 },
		func(r *Record) { r.Device = "" },
		func(r *Record) { r.Time = time.Time{} },
		func(r *Record) { r.Integrity = Integrity{Kind: IntegritySum8, Value: 0x100} },
		func(r *Record) { r.Value = struct{}{} },
		func(r *Record) { r.Value = fmt.Sprint },
	}
	// A terminal without an RTC boots at 1970: its records are kept.
	early := typicalRecord(0)
	early.Time = time.Unix(5, 0)
	if _, err := j.Append(context.Background(), early); err != nil {
		t.Fatalf("record stamped by an unset clock refused: %v", err)
	}
	for i, mut := range bad {
		r := typicalRecord(i)
		mut(&r)
		if _, err := j.Append(context.Background(), r); err == nil {
			t.Errorf("case %d: invalid record accepted", i)
		}
	}
}
