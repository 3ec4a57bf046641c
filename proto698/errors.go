package proto698

import (
	"errors"
	"fmt"
)

// Sentinel errors callers can branch on with errors.Is. Decoders wrap them in
// a *FrameError that says which field at which byte offset is wrong.
var (
	// ErrTruncated: the input ends before the field is complete.
	ErrTruncated = errors.New("truncated")
	// ErrStart: the frame does not begin with 0x68 (after optional FE preambles).
	ErrStart = errors.New("start byte is not 0x68")
	// ErrEnd: the frame does not end with 0x16.
	ErrEnd = errors.New("end byte is not 0x16")
	// ErrLength: the length field is inconsistent with the frame layout.
	ErrLength = errors.New("bad length")
	// ErrChecksum: HCS or FCS does not match the CRC-16/X-25 of the covered bytes.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrInvalid: a field holds a value the protocol does not allow.
	ErrInvalid = errors.New("invalid value")
	// ErrUnsupported: the field is valid DL/T 698.45 but this implementation
	// does not decode it (e.g. an APDU or data type outside the supported set).
	ErrUnsupported = errors.New("not supported")
	// ErrTrailing: bytes remain after a complete APDU.
	ErrTrailing = errors.New("trailing bytes")
	// ErrMACNotSupported: MAC verification of a SECURITY APDU was requested;
	// this implementation has no ESAM and cannot verify MACs.
	ErrMACNotSupported = errors.New("MAC verification not supported (no ESAM)")
	// ErrCipherNotSupported: a SECURITY APDU carries ciphertext, which cannot
	// be unwrapped without an ESAM.
	ErrCipherNotSupported = errors.New("ciphertext APDU not supported (no ESAM)")
	// ErrDAR: the peer answered with a data access result other than success.
	ErrDAR = errors.New("data access refused")
	// ErrFragment: a fragment arrived out of sequence or with an unexpected type.
	ErrFragment = errors.New("fragment out of sequence")
)

// FrameError reports which field at which byte offset of a frame or APDU is
// wrong. Offset counts from the first byte handed to the decoder (including
// any FE preamble for frames; from the APDU's first byte for DecodeAPDU).
type FrameError struct {
	Offset int    // byte offset of the offending field
	Field  string // protocol field name, e.g. "HCS", "GET-Response.OAD"
	Err    error  // one of the sentinel errors, possibly wrapped with detail
}

// Error implements error.
func (e *FrameError) Error() string {
	return fmt.Sprintf("proto698: %s at byte %d: %v", e.Field, e.Offset, e.Err)
}

// Unwrap returns the sentinel error for errors.Is.
func (e *FrameError) Unwrap() error { return e.Err }

func ferr(off int, field string, err error) *FrameError {
	return &FrameError{Offset: off, Field: field, Err: err}
}

func ferrf(off int, field string, sentinel error, format string, args ...any) *FrameError {
	return &FrameError{Offset: off, Field: field, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}
