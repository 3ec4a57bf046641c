//go:build !linux

package sched

import "errors"

// errIOPriorityUnsupported: the platform has no ioprio_set.
var errIOPriorityUnsupported = errors.New("IO priority not supported on this platform")

func ioprioSet(IOPriority) error { return errIOPriorityUnsupported }
