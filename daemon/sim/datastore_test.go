package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"holdup/daemon"
	"holdup/power"
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
	first.mu.Lock()
	acked := append([]daemon.JournalEvent(nil), first.acked...)
	first.mu.Unlock()

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
	stored := storedRecords(t, db)
	for _, a := range acked {
		if _, ok := stored[a.Seq]; !ok {
			t.Errorf("record %d (%s) journaled before the damage is not in the fresh data store", a.Seq, a.Record.Device)
		}
	}
}
