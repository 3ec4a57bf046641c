package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/config"
	"holdup/power"
	"holdup/sched"
	"holdup/store"
)

// slowJournal appends a critical record only when release lets it.
type slowJournal struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
}

func (j *slowJournal) Append(ctx context.Context, _ sched.CriticalRecord) error {
	select {
	case <-j.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	j.mu.Lock()
	j.n++
	j.mu.Unlock()
	return nil
}

func (j *slowJournal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// actRig is a daemon with what the end-of-window act touches: a running
// scheduler on a slow journal, an open data store, a shutdown command
// that records its argv into a file.
type actRig struct {
	d       *Daemon
	act     *endAct
	j       *slowJournal
	calls   string // the file the command appends its arguments to
	syncfs  []int  // file descriptors synced
	storeAt string
}

func newActRig(t *testing.T) *actRig {
	t.Helper()
	dir := t.TempDir()
	r := &actRig{j: &slowJournal{release: make(chan struct{})}, calls: filepath.Join(dir, "calls"), storeAt: filepath.Join(dir, "data.db")}
	script := filepath.Join(dir, "shutdown.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+r.calls+"\necho bye\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{File: "test.toml", Store: config.Store{Path: r.storeAt}}
	cfg.Power.End = config.PowerEnd{ShutdownCommand: []string{script, "poweroff"}, ShutdownTimeout: 5 * time.Second}
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "m", Interface: "rs485"}}, Journal: r.j})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	ds, err := store.OpenDataStore(r.storeAt)
	if err != nil {
		t.Fatal(err)
	}
	r.d = &Daemon{cfg: cfg, log: slog.New(slog.DiscardHandler), alarms: newAlarmList(8), sched: s, ds: ds}
	r.d.closers = append(r.d.closers, ds.Close)
	r.act, err = newEndAct(r.d)
	if err != nil {
		t.Fatal(err)
	}
	r.act.syncDirs = []string{dir}
	r.act.syncfs = func(fd int) error { r.syncfs = append(r.syncfs, fd); return nil }
	t.Cleanup(func() {
		cancel()
		close(r.j.release) // let a record still in the writer go
		<-done
		r.d.close()
	})
	return r
}

