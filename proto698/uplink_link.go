package proto698

import (
	"fmt"
	"net"
	"time"
)

// readLink deframes conn and hands decoded APDUs to the session until the
// connection fails or done closes.
func (u *Uplink) readLink(conn net.Conn, in chan<- inbound, done <-chan struct{}) {
	var d Deframer
	buf := make([]byte, 1024)
	deliver := func(m inbound) bool {
		select {
		case in <- m:
			return true
		case <-done:
			return false
		}
	}
	for {
		n, err := conn.Read(buf)
		d.Write(buf[:n])
		for {
			raw, skipped, ok := d.Next()
			if !ok {
				break
			}
			if skipped > 0 {
				u.log.Warn("proto698: uplink: skipped garbage", "bytes", skipped)
			}
			f, _, ferr := DecodeFrame(raw)
			if ferr != nil || f.Control.FromServer() || f.Control.Fragmented() {
				continue // not a master→terminal frame we handle
			}
			a, aerr := DecodeAPDU(f.Data)
			if aerr != nil {
				u.log.Warn("proto698: uplink: bad APDU from master", "err", aerr)
				continue
			}
			if !deliver(inbound{apdu: a, sa: f.Addr, ca: f.Client}) {
				return
			}
		}
		if err != nil {
			deliver(inbound{err: fmt.Errorf("proto698: uplink: read: %w", err)})
			return
		}
	}
}

func (u *Uplink) write(conn net.Conn, fn Function, a APDU) error {
	apdu, err := EncodeAPDU(a)
	if err != nil {
		return err
	}
	b, err := AppendFrame(nil, &Frame{Control: NewControl(true, false, false, false, fn), Addr: u.cfg.Addr, Client: u.cfg.Client, Data: apdu})
	if err != nil {
		return err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(u.cfg.ResponseTimeout))
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("proto698: uplink: write %s: %w", a.Service(), err)
	}
	return nil
}
