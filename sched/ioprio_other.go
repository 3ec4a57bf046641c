//go:build !linux

package sched

import "errors"

// errPriorityUnsupported: the platform has no per-thread ioprio_set or
// setpriority.
var errPriorityUnsupported = errors.New("per-thread IO and CPU priority not supported on this platform")

func ioprioSet(IOPriority) error { return errPriorityUnsupported }

func niceSet(int) error { return errPriorityUnsupported }