// journalDuringOutage runs n checked readings during an outage: each
// leaves a critical record for the journal.
func (r *actRig) journalDuringOutage(t *testing.T, n int) {
	t.Helper()
	r.d.sched.GateMainsOnly()
	for i := 0; i < n; i++ {
		op := sched.Op{Device: "m", Point: "energy", Class: sched.Collection, Run: func(context.Context) (sched.Result, error) {
			return sched.Result{Value: 1}, nil
		}}
		if _, err := r.d.sched.Do(context.Background(), op); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *actRig) commandCalls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(r.calls)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestFinalFlushWaitsForPendingRecords(t *testing.T) {
	r := newActRig(t)
	r.journalDuringOutage(t, 3)
	type result struct {
		err error
		n   int // records journaled when FinalFlush returned
	}
	done := make(chan result, 1)
	go func() {
		err := r.act.FinalFlush(context.Background(), 30*time.Second)
		done <- result{err, r.j.count()}
	}()
	for i := 0; i < 3; i++ {
		r.j.release <- struct{}{}
	}
	res := <-done
	if res.err != nil || res.n != 3 {
		t.Fatalf("FinalFlush returned %v with %d of 3 records journaled", res.err, res.n)
	}
	if !r.d.sched.CollectionHeld() {
		t.Fatal("collection not held back after the final flush")
	}
	op := sched.Op{Device: "m", Point: "energy", Class: sched.Collection, Run: func(context.Context) (sched.Result, error) {
		t.Error("collection ran after the final flush")
		return sched.Result{}, nil
	}}
	if _, err := r.d.sched.Do(context.Background(), op); !errors.Is(err, sched.ErrHeld) {
		t.Fatalf("collection after the final flush: %v, want ErrHeld", err)
	}
}

func TestShutdownActRunsTheCommandOnce(t *testing.T) {
	r := newActRig(t)
	ctx := context.Background()
	if err := r.act.FinalFlush(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	detail, err := r.act.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.d.store() != nil {
		t.Fatal("data store still open after Prepare")
	}
	if len(r.syncfs) != 1 || !strings.Contains(detail, "data store closed") || !strings.Contains(detail, "synced") {
		t.Fatalf("Prepare: %q, %d file systems synced", detail, len(r.syncfs))
	}
	// The closed file is complete: another process opens it.
	ds, err := store.OpenDataStoreReadOnly(r.storeAt, time.Second)
	if err != nil {
		t.Fatalf("data store after Prepare: %v", err)
	}
	ds.Close()
	ran, detail, err := r.act.Shutdown(ctx, 20*time.Second)
	if err != nil || !ran {
		t.Fatalf("Shutdown: ran %v, %v", ran, err)
	}
	if got := r.commandCalls(t); !slices.Equal(got, []string{"poweroff"}) {
		t.Fatalf("command calls %q, want one with poweroff", got)
	}
	if !strings.HasSuffix(detail, "poweroff: bye") {
		t.Fatalf("detail %q, want the command and its output", detail)
	}
	// Mains returns after the command (the system did not go down yet):
	// everything reopens; the next boot is handled as any.
	if _, err := r.act.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	if r.d.store() == nil || r.d.sched.CollectionHeld() {
		t.Fatal("Undo left the data store closed or collection held")
	}
}

func TestShutdownActMainsBackBeforeTheCommand(t *testing.T) {
	r := newActRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.act.FinalFlush(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := r.act.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // the outage ended: mains returned
	ran, _, err := r.act.Shutdown(ctx, 20*time.Second)
	if ran || err != nil {
		t.Fatalf("Shutdown after the return: ran %v, %v", ran, err)
	}
	if got := r.commandCalls(t); len(got) != 0 {
		t.Fatalf("the command ran after the mains returned: %q", got)
	}
	detail, err := r.act.Undo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if detail != "data store reopened, collection resumed" {
		t.Fatalf("Undo: %q", detail)
	}
	ds := r.d.store()
	if ds == nil || r.d.sched.CollectionHeld() {
		t.Fatal("data store closed or collection held after Undo")
	}
	if _, err := ds.Outages(0); err != nil {
		t.Fatalf("reopened data store: %v", err)
	}
	// Collection runs again.
	op := sched.Op{Device: "m", Point: "energy", Class: sched.Collection, Run: func(context.Context) (sched.Result, error) {
		return sched.Result{Value: 2}, nil
	}}
	if _, err := r.d.sched.Do(context.Background(), op); err != nil {
		t.Fatalf("collection after Undo: %v", err)
	}
}

// The charge wait and the final flush hold collection for their own
// reasons: releasing one leaves the other's hold.
func TestCollectionHoldReasons(t *testing.T) {
	r := newActRig(t)
	r.d.holdCollection(holdCharge, true)
	r.d.holdCollection(holdFinal, true)
	r.d.holdCollection(holdFinal, false)
	if !r.d.sched.CollectionHeld() {
		t.Fatal("releasing the final flush's hold released the charge wait's")
	}
	r.d.holdCollection(holdCharge, false)
	if r.d.sched.CollectionHeld() {
		t.Fatal("held with no reason")
	}
}

func TestShutdownWithoutCommand(t *testing.T) {
	r := newActRig(t)
	r.act.argv = nil
	ran, _, err := r.act.Shutdown(context.Background(), time.Second)
	if ran || err != nil {
		t.Fatalf("no command configured: ran %v, %v", ran, err)
	}
}

func TestShutdownCommandTimeout(t *testing.T) {
	r := newActRig(t)
	r.act.argv, r.act.wait = []string{"sleep", "10"}, 100*time.Millisecond
	start := time.Now()
	ran, _, err := r.act.Shutdown(context.Background(), time.Second)
	if !ran || err == nil {
		t.Fatalf("a hanging command: ran %v, %v; want ran and an error", ran, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the command's timeout took %v", d)
	}
}

// Power's Shutdowner and Flusher are what the act implements.
var (
	_ power.Flusher    = (*endAct)(nil)
	_ power.Shutdowner = (*endAct)(nil)
)
