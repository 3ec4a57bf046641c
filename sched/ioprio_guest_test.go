//go:build guest && linux

package sched

// Run inside test/guest/run-guest.sh (a real armmp kernel, as root); never
// on the host. It applies the priority table as the daemon does and reads
// it back from the kernel: ioprio_get for the data store's writer threads,
// /proc/self/task/TID/stat for the nice value of the owners that carry
// control exchanges; then, on a thread that dropped to an unprivileged
// user, what the shipped unit allows (LimitNICE=-5, no capabilities).

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGuestIOPriorityTable(t *testing.T) {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	t.Logf("kernel %s %s, euid %d", unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Machine[:]), unix.Geteuid())
	for _, c := range []struct {
		name string
		c    Class
		i    Integrity
	}{{"control", Control, Checked}, {"checked collection", Collection, Checked}, {"unchecked collection", Collection, Unchecked}} {
		want := IOPriorityFor(c.c, c.i)
		th := StartIOThread(want, c.name, nil)
		var got IOPriority
		var tid int
		var err error
		if derr := th.Do(context.Background(), func() { tid = unix.Gettid(); got, err = threadIOPriority() }); derr != nil {
			t.Fatal(derr)
		}
		_ = th.Close()
		t.Logf("GUEST ioprio %-20s thread %d: ioprio_get %v (want %v)", c.name, tid, got, want)
		if err != nil || got != want {
			t.Errorf("%s: ioprio_get %v, %v; want %v", c.name, got, err, want)
		}
	}
}

func TestGuestControlOwnerNice(t *testing.T) {
	var rec recorder
	s, err := New(Config{Devices: []Device{
		{Name: "breaker", Interface: "/dev/ttyS1", Control: true},
		{Name: "meter", Interface: "/dev/ttyS2"},
	}, Logger: rec.logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for _, c := range []struct {
		dev  string
		want int
	}{{"breaker", ControlNice}, {"meter", 0}} {
		var tid, n int
		var err error
		if _, derr := s.Do(ctx, Op{Device: c.dev, Class: Collection, Run: func(context.Context) (Result, error) {
			tid = unix.Gettid()
			n, err = threadNice(tid)
			return Result{}, nil
		}}); derr != nil || err != nil {
			t.Fatal(derr, err)
		}
		t.Logf("GUEST nice owner of %-8s thread %d: /proc/self/task/%d/stat nice %d (want %d)", c.dev, tid, tid, n, c.want)
		if n != c.want {
			t.Errorf("%s owner: nice %d, want %d", c.dev, n, c.want)
		}
	}
	t.Logf("log: %q", rec.msgs())
}

// What the unit's unprivileged holdup user may do: every best-effort level
// of the table, not realtime IO; nice -5 only with RLIMIT_NICE 25
// (LimitNICE=-5), never below it.
func TestGuestUnprivilegedAsTheUnit(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NICE, &old); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Setrlimit(unix.RLIMIT_NICE, &old) }()
	try := func(limit uint64, fn func() error) error {
		t.Helper()
		if err := unix.Setrlimit(unix.RLIMIT_NICE, &unix.Rlimit{Cur: limit, Max: max(limit, old.Max)}); err != nil {
			t.Fatalf("setrlimit RLIMIT_NICE %d: %v", limit, err)
		}
		return onThread(func() error {
			if err := dropThreadPrivileges(); err != nil {
				return err
			}
			return fn()
		})
	}
	err := try(0, func() error {
		for _, p := range []IOPriority{IOPriorityFor(Control, Checked), IOPriorityFor(Collection, Checked), IOPriorityFor(Collection, Unchecked)} {
			if err := setThreadIOPriority(p); err != nil {
				return err
			}
			if got, err := threadIOPriority(); err != nil || got != p {
				t.Errorf("unprivileged: ioprio_get %v, %v; want %v", got, err, p)
			}
		}
		return nil
	})
	t.Logf("GUEST unprivileged best-effort 0/2/6: %v", err)
	if err != nil {
		t.Errorf("unprivileged best-effort: %v", err)
	}
	err = try(0, func() error { return setThreadIOPriority(IOPriority{IOClassRealtime, 0}) })
	t.Logf("GUEST unprivileged realtime/0: %v", err)
	if !notPermitted(err) {
		t.Errorf("unprivileged realtime IO: %v, want EPERM", err)
	}
	err = try(0, func() error { return setThreadNice(ControlNice) })
	t.Logf("GUEST unprivileged nice %d with RLIMIT_NICE 0: %v", ControlNice, err)
	if !notPermitted(err) {
		t.Errorf("nice %d without LimitNICE: %v, want refused", ControlNice, err)
	}
	var got int
	err = try(uint64(20-ControlNice), func() error {
		if err := setThreadNice(ControlNice); err != nil {
			return err
		}
		var err error
		got, err = threadNice(unix.Gettid())
		return err
	})
	t.Logf("GUEST unprivileged nice %d with RLIMIT_NICE %d (LimitNICE=%d): %v, stat nice %d", ControlNice, 20-ControlNice, ControlNice, err, got)
	if err != nil || got != ControlNice {
		t.Errorf("nice %d within LimitNICE: %v, nice %d", ControlNice, err, got)
	}
	err = try(uint64(20-ControlNice), func() error { return setThreadNice(ControlNice - 1) })
	t.Logf("GUEST unprivileged nice %d with RLIMIT_NICE %d: %v", ControlNice-1, 20-ControlNice, err)
	if !notPermitted(err) {
		t.Errorf("nice %d beyond LimitNICE: %v, want refused", ControlNice-1, err)
	}
}
