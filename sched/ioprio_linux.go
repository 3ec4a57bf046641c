//go:build linux

package sched

import "golang.org/x/sys/unix"

// ioprioWhoProcess with who = 0 addresses the calling thread: Linux keeps
// IO priority per task (thread).
const ioprioWhoProcess = 1

// value encodes the priority as ioprio_set takes it.
func (p IOPriority) value() int { return int(p.Class)<<13 | int(p.Level&7) }

func ioprioSet(p IOPriority) error {
	_, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(p.value()))
	if e != 0 {
		return e
	}
	return nil
}

// niceSet sets the calling thread's nice value: on Linux setpriority(2)
// with PRIO_PROCESS and a thread id addresses that thread alone.
func niceSet(n int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), n)
}
