package sim

import (
	"path/filepath"
	"strings"
	"testing"

	"holdup/config"
	"holdup/daemon"
	"holdup/power"
	"holdup/store"
)

// bootIs makes a daemon's kernel report boot id id.
func bootIs(id string) func(*config.Config, *daemon.Hardware) {
	return func(_ *config.Config, hw *daemon.Hardware) {
		hw.BootID = func() (string, error) { return id, nil }
	}
}

// TestRestartDuringOutageBootEvidence: holdup stops during an outage and a
// second daemon starts on the same state (EEPROM image and data store)
// with mains back. On the same boot (an operator's restart) the outage
// continues and returns warm; on another boot (the capacitor ran out, the
// terminal rebooted) it is a cold start. Either way the shut interfaces
// are re-initialised, every record the first run acknowledged is in the
// data store, and the outage log names the evidence.
func TestRestartDuringOutageBootEvidence(t *testing.T) {
	for _, tc := range []struct {
		name, boot2 string
		kind        power.Kind
		step        power.Step // the step that names the evidence
		evidence    string
	}{
		{"same boot", "boot-A", power.KindWarm, power.StepOutageContinued, "same boot boot-A"},
		{"reboot", "boot-B", power.KindCold, power.StepCold, "boot id changed boot-A → boot-B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			first := startSim(t, dir, bootIs("boot-A"))
			first.wait(t, power.StepIdle, 0)
			first.lossWithRecords(t)
			first.stop(t) // during the outage: the journal holds it open
			acked := first.journaled()

			second := startSim(t, dir, bootIs(tc.boot2))
			e := second.wait(t, tc.step, 0)
			if !strings.Contains(e.Detail, tc.evidence) {
				t.Fatalf("%s: %q, want %q in it", e.Step, e.Detail, tc.evidence)
			}
			second.wait(t, power.StepReinit, e.Seq)
			second.wait(t, power.StepCompletion, e.Seq)
			second.wait(t, power.StepSleeping, e.Seq)
			got := steps(second.d.Timeline().Entries())
			if tc.kind == power.KindWarm && (has(got, power.StepColdStart) || !has(got, power.StepRestoreConfirmed)) {
				t.Fatalf("same-boot restart did not continue the outage to a confirmed return:\n%s", stepList(got))
			}
			second.stop(t)

			stored := storedRecords(t, filepath.Join(dir, "data.db"))
			begins := 0
			for _, a := range acked {
				r, ok := stored[a.Seq]
				if !ok {
					t.Errorf("record %d (%s) acknowledged by the first run is not in the data store", a.Seq, a.Record.Device)
				}
				if b, isBegin := store.OutageBeginOf(r); isBegin {
					begins++
					if b.BootID != "boot-A" {
						t.Errorf("outage-begin record carries boot id %q, want boot-A", b.BootID)
					}
				}
			}
			if begins != 1 {
				t.Fatalf("%d outage-begin records, want 1 (the outage continued, not journaled again)", begins)
			}
			ds, err := store.OpenDataStore(filepath.Join(dir, "data.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			outs, err := ds.Outages(10)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 || outs[0].Kind != string(tc.kind) || !strings.Contains(outs[0].Evidence, tc.evidence) {
				t.Fatalf("outage log %+v, want one %s outage with evidence %q", outs, tc.kind, tc.evidence)
			}
			var end store.OutageEnd
			for _, r := range stored {
				if e, ok := store.OutageEndOf(r); ok {
					end = e
				}
			}
			if !strings.Contains(end.Evidence, tc.evidence) {
				t.Fatalf("outage-end record's evidence %q, want %q", end.Evidence, tc.evidence)
			}
		})
	}
}
