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
	// ErrUnknownItem means the data identifier is not in the item table.
	ErrUnknownItem = errors.New("unknown data identifier")
	// ErrNotWritable means the item is read-only (or a block) and cannot be
	// written with write-data (C=14).
	ErrNotWritable = errors.New("item is not writable")
	// ErrRange means a value is outside what the item accepts: above its
	// maximum, finer than its decimals, or not a valid date or time.
	ErrRange = errors.New("value out of range")
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
// It matches ErrException and, with errors.Is, every ErrorCode flag set in
// Code: errors.Is(err, ErrCodeAuth) is true for a password error.
type ExceptionError struct {
	// Code is the error byte; Code.Reasons names its flags.
	Code ErrorCode
	// Func is the function the meter refused (FuncRead, FuncWrite, …).
	Func uint8
	// Addr is the address the answering meter put in its frame.
	Addr Address
}

// Error describes the failure. Callers add the meter address and item.
func (e *ExceptionError) Error() string {
	return fmt.Sprintf("dlt645: meter %s exception: %s", FuncName(e.Func), e.Code)
}

// Is reports whether target is ErrException or an ErrorCode whose bits are
// all set in e.Code.
func (e *ExceptionError) Is(target error) bool {
	if c, ok := target.(ErrorCode); ok {
		return e.Code.Has(c)
	}
	return target == ErrException
}
