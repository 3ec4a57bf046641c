package sim

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/power"
)

// fakeNow is a clock the test moves by hand (the simulated supercap's).
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// TestColdStartChargeWait: after the capacitor ran out the next start finds
// it empty. The cold start's replay does not wait for it, while collection
// is held (and the status says so) until the supercap holds
// power.min_start_charge of its energy; then collection is released.
func TestColdStartChargeWait(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startSim(t, dir, bootIs("boot-A"))
	first.wait(t, power.StepIdle, 0)
	first.lossWithRecords(t)
	first.stop(t) // the journal holds the outage open
	acked := first.journaled()

	clk := &fakeNow{t: time.Unix(1e9, 0)}
	var cap *SimSupercap
	second := startSim(t, dir, func(cfg *config.Config, hw *daemon.Hardware) {
		bootIs("boot-B")(cfg, hw)
		cfg.Power.End.MinStartCharge, cfg.Power.End.StartChargeTimeout = 0.8, time.Hour
		sc := cfg.Power.Supercap
		// Empty, charging at 0.5 V/s (full_v 5 V in 10 s) by the test's clock.
		cap = newSimSupercap(sc.Farads, sc.LoadW, sc.FullV, 0, clk.now)
		hw.Supercap = func(config.Power) (power.SupercapReader, error) { return cap.Read, nil }
	})
	hold := second.wait(t, power.StepChargeWait, 0)
	if !strings.Contains(hold.Detail, "80 % charge") {
		t.Fatalf("charge wait: %q", hold.Detail)
	}
	// The replay of the cold start is done while collection is held.
	second.wait(t, power.StepCold, 0)
	second.wait(t, power.StepSleeping, 0)
	if !second.d.Scheduler().CollectionHeld() {
		t.Fatal("collection released before the supercap charged")
	}
	sock := filepath.Join(dir, "holdup.sock")
	if st := askStatus(t, sock); !strings.Contains(st.Start, "collection held") {
		t.Fatalf("status start %q, want the hold named", st.Start)
	}
	// 9 s of charge: 4.5 V holds 75 % of the usable energy, not yet 80 %.
	clk.advance(9 * time.Second)
	waitStatus(t, sock, "charge 75 %")
	if !second.d.Scheduler().CollectionHeld() {
		t.Fatal("released at 75 %")
	}
	clk.advance(time.Second)
	e := second.wait(t, power.StepChargeReady, hold.Seq)
	if !strings.Contains(e.Detail, "5.00 V, charge 100 %") {
		t.Fatalf("released: %q", e.Detail)
	}
	if second.d.Scheduler().CollectionHeld() {
		t.Fatal("collection still held after the charge")
	}
	if st := askStatus(t, sock); st.Start != "" {
		t.Fatalf("status start %q after the release", st.Start)
	}
	second.stop(t)
	mustHoldAll(t, filepath.Join(dir, "data.db"), acked, "the data store after the cold start")
}

// waitStatus waits (real time, bounded) until the status's start line
// holds want: the charge wait reads the capacitor every sample_every.
func waitStatus(t *testing.T, sock, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := askStatus(t, sock)
		if strings.Contains(st.Start, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status start %q, want %q in it", st.Start, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBudgetRunsOutThroughDaemon: a heavy load drains the supercap during
// an outage: the final flush, the file systems synced and the data store
// closed, the shutdown command run once (the sim's recording script);
// the mains then returns before the capacitor dies and the system went
// down: the data store reopens, collection resumes, and every record
// acknowledged is in it.
func TestBudgetRunsOutThroughDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startSim(t, dir, func(cfg *config.Config, _ *daemon.Hardware) {
		cmd, err := simShutdownCommand(dir, []string{"systemctl", "poweroff"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Power.End.ShutdownCommand = cmd
	})
	s.wait(t, power.StepIdle, 0)
	after := s.lossWithRecords(t)
	if err := s.rig.supercap.SetLoad(20); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepFinalFlush, after)
	s.wait(t, power.StepFlushed, after)
	synced := s.wait(t, power.StepSynced, after)
	if !strings.Contains(synced.Detail, "data store closed") {
		t.Fatalf("synced: %q", synced.Detail)
	}
	sd := s.wait(t, power.StepShutdown, after)
	if !strings.Contains(sd.Detail, "systemctl poweroff") {
		t.Fatalf("shutdown: %q", sd.Detail)
	}
	if !s.d.Scheduler().CollectionHeld() {
		t.Fatal("collection runs after the final flush")
	}
	b, err := os.ReadFile(filepath.Join(dir, ShutdownLog))
	if err != nil || strings.Count(string(b), "systemctl poweroff") != 1 {
		t.Fatalf("shutdown log %q (%v), want one call", b, err)
	}
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	undone := s.wait(t, power.StepFlushUndone, sd.Seq)
	if undone.Detail != "data store reopened, collection resumed" {
		t.Fatalf("undo: %q", undone.Detail)
	}
	s.wait(t, power.StepSleeping, undone.Seq)
	if s.d.Scheduler().CollectionHeld() {
		t.Fatal("collection still held after the return")
	}
	if st := askStatus(t, filepath.Join(dir, "holdup.sock")); st.DataStore != "open" {
		t.Fatalf("data store %q after the return", st.DataStore)
	}
	acked := s.journaled()
	s.stop(t)
	mustHoldAll(t, filepath.Join(dir, "data.db"), acked, "the data store after the return")
}
