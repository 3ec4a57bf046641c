package sched

import (
	"fmt"
	"time"
)

// AlarmReason says why an interface's IO path was closed.
type AlarmReason uint8

// Alarm reasons.
const (
	// AlarmErrorRate: the error-rate watch reached its threshold.
	AlarmErrorRate AlarmReason = iota
	// AlarmLinkDown: the interface could not send or receive.
	AlarmLinkDown
	// AlarmReinitFailed: re-initialising the interface failed.
	AlarmReinitFailed
	// AlarmDeviceSilent: one device failed while others on its interface
	// answered; that device alone was silenced, the path stays open.
	AlarmDeviceSilent
)

// String names the reason.
func (r AlarmReason) String() string {
	switch r {
	case AlarmErrorRate:
		return "error-rate"
	case AlarmLinkDown:
		return "link-down"
	case AlarmDeviceSilent:
		return "device-silent"
	}
	return "reinit-failed"
}

// Alarm reports that an interface's IO path was closed, or that one device
// on it was silenced (Device set).
type Alarm struct {
	Interface string
	Device    string // AlarmDeviceSilent: the device
	Reason    AlarmReason
	// Errors of the last Window exchanges counted against the interface.
	Errors, Window int
	// Last is the outcome that closed the path, Err its error.
	Last Outcome
	Err  error
	Time time.Time
}

// String renders the alarm for logs and the console.
func (a Alarm) String() string {
	if a.Device != "" {
		return fmt.Sprintf("sched: device %q on %q silenced (%s): %d of last %d exchanges failed, all its own, last %s: %v",
			a.Device, a.Interface, a.Reason, a.Errors, a.Window, a.Last, a.Err)
	}
	return fmt.Sprintf("sched: interface %q closed (%s): %d of last %d exchanges failed, last %s: %v",
		a.Interface, a.Reason, a.Errors, a.Window, a.Last, a.Err)
}
