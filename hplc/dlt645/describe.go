package dlt645

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Description is the JSON-friendly view of one frame returned by Describe.
type Description struct {
	Protocol string         `json:"protocol"`
	Preamble int            `json:"preamble"`
	Address  Address        `json:"address"`
	Control  ControlDesc    `json:"control"`
	Length   int            `json:"length"`
	Data     string         `json:"data"`
	Checksum string         `json:"checksum"`
	Service  string         `json:"service"`
	DI       *DI            `json:"di,omitempty"`
	Item     string         `json:"item,omitempty"`
	Values   []ValueDesc    `json:"values,omitempty"`
	Raw      string         `json:"raw_value,omitempty"`
	Error    *ExceptionDesc `json:"exception,omitempty"`
	Extra    string         `json:"extra,omitempty"`
	Meter    *Address       `json:"meter_address,omitempty"`
	// Password is the privilege level of a write's password. The password
	// is not repeated here; only Data, the field's bytes, holds it.
	Password string    `json:"password_level,omitempty"`
	Operator *Operator `json:"operator,omitempty"`
}

// ControlDesc breaks the control code into its bits.
type ControlDesc struct {
	Raw       string `json:"raw"`
	Direction string `json:"direction"`
	Abnormal  bool   `json:"abnormal"`
	Follow    bool   `json:"follow"`
	Function  string `json:"function"`
	Code      string `json:"code"`
}

// ValueDesc is one decoded value.
type ValueDesc struct {
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Valid bool   `json:"valid"`
}

// ExceptionDesc is the error byte of an exception response.
type ExceptionDesc struct {
	Code    string   `json:"code"`
	Reasons []string `json:"reasons"`
}

// Describe decodes one whole frame (optional FE preambles, nothing after
// the 0x16) into a Description for `holdup frame decode -proto 645`. A bad
// frame returns a *FrameError naming the field and byte offset.
func Describe(frame []byte) (any, error) {
	f, n, err := Decode(frame)
	if err != nil {
		return nil, err
	}
	if n != len(frame) {
		return nil, frameErr(n, "trailing", fmt.Errorf("%d bytes after the end byte: %w", len(frame)-n, ErrLength))
	}
	d := &Description{
		Protocol: "DL/T 645-2007",
		Preamble: f.Preamble,
		Address:  f.Addr,
		Length:   len(f.Data),
		Data:     fmt.Sprintf("%X", f.Data),
		Checksum: fmt.Sprintf("%02X", frame[n-2]),
		Control: ControlDesc{
			Raw: fmt.Sprintf("%02X", byte(f.C)), Direction: "master to meter",
			Abnormal: f.C.Abnormal(), Follow: f.C.Follow(),
			Function: FuncName(f.C.Func()), Code: fmt.Sprintf("%02X", f.C.Func()),
		},
	}
	if f.C.Response() {
		d.Control.Direction = "meter to master"
	}
	if code, ok := f.Exception(); ok {
		d.Service = FuncName(f.C.Func()) + "-exception"
		d.Error = &ExceptionDesc{Code: fmt.Sprintf("%02X", byte(code)), Reasons: code.Reasons()}
		return d, nil
	}
	switch {
	case f.C.Func() == FuncRead && !f.C.Response():
		d.Service = "read-request"
		di, extra, err := f.ReadRequest()
		if err != nil {
			return nil, err
		}
		d.DI = &di
		if it, ok := LookupItem(di); ok {
			d.Item = it.Name
		}
		if len(extra) > 0 {
			d.Extra = hex.EncodeToString(extra)
		}
	case (f.C.Func() == FuncRead || f.C.Func() == FuncReadFollow) && f.C.Response():
		d.Service = "read-response"
		di, val, err := f.ReadResponse()
		if err != nil {
			return nil, err
		}
		d.DI = &di
		if err := d.describeValues(di, val, f.Preamble+HeaderLen+4); err != nil {
			return nil, err
		}
	case f.C.Func() == FuncWrite && !f.C.Response():
		d.Service = "write-request"
		w, err := f.WriteRequest()
		if err != nil {
			return nil, err
		}
		d.DI, d.Operator = &w.DI, &w.Operator
		d.Password = fmt.Sprintf("%02X", w.Password.Level)
		if err := d.describeValues(w.DI, w.Data, f.Preamble+HeaderLen+writeHeader); err != nil {
			return nil, err
		}
	case f.C.Func() == FuncWrite && f.C.Response():
		d.Service = "write-response"
		if err := f.WriteResponse(); err != nil {
			return nil, err
		}
	case f.C.Func() == FuncReadAddress && !f.C.Response():
		d.Service = "read-address-request"
		if f.Addr != WildcardAddress {
			d.Service = "read-address-request (not broadcast)"
		}
	case f.C.Func() == FuncReadAddress && f.C.Response():
		d.Service = "read-address-response"
		a, err := f.ReadAddressResponse()
		if err != nil {
			return nil, err
		}
		d.Meter = &a
	default:
		d.Service = FuncName(f.C.Func())
		if f.C.Response() {
			d.Service += "-response"
		}
	}
	return d, nil
}

// describeValues decodes the value bytes of item di found at byte offset
// off, or reports them raw when the item is unknown.
func (d *Description) describeValues(di DI, val []byte, off int) error {
	vals, known, err := DecodeValues(di, val)
	if err != nil {
		var fe *FrameError
		if !errors.As(err, &fe) {
			err = frameErr(off, "value", err)
		}
		return err
	}
	if !known {
		d.Raw = fmt.Sprintf("%X", val)
		return nil
	}
	it, _ := LookupItem(di)
	d.Item = it.Name
	for _, v := range vals {
		d.Values = append(d.Values, ValueDesc{Value: v.String(), Unit: v.Unit, Valid: v.Valid})
	}
	return nil
}
