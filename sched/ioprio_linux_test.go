//go:build linux

package sched

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
)

func TestThreadIOPriority(t *testing.T) {
	want := IOPriority{IOClassBestEffort, 5}
	type result struct {
		got IOPriority
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with this goroutine
		if err := SetThreadIOPriority(want); err != nil {
			res <- result{err: err}
			return
		}
		got, err := threadIOPriority()
		res <- result{got, err}
	}()
	r := <-res
	if errors.Is(r.err, syscall.ENOSYS) || errors.Is(r.err, syscall.EPERM) {
		t.Skipf("ioprio_set unavailable here: %v", r.err)
	}
	if r.err != nil || r.got != want {
		t.Fatalf("ioprio_get = %v, %v; want %v", r.got, r.err, want)
	}
	// Other threads are untouched.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if got, err := threadIOPriority(); err == nil && got == want {
		t.Errorf("priority leaked to another thread: %v", got)
	}
}

func TestRunWithIOPriorityFallsBack(t *testing.T) {
	type result struct {
		p   IOPriority
		err error
	}
	res := make(chan result, 1)
	go RunWithIOPriority(JournalIOPriority, "test", nil, func() {
		p, err := threadIOPriority()
		res <- result{p, err}
	})
	r := <-res
	if r.err != nil {
		t.Skipf("ioprio_get unavailable: %v", r.err)
	}
	// Realtime when privileged, else the best-effort/0 fallback.
	if r.p != JournalIOPriority && r.p != (IOPriority{IOClassBestEffort, 0}) {
		t.Errorf("journal thread priority %v", r.p)
	}
}

func TestPriorityTable(t *testing.T) {
	ctl, chk, unchk := PriorityFor(Control, Checked), PriorityFor(Collection, Checked), PriorityFor(Collection, Unchecked)
	if !(ctl.Level < chk.Level && chk.Level < unchk.Level) || ctl.Class != IOClassBestEffort {
		t.Errorf("table %v %v %v not ordered control < checked < unchecked", ctl, chk, unchk)
	}
	if v := (IOPriority{IOClassIdle, 0}).value(); v != 3<<13 {
		t.Errorf("idle value %#x", v)
	}
}
