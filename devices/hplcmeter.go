package devices

// The client the hplc driver runs on: DL/T 645-2007 reads and writes of a
// meter, relayed by the HPLC module (Q/GDW 1376.2 AFN 13 F1).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"holdup/hplc"
	"holdup/hplc/dlt645"
)

// hplcMeterClient is HPLCClient on the HPLC module driver.
type hplcMeterClient struct {
	m        *hplc.Module
	password dlt645.Password
	operator dlt645.Operator
}

// NewHPLCMeterClient returns the HPLCClient of the meters behind module m
// (whose Run must be running): DL/T 645-2007 reads (C=11) and writes
// (C=14) relayed to the meter with AFN 13 F1. A write carries pw and op
// (the device's password and operator code). Reinit resets and
// re-initialises the module.
//
// A node is the meter's 6-byte address as written on it (highest byte
// first), an item the 4-byte data identifier (DI3 first). Read returns the
// first value of the item, with the answer frame's byte sum as checksum;
// a value the meter marks absent (FF) is Value.Null. Write encodes v in
// the item's format and refuses with ErrBadValue, before anything is
// sent, a value the format cannot hold, an item that is not writable, and
// a node or item of the wrong length. Every error names its exchange
// outcome: ErrNoData when the module or the meter answered and refused
// (errors.Is(err, dlt645.ErrCodeAuth) for a wrong password; errors.As
// recovers the *dlt645.ExceptionError or *hplc.DenyError), ErrTimeout,
// ErrChecksumMismatch for a corrupt answer, ErrLengthMismatch for an
// answer that does not fit the request, ErrNotSent when ctx ended before
// the request went out, ErrLinkDown otherwise (the module driver stopped,
// the port failed).
func NewHPLCMeterClient(m *hplc.Module, pw dlt645.Password, op dlt645.Operator) HPLCClient {
	return &hplcMeterClient{m: m, password: pw, operator: op}
}

// MeterCredentials returns what an hplc device's writes carry: its
// Password parsed (level, then code; the zero password when Password is
// "") and its operator code.
func (d Device) MeterCredentials() (dlt645.Password, dlt645.Operator, error) {
	if d.Password == "" {
		return dlt645.Password{}, dlt645.Operator(d.Operator), nil
	}
	pw, err := dlt645.ParsePassword(d.Password)
	if err != nil {
		return dlt645.Password{}, 0, err
	}
	return pw, dlt645.Operator(d.Operator), nil
}

// meterAddr checks a node and item and returns the meter's wire address
// and data identifier.
func meterAddr(what string, node, item []byte) (dlt645.Address, dlt645.DI, error) {
	var addr dlt645.Address
	if len(node) != 6 || len(item) != 4 {
		return addr, 0, fmt.Errorf("%w: devices: hplc %s: node %X / item %X: want 6 and 4 bytes", ErrBadValue, what, node, item)
	}
	for i := range addr {
		addr[i] = node[5-i] // natural order → wire order
	}
	return addr, dlt645.DI(binary.BigEndian.Uint32(item)), nil
}

// outcomeHPLC names a module error's exchange outcome for the scheduler.
func outcomeHPLC(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		// Called off (the device was gated, or shutdown): not a link fault.
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	case errors.Is(err, hplc.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, hplc.ErrDenied), errors.Is(err, dlt645.ErrException):
		// The module or the meter answered and refused.
		return fmt.Errorf("%w: %w", ErrNoData, err)
	}
	if errors.Is(err, hplc.ErrUnexpected) {
		// An answer that does not fit the request (not a write answer,
		// another meter's): framing, not a corrupt frame.
		return fmt.Errorf("%w: %w", ErrLengthMismatch, err)
	}
	var fe *dlt645.FrameError
	var me *hplc.FrameError
	if errors.As(err, &fe) || errors.As(err, &me) {
		return fmt.Errorf("%w: %w", ErrChecksumMismatch, err)
	}
	return fmt.Errorf("%w: %w", ErrLinkDown, err)
}

// Read reads item of the meter at node.
func (h *hplcMeterClient) Read(ctx context.Context, node, item []byte) (Value, error) {
	addr, di, err := meterAddr("read", node, item)
	if err != nil {
		return Value{}, err
	}
	req := dlt645.NewRead(addr, di)
	frame, err := req.Encode()
	if err != nil {
		return Value{}, fmt.Errorf("%w: devices: hplc read %s from meter %s: %w", ErrBadValue, di, addr, err)
	}
	if err := ctx.Err(); err != nil {
		return Value{}, fmt.Errorf("%w: devices: hplc read %s from meter %s: %w", ErrNotSent, di, addr, err)
	}
	ans, err := h.m.MonitorNode(ctx, hplc.Addr(addr), frame)
	if err != nil {
		return Value{}, outcomeHPLC(err)
	}
	f, n, err := dlt645.Decode(ans)
	if err != nil {
		return Value{}, fmt.Errorf("%w: devices: meter %s answer: %w", ErrChecksumMismatch, addr, err)
	}
	if f.Addr != addr {
		return Value{}, fmt.Errorf("%w: devices: meter %s: the answer to a read of %s comes from meter %s", ErrLengthMismatch, addr, di, f.Addr)
	}
	gotDI, data, err := f.ReadResponse()
	switch {
	case errors.Is(err, dlt645.ErrException):
		return Value{}, fmt.Errorf("%w: devices: meter %s: %w", ErrNoData, addr, err)
	case err != nil:
		return Value{}, fmt.Errorf("%w: devices: meter %s: answer to a read of %s: %w", ErrLengthMismatch, addr, di, err)
	case gotDI != di:
		return Value{}, fmt.Errorf("%w: devices: meter %s answered item %s to a read of %s", ErrLengthMismatch, addr, gotDI, di)
	}
	vals, ok, err := dlt645.DecodeValues(di, data)
	if err != nil || !ok || len(vals) == 0 {
		return Value{}, fmt.Errorf("%w: devices: meter %s item %s: undecodable value % X (%v)", ErrLengthMismatch, addr, di, data, err)
	}
	if !vals[0].Valid {
		return Value{Null: true}, nil
	}
	// The byte sum is the frame's second-last byte.
	return Value{Value: vals[0].Float64(), Raw: data, Checksum: uint32(ans[n-2])}, nil
}

// Write writes v (already in the item's units) to item of the meter at
// node: the value is encoded and range-checked against the item's format
// first, so a value the meter could not take is refused before anything is
// sent.
func (h *hplcMeterClient) Write(ctx context.Context, node, item []byte, v float64) error {
	addr, di, err := meterAddr("write", node, item)
	if err != nil {
		return err
	}
	data, err := dlt645.EncodeValue(di, v)
	if err != nil {
		return fmt.Errorf("%w: devices: hplc write to meter %s: %w", ErrBadValue, addr, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: devices: hplc write %s to meter %s: %w", ErrNotSent, di, addr, err)
	}
	err = h.m.WriteMeter(ctx, hplc.Addr(addr), dlt645.WriteRequest{DI: di, Password: h.password, Operator: h.operator, Data: data})
	if err != nil {
		return outcomeHPLC(err)
	}
	return nil
}

// Reinit resets and re-initialises the module.
func (h *hplcMeterClient) Reinit(ctx context.Context) error { return h.m.Reinit(ctx) }
