package proto698

// The uplink's link layer: deframing with an inter-byte timeout, and
// application-layer fragmentation on both directions of the TCP link to
// the master station (DL/T 698.45 link user data with the fragment flag,
// every data fragment confirmed by the receiver).

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Link-layer defaults of the uplink.
const (
	// DefaultUplinkByteTimeout is the inter-byte timeout on the TCP link:
	// a partial frame is dropped when no byte of it arrived for this long.
	// A frame the master writes in one go arrives within milliseconds even
	// over a mobile network; half a second also covers a TCP retransmit on
	// a short round trip without letting a stalled header hold the link.
	DefaultUplinkByteTimeout = 500 * time.Millisecond
	// DefaultMaxFrameAPDU is the APDU bytes one frame carries before an
	// APDU goes fragmented, until a CONNECT negotiates another size:
	// 1024, the frame size DL/T 698.45 terminals commonly announce.
	DefaultMaxFrameAPDU = 1024
	// fragmentAttempts is how often one fragment is sent before the link
	// is given up for lack of its confirm.
	fragmentAttempts = 3
)

// byteTimeout is UplinkConfig.ByteTimeout with its default.
func (u *Uplink) byteTimeout() time.Duration {
	if u.cfg.ByteTimeout > 0 {
		return u.cfg.ByteTimeout
	}
	return DefaultUplinkByteTimeout
}

// linkConn is one TCP connection to the master with its link-layer state:
// it fragments what the session writes when the APDU exceeds the frame
// size (Write), and takes the master's confirms of those fragments from
// the reader. The session writes whole frames as before; a fragmented APDU
// goes out on the connection's sender goroutine, one fragment per confirm,
// while the session goes on (frames written meanwhile may go out between
// two fragments: each is complete on its own). A fragment unconfirmed
// after fragmentAttempts sends closes the connection, so the session sees
// the link fail and logs in again.
type linkConn struct {
	net.Conn
	u       *Uplink
	maxAPDU atomic.Int32 // APDU bytes per frame before fragmenting

	wmu      sync.Mutex          // one frame on the wire at a time
	jobs     chan []Frame        // fragmented APDUs waiting for the sender
	confirms chan FragmentHeader // the master's confirms, from the reader
	stop     chan struct{}       // closed by Close
	closed   sync.Once
	sender   sync.WaitGroup
	seq      uint16 // next fragment sequence number; Write's caller only
}

// newLinkConn wraps a fresh connection to the master.
func (u *Uplink) newLinkConn(c net.Conn) *linkConn {
	lc := &linkConn{Conn: c, u: u, jobs: make(chan []Frame, u.cfg.QueueSize), confirms: make(chan FragmentHeader, 4), stop: make(chan struct{})}
	n := u.cfg.MaxFrame
	if n <= 0 {
		n = DefaultMaxFrameAPDU
	}
	lc.maxAPDU.Store(int32(n))
	lc.sender.Add(1)
	go lc.send()
	return lc
}

// setMaxFrame sets the APDU bytes per frame of the session on conn (what a
// CONNECT negotiated); n ≤ 0 is ignored.
func (u *Uplink) setMaxFrame(conn net.Conn, n int) {
	if lc, ok := conn.(*linkConn); ok && n > 0 {
		lc.maxAPDU.Store(int32(min(n, MaxFrameLen)))
	}
}

// Close closes the connection and waits for the sender; it may be called
// more than once.
func (lc *linkConn) Close() error {
	var err error
	lc.closed.Do(func() {
		close(lc.stop)
		err = lc.Conn.Close()
		lc.sender.Wait()
	})
	return err
}

