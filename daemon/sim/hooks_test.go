package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/hooks"
	"holdup/power"
)

// TestHooksThroughDaemon: an outage on the rig runs the [hooks] program
// once per event, in order — a blip (power-fail, blip), then an outage
// (power-fail, outage-confirmed, power-restored, recovery-complete) — each
// with the outage's facts on stdin.
func TestHooksThroughDaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "events")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write: the hook's writes never block on a missing reader and
	// the test never sees EOF between hooks.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	prog := filepath.Join(dir, "hook")
	// The JSON goes to the FIFO as one line (stdin is JSON and a newline).
	if err := os.WriteFile(prog, []byte("#!/bin/sh\ncat > '"+fifo+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSim(t, dir, func(c *config.Config, _ *daemon.Hardware) {
		c.Hooks = &config.Hooks{Exec: prog, Timeout: 10 * time.Second, Queue: 32}
	})
	s.wait(t, power.StepIdle, 0)
	// The line drops while the voltages stay: a blip.
	if err := s.rig.line.Fail(); err != nil {
		t.Fatal(err)
	}
	b := s.wait(t, power.StepBlip, 0)
	before, err := s.d.Monitor().Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.rig.line.Restore(); err != nil {
		t.Fatal(err)
	}
	// The line reports the restore only after its debounce: wait for the
	// monitor to have seen it, or the next loss is a glitch the debounce
	// swallows and no second power-fail edge comes.
	for deadline := time.Now().Add(10 * time.Second); ; {
		st, err := s.d.Monitor().Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Edges > before.Edges {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the line's restore never reached the monitor")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.d.Monitor().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	e := s.wait(t, power.StepPriority, b.Seq)
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepSleeping, e.Seq)

	want := []hooks.Kind{hooks.PowerFail, hooks.Blip, hooks.PowerFail, hooks.OutageConfirmed, hooks.PowerRestored, hooks.RecoveryComplete}
	got := map[hooks.Kind]hooks.Event{}
	var order []hooks.Kind
	var lastSeq uint64
	deadline := time.After(20 * time.Second)
	for len(order) < len(want) {
		select {
		case l := <-lines:
			var ev hooks.Event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("hook stdin %q: %v", l, err)
			}
			if ev.Seq <= lastSeq {
				t.Errorf("event %s seq %d after seq %d: out of order", ev.Kind, ev.Seq, lastSeq)
			}
			lastSeq = ev.Seq
			if ev.Kind == hooks.Alarm {
				continue // the rig's own alarms, if any
			}
			order = append(order, ev.Kind)
			got[ev.Kind] = ev
		case <-deadline:
			t.Fatalf("hooks ran for %v, want %v", order, want)
		}
	}
	if !slices.Equal(order, want) {
		t.Fatalf("hooks ran for %v, want %v", order, want)
	}
	oc, pr, rc := got[hooks.OutageConfirmed], got[hooks.PowerRestored], got[hooks.RecoveryComplete]
	if oc.OutageID == 0 || oc.OutageBegin.IsZero() || oc.Confirmed == nil || !*oc.Confirmed || len(oc.MainsV) != 3 || oc.MainsV[0] >= c0(s) {
		t.Errorf("outage-confirmed %+v: want the outage's id and begin, confirmed by low voltages", oc)
	}
	if pr.OutageID != oc.OutageID || !pr.OutageBegin.Equal(oc.OutageBegin) || pr.Confirmed == nil || !*pr.Confirmed || len(pr.MainsV) != 3 || pr.MainsV[0] < c0(s) {
		t.Errorf("power-restored %+v: want the same outage, confirmed by mains voltages", pr)
	}
	if rc.OutageID != oc.OutageID || rc.Cold == nil || *rc.Cold || rc.Detail == "" {
		t.Errorf("recovery-complete %+v: want the same outage, warm, with its completion", rc)
	}
	for k, ev := range got {
		if ev.JournalSize == 0 || ev.Time.IsZero() || ev.BudgetLeftS <= 0 {
			t.Errorf("%s: %+v lacks the journal's fill, its time or the budget", k, ev)
		}
	}
	if !(oc.BudgetLeftS <= s.budget().Seconds()) {
		t.Errorf("outage-confirmed budget left %v beyond the budget", oc.BudgetLeftS)
	}
}

// c0 is the loss threshold of the sim configuration: a phase below it is
// out.
func c0(s *simDaemon) float64 { return s.cfg().Power.LossV }

func (s *simDaemon) budget() time.Duration { return s.cfg().Power.HoldupBudget }

func (s *simDaemon) cfg() *config.Config {
	c, _ := config.Load(simConfig)
	return c
}
