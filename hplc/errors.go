package hplc

import (
	"errors"
	"fmt"
)

// Sentinel errors; branch on them with errors.Is.
var (
	// ErrShort means the input ends before the frame does.
	ErrShort = errors.New("frame truncated")
	// ErrStart means the start byte is not 0x68.
	ErrStart = errors.New("start byte is not 0x68")
	// ErrEnd means the end byte is not 0x16.
	ErrEnd = errors.New("end byte is not 0x16")
	// ErrChecksum means the byte-sum checksum does not match.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrLength means a length field is out of range or inconsistent.
	ErrLength = errors.New("length out of range")
	// ErrDT means the data-unit identifier does not name exactly one Fn.
	ErrDT = errors.New("invalid data-unit identifier")
	// ErrValue means a field holds a value outside its range.
	ErrValue = errors.New("value out of range")
	// ErrDenied is matched by *DenyError: the module answered AFN 00 F2.
	ErrDenied = errors.New("module denied the command")
	// ErrTimeout means the module did not answer within the step's timeout.
	ErrTimeout = errors.New("no reply from module")
	// ErrUnexpected means the module answered with a frame that does not
	// fit the request.
	ErrUnexpected = errors.New("unexpected reply")
	// ErrClosed means the module driver has stopped.
	ErrClosed = errors.New("module driver stopped")
)

// FrameError reports a malformed frame: which field, at which byte offset
// from the frame's first byte (0x68).
type FrameError struct {
	Offset int
	Field  string
	Err    error
}

// Error describes the failure.
func (e *FrameError) Error() string {
	return fmt.Sprintf("hplc: %s at byte %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the underlying sentinel.
func (e *FrameError) Unwrap() error { return e.Err }

func frameErr(off int, field string, err error) error {
	return &FrameError{Offset: off, Field: field, Err: err}
}

// DenyError is a deny (AFN 00 F2) answer; it matches ErrDenied.
type DenyError struct {
	Reason DenyReason
}

// Error describes the failure.
func (e *DenyError) Error() string { return "hplc: module denied: " + e.Reason.String() }

// Is reports whether target is ErrDenied.
func (e *DenyError) Is(target error) bool { return target == ErrDenied }

// StepError names the re-initialisation step that failed.
type StepError struct {
	Step string
	Err  error
}

// Error describes the failure.
func (e *StepError) Error() string { return fmt.Sprintf("hplc: reinit step %q: %v", e.Step, e.Err) }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }
