package dlt645

import "fmt"

// NewRead builds a master → meter read-data request (C=11) for di.
func NewRead(addr Address, di DI) Frame {
	f := Frame{Addr: addr, C: FuncRead, Data: make([]byte, 4)}
	putDI(f.Data, di)
	return f
}

// NewReadResponse builds a normal read response (C=91) carrying di and the
// item's value bytes as they appear in the data field (low byte first).
func NewReadResponse(addr Address, di DI, value []byte) Frame {
	f := Frame{Addr: addr, C: CtrlResponse | FuncRead, Data: make([]byte, 4, 4+len(value))}
	putDI(f.Data, di)
	f.Data = append(f.Data, value...)
	return f
}

// NewException builds an exception response (C = 0xC0 | fn) with one error byte.
func NewException(addr Address, fn uint8, code ErrorCode) Frame {
	return Frame{Addr: addr, C: CtrlResponse | CtrlAbnormal | Control(fn&0x1F), Data: []byte{byte(code)}}
}

// NewReadAddress builds the broadcast read-address request (C=13, address
// AAAAAAAAAAAA, no data): the single meter on a point-to-point link answers
// with its address.
func NewReadAddress() Frame {
	return Frame{Addr: WildcardAddress, C: FuncReadAddress}
}

// NewReadAddressResponse builds the answer to NewReadAddress (C=93).
func NewReadAddressResponse(addr Address) Frame {
	return Frame{Addr: addr, C: CtrlResponse | FuncReadAddress, Data: append([]byte(nil), addr[:]...)}
}

func (f *Frame) exceptionError(code ErrorCode) *ExceptionError {
	return &ExceptionError{Code: code, Func: f.C.Func(), Addr: f.Addr}
}

// Exception returns the error code of an exception response; ok is false
// when f is not one.
func (f *Frame) Exception() (code ErrorCode, ok bool) {
	if !f.C.Response() || !f.C.Abnormal() || len(f.Data) < 1 {
		return 0, false
	}
	return ErrorCode(f.Data[0]), true
}

// ReadRequest returns the DI of a read request (C=11). Bytes after the DI
// (block count, start time of a load-profile read) are returned as extra.
func (f *Frame) ReadRequest() (di DI, extra []byte, err error) {
	if f.C.Response() || f.C.Func() != FuncRead {
		return 0, nil, frameErr(f.Preamble+8, "control", fmt.Errorf("C=%02X is not a read request: %w", byte(f.C), ErrFunction))
	}
	if len(f.Data) < 4 {
		return 0, nil, frameErr(f.Preamble+9, "length", fmt.Errorf("read request needs a 4-byte DI, L=%d: %w", len(f.Data), ErrLength))
	}
	return getDI(f.Data), f.Data[4:], nil
}

// ReadResponse returns the DI and value bytes of a read response (C=91 or
// C=B1 with follow-up). An exception response returns *ExceptionError.
func (f *Frame) ReadResponse() (DI, []byte, error) {
	if !f.C.Response() || (f.C.Func() != FuncRead && f.C.Func() != FuncReadFollow) {
		return 0, nil, frameErr(f.Preamble+8, "control", fmt.Errorf("C=%02X is not a read response: %w", byte(f.C), ErrFunction))
	}
	if code, ok := f.Exception(); ok {
		return 0, nil, f.exceptionError(code)
	}
	if f.C.Abnormal() {
		return 0, nil, frameErr(f.Preamble+9, "length", fmt.Errorf("exception response without error byte: %w", ErrLength))
	}
	if len(f.Data) < 4 {
		return 0, nil, frameErr(f.Preamble+9, "length", fmt.Errorf("read response needs a 4-byte DI, L=%d: %w", len(f.Data), ErrLength))
	}
	return getDI(f.Data), f.Data[4:], nil
}

// ReadAddressResponse returns the address carried by a read-address
// response (C=93).
func (f *Frame) ReadAddressResponse() (Address, error) {
	var a Address
	if !f.C.Response() || f.C.Func() != FuncReadAddress {
		return a, frameErr(f.Preamble+8, "control", fmt.Errorf("C=%02X is not a read-address response: %w", byte(f.C), ErrFunction))
	}
	if code, ok := f.Exception(); ok {
		return a, f.exceptionError(code)
	}
	if len(f.Data) != 6 {
		return a, frameErr(f.Preamble+9, "length", fmt.Errorf("read-address response needs 6 data bytes, L=%d: %w", len(f.Data), ErrLength))
	}
	copy(a[:], f.Data)
	return a, nil
}
