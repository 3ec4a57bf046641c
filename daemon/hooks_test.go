package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"holdup/config"
	"holdup/hooks"
	"holdup/power"
)

// TestHookEventNames: the event names the configuration accepts in
// hooks.mqtt.topics are the hooks package's kinds.
func TestHookEventNames(t *testing.T) {
	var kinds []string
	for _, k := range hooks.Kinds() {
		kinds = append(kinds, string(k))
	}
	if !slices.Equal(kinds, config.HookEvents()) {
		t.Errorf("config.HookEvents() = %v, hooks.Kinds() = %v", config.HookEvents(), kinds)
	}
}

// hookDaemon is a daemon with hooks running a program that reads its
// event and exits; each outcome is sent on the returned channel. The hooks
// stop when the test ends.
func hookDaemon(t *testing.T) (*Daemon, *hooks.Hooks, <-chan hooks.Outcome) {
	t.Helper()
	prog := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\ncat > /dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := make(chan hooks.Outcome, 8)
	h, err := hooks.New(hooks.Config{Exec: prog, Observe: func(o hooks.Outcome) { out <- o }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	d := &Daemon{cfg: &config.Config{Power: config.Power{HoldupBudget: 180 * time.Second}}, alarms: newAlarmList(4)}
	return d, h, out
}

// TestHookShutdownAndAlarm: the shutdown emitter and every alarm raised
// reach the program, with what they carry.
func TestHookShutdownAndAlarm(t *testing.T) {
	d, h, out := hookDaemon(t)
	d.hooks = &hookFeed{d: d, h: h}
	d.alarms.observe = d.hooks.alarm
	d.emitShutdown([]string{"systemctl", "poweroff"}, 25*time.Second)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d.alarms.Raise(power.Alarm{Code: power.AlarmJournal, Err: errors.New("journal full"), At: at})
	for _, want := range []hooks.Event{
		{Kind: hooks.Shutdown, Seq: 1, BudgetLeftS: 25, Detail: "systemctl poweroff"},
		{Kind: hooks.Alarm, Seq: 2, Time: at, BudgetLeftS: 180, Alarm: string(power.AlarmJournal), Detail: "journal full"},
	} {
		var o hooks.Outcome
		select {
		case o = <-out:
		case <-time.After(20 * time.Second):
			t.Fatal("no hook ran")
		}
		e := o.Event
		if o.Err != nil || e.Kind != want.Kind || e.Seq != want.Seq || e.BudgetLeftS != want.BudgetLeftS || e.Alarm != want.Alarm ||
			e.Detail != want.Detail || (!want.Time.IsZero() && !e.Time.Equal(want.Time)) {
			t.Errorf("got %+v (err %v), want %+v", e, o.Err, want)
		}
	}
	if len(d.alarms.recent()) != 1 {
		t.Errorf("the alarm list lost the alarm: %v", d.alarms.recent())
	}
	if st := d.hookStats(); st == nil || st.Exec.Delivered != 2 {
		t.Errorf("hook stats %+v", st)
	}
}

// TestHookRecoveryCompleteOnlyAfterReturn: 2-8 sleeping tells
// recovery-complete only after a power-restored; the replay of records a
// blip left in the journal ends on 2-8 sleeping too, but recovered no
// outage.
func TestHookRecoveryCompleteOnlyAfterReturn(t *testing.T) {
	d, h, out := hookDaemon(t)
	f := &hookFeed{d: d, h: h}
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, s := range []power.Step{power.StepBlip, power.StepLeftoverRecovered, power.StepSleeping, power.StepRestoreConfirmed, power.StepSleeping, power.StepSleeping, power.StepBlip} {
		f.step(ctx, power.Entry{Step: s, At: at.Add(time.Duration(i) * time.Second)})
	}
	var got []hooks.Kind
	// The last blip closes the list: the hooks run in order, so anything
	// the sleeping steps told wrongly comes before it.
	want := []hooks.Kind{hooks.Blip, hooks.PowerRestored, hooks.RecoveryComplete, hooks.Blip}
	for len(got) < len(want) {
		select {
		case o := <-out:
			got = append(got, o.Event.Kind)
		case <-time.After(20 * time.Second):
			t.Fatalf("hooks ran for %v, want %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("hooks ran for %v, want %v", got, want)
	}
}
