package dlt645

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by *FrameError; branch on them with errors.Is.
var (
	// ErrShort means the input ends before the frame does.
	ErrShort = errors.New("frame truncated")
	// ErrStart means a start byte (0x68) is missing.
	ErrStart = errors.New("start byte is not 0x68")
	// ErrEnd means the end byte is not 0x16.
	ErrEnd = errors.New("end byte is not 0x16")
	// ErrChecksum means the byte-sum checksum does not match.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrLength means a length field or data length is out of range.
	ErrLength = errors.New("length out of range")
	// ErrBCD means a byte that must be BCD is not.
	ErrBCD = errors.New("invalid BCD digit")
	// ErrFunction means the control code does not carry the expected service.
	ErrFunction = errors.New("unexpected function code")
	// ErrException is matched by *ExceptionError: the meter answered with an
	// abnormal (exception) response.
	ErrException = errors.New("meter exception response")
)

// FrameError reports a malformed frame: which field, at which byte offset
// (counted from the first byte handed to the decoder, preambles included).
type FrameError struct {
	Offset int
	Field  string
	Err    error
}

// Error describes the failure.
func (e *FrameError) Error() string {
	return fmt.Sprintf("dlt645: %s at byte %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the underlying sentinel.
func (e *FrameError) Unwrap() error { return e.Err }

func frameErr(off int, field string, err error) error {
	return &FrameError{Offset: off, Field: field, Err: err}
}

// ExceptionError is the error carried by an exception (abnormal) response.
type ExceptionError struct {
	Code ErrorCode
}

// Error describes the failure.
func (e *ExceptionError) Error() string {
	return fmt.Sprintf("dlt645: meter exception: %s", e.Code)
}

// Is reports whether target is ErrException.
func (e *ExceptionError) Is(target error) bool { return target == ErrException }