// Write writes one encoded frame b. A frame whose APDU exceeds the frame
// size is queued for the sender as fragments (numbered on from the
// previous fragmented APDU) and Write returns at once.
func (lc *linkConn) Write(b []byte) (int, error) {
	if max := int(lc.maxAPDU.Load()); len(b) > max {
		f, _, err := DecodeFrame(b)
		if err == nil && !f.Control.Fragmented() && len(f.Data) > max {
			frames, err := FragmentFrames(f, max, lc.seq)
			if err != nil {
				return 0, fmt.Errorf("proto698: uplink: fragment %d-byte APDU: %w", len(f.Data), err)
			}
			lc.seq = (lc.seq + uint16(len(frames))) & 0x0FFF
			select {
			case lc.jobs <- frames:
				return len(b), nil
			case <-lc.stop:
				return 0, net.ErrClosed
			default:
				return 0, fmt.Errorf("proto698: uplink: %d fragmented APDUs waiting for confirms: %w", cap(lc.jobs), ErrQueueFull)
			}
		}
	}
	return lc.writeFrame(b)
}

// writeFrame writes one frame, not interleaved with another.
func (lc *linkConn) writeFrame(b []byte) (int, error) {
	lc.wmu.Lock()
	defer lc.wmu.Unlock()
	return lc.Conn.Write(b)
}

// send is the sender goroutine: it writes each queued APDU's fragments,
// each after the master confirmed the one before.
func (lc *linkConn) send() {
	defer lc.sender.Done()
	timeout := lc.u.cfg.ResponseTimeout
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		var frames []Frame
		select {
		case <-lc.stop:
			return
		case frames = <-lc.jobs:
		}
		for i := range frames {
			if !lc.sendFragment(&frames[i], len(frames), t, timeout) {
				return
			}
		}
	}
}

// sendFragment writes fragment f and waits for its confirm, resending it
// on timeout; false when the link is given up (or closed).
func (lc *linkConn) sendFragment(f *Frame, of int, t *time.Timer, timeout time.Duration) bool {
	b, err := AppendFrame(nil, f)
	if err != nil { // the fragment is smaller than the frame it came from
		lc.fail(fmt.Errorf("proto698: uplink: encode fragment %d: %w", f.Frag.Seq, err))
		return false
	}
	for attempt := 1; attempt <= fragmentAttempts; attempt++ {
		_ = lc.Conn.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := lc.writeFrame(b); err != nil {
			lc.fail(fmt.Errorf("proto698: uplink: write fragment %d: %w", f.Frag.Seq, err))
			return false
		}
		t.Reset(timeout)
		for waiting := true; waiting; {
			select {
			case <-lc.stop:
				return false
			case h := <-lc.confirms:
				if h.Seq == f.Frag.Seq {
					if !t.Stop() {
						<-t.C
					}
					return true
				}
				lc.u.log.Debug("proto698: uplink: confirm of another fragment", "seq", h.Seq, "want", f.Frag.Seq)
			case <-t.C:
				waiting = false
				lc.u.log.Warn("proto698: uplink: fragment not confirmed", "seq", f.Frag.Seq, "type", f.Frag.Type, "fragments", of, "attempt", attempt)
			}
		}
	}
	lc.fail(fmt.Errorf("proto698: uplink: fragment %d unconfirmed after %d attempts: %w", f.Frag.Seq, fragmentAttempts, ErrNoAnswer))
	return false
}

// fail gives the link up: closing the connection ends the session's read.
func (lc *linkConn) fail(err error) {
	lc.u.log.Warn("proto698: uplink: dropping the link", "master", lc.u.cfg.Master, "err", err)
	_ = lc.Conn.Close()
}

// confirmed hands the master's confirm of fragment h to the sender; a
// confirm nobody waits for is dropped once the channel is full.
func (lc *linkConn) confirmed(h FragmentHeader) {
	select {
	case lc.confirms <- h:
	default:
		lc.u.log.Debug("proto698: uplink: unexpected fragment confirm", "seq", h.Seq)
	}
}

