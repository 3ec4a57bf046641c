package hplc

import (
	"context"
	"errors"
	"fmt"

	"holdup/hplc/dlt645"
)

// WriteMeter sets one item of the DL/T 645-2007 meter at addr: it sends a
// write-data request (C=14) built from w through AFN 13 F1 and checks the
// meter's answer. It returns
//   - nil when the meter answers C=94: the value is written;
//   - a *dlt645.ExceptionError when it answers C=D4: errors.Is(err,
//     dlt645.ErrCodeAuth) for a wrong password or a read-only item,
//     dlt645.ErrCodeNoData for an item the meter does not have, and so on
//     for each flag of the error byte;
//   - a *DenyError, ErrTimeout or the context's error when the module or
//     the carrier network fails, as MonitorNode does;
//   - a *dlt645.FrameError when the answer is corrupt, and ErrUnexpected
//     when it is not a write answer from addr.
//
// Every error names the item and the meter. The write is sent once and not
// repeated on a timeout: the meter may have applied it and logged a
// programming event.
func (m *Module) WriteMeter(ctx context.Context, addr Addr, w dlt645.WriteRequest) error {
	wrap := func(err error) error { return fmt.Errorf("hplc: write %s to meter %s: %w", w.DI, addr, err) }
	req, err := dlt645.NewWrite(dlt645.Address(addr), w.DI, w.Password, w.Operator, w.Data)
	var b []byte
	if err == nil {
		b, err = req.Encode()
	}
	if err != nil {
		return wrap(err)
	}
	ans, err := m.relay(ctx, addr, ProtoDLT645_2007, b)
	if err != nil {
		return wrap(err)
	}
	f, _, err := dlt645.Decode(ans)
	if err != nil {
		return wrap(fmt.Errorf("answer % X: %w", ans, err))
	}
	if f.Addr != dlt645.Address(addr) {
		return wrap(fmt.Errorf("answer % X comes from meter %s: %w", ans, f.Addr, ErrUnexpected))
	}
	if err := f.WriteResponse(); err != nil {
		var ee *dlt645.ExceptionError
		if errors.As(err, &ee) {
			return wrap(err)
		}
		return wrap(fmt.Errorf("answer % X: %w: %w", ans, ErrUnexpected, err))
	}
	return nil
}
