//go:build linux

package sched

import (
	"errors"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// threadIOPriority reads the calling thread's IO priority (ioprio_get(2)).
func threadIOPriority() (IOPriority, error) {
	r, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
	if e != 0 {
		return IOPriority{}, e
	}
	return IOPriority{Class: IOClass(r >> 13), Level: uint8(r & 7)}, nil
}

func TestThreadIOPriority(t *testing.T) {
	want := IOPriority{IOClassBestEffort, 5}
	type result struct {
		got IOPriority
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with this goroutine
		if err := setThreadIOPriority(want); err != nil {
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

func TestApplyThreadIOPriorityFallsBack(t *testing.T) {
	type result struct {
		p   IOPriority
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with this goroutine
		ApplyThreadIOPriority(JournalIOPriority, "test", nil)
		p, err := threadIOPriority()
		res <- result{p, err}
	}()
	r := <-res
	if r.err != nil {
		t.Skipf("ioprio_get unavailable: %v", r.err)
	}
	// Realtime when privileged, else the best-effort/0 fallback.
	if r.p != JournalIOPriority && r.p != (IOPriority{IOClassBestEffort, 0}) {
		t.Errorf("journal thread priority %v", r.p)
	}
}

func TestIOPriorityEncoding(t *testing.T) {
	for _, c := range []struct {
		p     IOPriority
		value int
		s     string
	}{
		{JournalIOPriority, 1 << 13, "realtime/0"},
		{IOPriority{IOClassBestEffort, 5}, 2<<13 | 5, "best-effort/5"},
		{IOPriority{IOClassIdle, 0}, 3 << 13, "idle/0"},
	} {
		if v, s := c.p.value(), c.p.String(); v != c.value || s != c.s {
			t.Errorf("%+v: value %#x %q, want %#x %q", c.p, v, s, c.value, c.s)
		}
	}
}