// readLink deframes conn and hands decoded APDUs to the session until the
// connection fails or done closes. A partial frame is dropped when no byte
// arrived for the inter-byte timeout; fragmented requests are confirmed
// fragment by fragment and handed over reassembled.
func (u *Uplink) readLink(conn net.Conn, in chan<- inbound, done <-chan struct{}) {
	var d Deframer
	var re Reassembler
	lc, _ := conn.(*linkConn)
	buf := make([]byte, 1024)
	byteTimeout := u.byteTimeout()
	deliver := func(m inbound) bool {
		select {
		case in <- m:
			return true
		case <-done:
			return false
		}
	}
	open := true // false once done closed
	handle := func(raw []byte) {
		if !open {
			return
		}
		f, _, ferr := DecodeFrame(raw)
		if ferr != nil || f.Control.FromServer() {
			return // not a master→terminal frame
		}
		data := f.Data
		if f.Control.Fragmented() {
			var ok bool
			if data, ok = u.fragment(lc, &re, &f); !ok {
				return
			}
		}
		a, aerr := DecodeAPDU(data)
		if aerr != nil {
			u.log.Warn("proto698: uplink: bad APDU from master", "err", aerr)
			if !f.Control.PRM() {
				// A malformed answer to a frame of the terminal's (PRM 0):
				// there is no request to answer.
				return
			}
			// A request that does not decode is answered with
			// ERROR-Response, as the standard requires (the frame's own
			// checksums held, so it came from the peer on the link).
			a = undecoded(data, aerr)
		}
		open = deliver(inbound{apdu: a, sa: f.Addr, ca: f.Client})
	}
	armed := false // a read deadline for the partial frame is set
	for open {
		if d.Buffered() > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(byteTimeout))
			armed = true
		} else if armed {
			_ = conn.SetReadDeadline(time.Time{})
			armed = false
		}
		n, err := conn.Read(buf)
		d.Write(buf[:n])
		for open {
			raw, skipped, ok := d.Next()
			if !ok {
				break
			}
			if skipped > 0 {
				u.log.Warn("proto698: uplink: skipped garbage", "bytes", skipped)
			}
			handle(raw)
		}
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() && armed && d.Buffered() > 0 {
			partial := d.Buffered()
			var found [][]byte // frames a false header had swallowed
			dropped := d.Expire(func(raw []byte) { found = append(found, bytes.Clone(raw)) })
			u.log.Warn("proto698: uplink: partial frame dropped after the inter-byte timeout", "buffered", partial, "dropped", dropped, "timeout", byteTimeout)
			for _, raw := range found {
				handle(raw)
			}
			continue
		}
		if open {
			deliver(inbound{err: fmt.Errorf("proto698: uplink: read: %w", err)})
		}
		return
	}
}

// fragment takes one fragment frame f from the master: a confirm goes to
// the sender, a data fragment is confirmed and added to the APDU being
// reassembled. It returns the APDU once complete.
func (u *Uplink) fragment(lc *linkConn, re *Reassembler, f *Frame) ([]byte, bool) {
	if f.Frag.Type == FragConfirm {
		if lc != nil {
			lc.confirmed(f.Frag)
		}
		return nil, false
	}
	if f.Addr.Type == AddrBroadcast || !f.Addr.Matches(u.cfg.Addr) {
		return nil, false // not ours to confirm
	}
	apdu, done, err := re.Add(f.Frag, f.Data)
	if err != nil && !errors.Is(err, ErrRepeatedFragment) {
		u.log.Warn("proto698: uplink: fragment dropped", "err", err)
		return nil, false
	}
	c := ConfirmFrame(*f)
	c.Addr = u.cfg.Addr
	b, cerr := AppendFrame(nil, &c)
	if cerr == nil && lc != nil {
		_ = lc.Conn.SetWriteDeadline(time.Now().Add(u.cfg.ResponseTimeout))
		if _, werr := lc.writeFrame(b); werr != nil {
			u.log.Debug("proto698: uplink: fragment confirm not written", "seq", f.Frag.Seq, "err", werr)
		}
	}
	return apdu, done
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

// netConn returns the connection under the link layer's wrapper (e.g. the
// *tls.Conn a session checks for the master's certificate).
func netConn(conn net.Conn) net.Conn {
	if lc, ok := conn.(*linkConn); ok {
		return lc.Conn
	}
	return conn
}
