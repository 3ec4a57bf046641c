//go:build !linux

package sched

func setThreadIOPriority(IOPriority) error { return ErrIOPriorityUnsupported }

func threadIOPriority() (IOPriority, error) { return IOPriority{}, ErrIOPriorityUnsupported }
