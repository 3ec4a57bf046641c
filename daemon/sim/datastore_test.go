package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdup/power"
	"holdup/store"
)

// TestDamagedDataStoreMovedAside: a data store whose meta pages are
// overwritten (as a flash fault leaves it) no longer crash-loops the
// daemon. It starts, moves the file aside for forensics (its bytes
// unchanged), raises the alarm, and the cold start replays the outage the
// journal holds into a fresh store: nothing journaled is lost.
func TestDamagedDataStoreMovedAside(t *testing.T) {
	dir := t.TempDir()
	first := startSim(t, dir, bootIs("boot-A"))
	first.wait(t, power.StepIdle, 0)
	first.lossWithRecords(t)
	first.stop(t)
	acked := first.journaled()

	db := filepath.Join(dir, "data.db")
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw, bytes.Repeat([]byte{0xA5}, 8192)) // both meta pages
	if err := os.WriteFile(db, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	second := startSim(t, dir, bootIs("boot-B"))
	second.wait(t, power.StepSleeping, 0)
	if a := second.alarms(); !strings.Contains(a, "data-store-damaged") || !strings.Contains(a, "moved aside") {
		t.Fatalf("alarms %q, want data-store-damaged naming where the file went", a)
	}
	second.stop(t)
	moved, _ := filepath.Glob(db + ".damaged-*")
	if len(moved) != 1 {
		t.Fatalf("moved-aside files %v, want one", moved)
	}
	if kept, err := os.ReadFile(moved[0]); err != nil || !bytes.Equal(kept, raw) {
		t.Fatalf("the damaged file was not kept as it was: %v", err)
	}
	mustHoldAll(t, db, acked, "the fresh data store")
}

// TestDataStoreOpensLate: the data store is held by another process when
// the daemon starts. The daemon protects power all the same — an outage is
// journaled and its return cannot replay, so the records stay in the
// EEPROM — and opens the store with back-off once it is free: the journal
// is then replayed into it and consumed, nothing lost.
func TestDataStoreOpensLate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "data.db")
	held, err := store.OpenDataStore(db) // another holdup, say
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, dir, nil)
	s.wait(t, power.StepIdle, 0)
	if a := s.alarms(); !strings.Contains(a, "retried with back-off") {
		t.Fatalf("alarms %q, want the data store named unavailable", a)
	}
	after := s.lossWithRecords(t)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepSleeping, after) // without a completion log: there is nowhere to write it
	if got := steps(s.d.Timeline().Since(after)); has(got, power.StepReplayed) || has(got, power.StepConsumed) {
		t.Fatalf("a replay that could not run is shown as done:\n%s", stepList(got))
	}
	st, err := s.d.JournalStats(context.Background())
	if err != nil || st.Records == 0 {
		t.Fatalf("journal %+v %v: the records must stay in the EEPROM while the data store is away", st, err)
	}
	acked := s.journaled()

	held.Close() // free: the daemon's next attempt opens it
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err = s.d.JournalStats(context.Background())
		if err == nil && st.Records == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("journal still holds %d records 30 s after the data store was freed (%v)", st.Records, err)
		}
	}
	s.stop(t)
	mustHoldAll(t, db, acked, "the data store after it opened")
}

// TestJournalDamageRaisesAnAlarm: an EEPROM page erased in the middle of
// an unconsumed journal (a flash fault between two runs) is reported at
// start as records lost to damage, never silently.
func TestJournalDamageRaisesAnAlarm(t *testing.T) {
	dir := t.TempDir()
	first := startSim(t, dir, bootIs("boot-A"))
	first.wait(t, power.StepIdle, 0)
	first.lossWithRecords(t)
	for i := range 8 {
		first.control(t, "sim-inverter", "limit", float64(30+i))
	}
	first.stop(t)

	img := filepath.Join(dir, "eeprom.bin")
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	const page = 32 // the sim's at24c64
	last := 0
	for p := 0; p < len(raw)/page; p++ {
		if !bytes.Equal(raw[p*page:(p+1)*page], bytes.Repeat([]byte{0xFF}, page)) {
			last = p
		}
	}
	if last < 4 {
		t.Fatalf("journal spans %d pages, want more to damage one in its middle", last+1)
	}
	mid := last / 2
	copy(raw[mid*page:], bytes.Repeat([]byte{0xFF}, page))
	if err := os.WriteFile(img, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	second := startSim(t, dir, bootIs("boot-A"))
	second.wait(t, power.StepSleeping, 0)
	if a := second.alarms(); !strings.Contains(a, "journal") || !strings.Contains(a, "lost to damage") {
		t.Fatalf("alarms %q, want the records lost with page %d named", a, mid)
	}
	second.wait(t, power.StepCompletion, 0)
	second.stop(t)
	// The completion log of the outage recovered after the mount says so
	// too.
	ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	outs, err := ds.Outages(10)
	if err != nil || len(outs) != 1 || !strings.Contains(strings.Join(outs[0].Errors, "; "), "journal: lost to damage: seq") {
		t.Fatalf("outage log %+v %v, want the lost range in its errors", outs, err)
	}
}

// TestMissingDataStoreWhereOneExisted: the data store deleted between two
// runs after the journal had been replayed into it is not silently
// re-created: the journal knows a store took its records, so the alarm
// says the history is gone.
func TestMissingDataStoreWhereOneExisted(t *testing.T) {
	dir := t.TempDir()
	first := startSim(t, dir, bootIs("boot-A"))
	first.wait(t, power.StepIdle, 0)
	after := first.lossWithRecords(t)
	if err := first.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	first.wait(t, power.StepConsumed, after)
	first.stop(t)
	if err := os.Remove(filepath.Join(dir, "data.db")); err != nil {
		t.Fatal(err)
	}
	second := startSim(t, dir, bootIs("boot-A"))
	second.wait(t, power.StepIdle, 0)
	if a := second.alarms(); !strings.Contains(a, "data-store-damaged") || !strings.Contains(a, "missing although the journal was replayed") {
		t.Fatalf("alarms %q, want the missing data store named", a)
	}
	second.stop(t)

	// A first start on a fresh terminal (nothing ever replayed) is quiet.
	fresh := startSim(t, t.TempDir(), nil)
	fresh.wait(t, power.StepIdle, 0)
	if a := fresh.alarms(); strings.Contains(a, "data-store") {
		t.Fatalf("a first start raised %q", a)
	}
}
