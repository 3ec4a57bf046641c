package hplc

import "fmt"

// Confirm is AFN 00 F1: the command was accepted. Status is the 32-bit
// command-status word (D0 = command processed, D1..D31 = channel n idle);
// Wait is the time in seconds the sender should wait before the next step.
// A concentrator confirms AFN 06 reports with the same data unit.
type Confirm struct {
	Status uint32 `json:"status"`
	Wait   uint16 `json:"wait_s"`
}

// AFNFn implements Payload.
func (Confirm) AFNFn() (uint8, uint16) { return AFNConfirm, 1 }

// AppendTo implements Payload.
func (p Confirm) AppendTo(dst []byte) ([]byte, error) {
	dst = append(dst, byte(p.Status), byte(p.Status>>8), byte(p.Status>>16), byte(p.Status>>24))
	return appendU16(dst, p.Wait), nil
}

func decodeConfirm(r *rd) Confirm {
	lo, hi := r.u16("status"), r.u16("status")
	return Confirm{Status: uint32(lo) | uint32(hi)<<16, Wait: r.u16("wait time")}
}

// Deny is AFN 00 F2: the command was refused for Reason.
type Deny struct {
	Reason DenyReason `json:"reason"`
}

// AFNFn implements Payload.
func (Deny) AFNFn() (uint8, uint16) { return AFNConfirm, 2 }

// AppendTo implements Payload.
func (p Deny) AppendTo(dst []byte) ([]byte, error) { return append(dst, byte(p.Reason)), nil }

// DenyReason is the error status of AFN 00 F2.
type DenyReason uint8

// Deny reasons.
const (
	DenyTimeout        DenyReason = 0
	DenyInvalidData    DenyReason = 1
	DenyLength         DenyReason = 2
	DenyChecksum       DenyReason = 3
	DenyNoSuchInfo     DenyReason = 4
	DenyFormat         DenyReason = 5
	DenyDuplicateMeter DenyReason = 6
	DenyNoSuchMeter    DenyReason = 7
	DenyMeterNoAnswer  DenyReason = 8
	DenyMasterBusy     DenyReason = 9
	DenyUnsupported    DenyReason = 10
	DenyNodeNoAnswer   DenyReason = 11
	DenyNodeNotInNet   DenyReason = 12
	DenyTooConcurrent  DenyReason = 109 // HPLC extension: too many concurrent requests
	DenyTooManyFrames  DenyReason = 110 // HPLC extension: too many meter frames in one request
	DenyReadingMeter   DenyReason = 111 // HPLC extension: the meter is being read
	DenyOther          DenyReason = 0xFF
)

var denyNames = map[DenyReason]string{
	DenyTimeout: "communication timeout", DenyInvalidData: "invalid data unit", DenyLength: "length error",
	DenyChecksum: "checksum error", DenyNoSuchInfo: "information class does not exist", DenyFormat: "format error",
	DenyDuplicateMeter: "duplicate meter number", DenyNoSuchMeter: "meter number does not exist",
	DenyMeterNoAnswer: "meter application layer did not answer", DenyMasterBusy: "master node busy",
	DenyUnsupported: "master node does not support this command", DenyNodeNoAnswer: "node did not answer",
	DenyNodeNotInNet: "node not in network", DenyTooConcurrent: "too many concurrent requests",
	DenyTooManyFrames: "too many meter frames in one request", DenyReadingMeter: "meter is being read",
	DenyOther: "other error",
}

// String formats the value for logs and JSON.
func (d DenyReason) String() string {
	if s, ok := denyNames[d]; ok {
		return fmt.Sprintf("%s (%d)", s, uint8(d))
	}
	return fmt.Sprintf("reason %d", uint8(d))
}

// MarshalText implements encoding.TextMarshaler.
func (d DenyReason) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
