package sched

import (
	"time"

	"golang.org/x/sys/unix"
)

// blockFor blocks the calling thread in the kernel for d, as a read on a
// serial port does (go.bug.st/serial reads with blocking system calls, not
// through Go's poller): the runtime hands the thread's P to other
// goroutines meanwhile, and the wake-up is the kernel's high-resolution
// timer's, not the Go timer wheel's.
func blockFor(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
