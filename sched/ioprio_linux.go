//go:build linux

package sched

import "golang.org/x/sys/unix"

// ioprioWhoProcess with who = 0 addresses the calling thread: Linux keeps
// IO priority per task (thread).
const ioprioWhoProcess = 1

func setThreadIOPriority(p IOPriority) error {
	_, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(p.value()))
	if e != 0 {
		return e
	}
	return nil
}

func threadIOPriority() (IOPriority, error) {
	r, _, e := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
	if e != 0 {
		return IOPriority{}, e
	}
	return IOPriority{Class: IOClass(r >> 13), Level: uint8(r & 7)}, nil
}
