package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// mbapLen is the Modbus TCP header: transaction, protocol, length, unit.
const mbapLen = 7

// Dialer opens a TCP connection; *net.Dialer satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// TCPTransport implements goburrow's modbus.Transporter over one TCP
// connection, classifying each failure like RTUTransport does. A broken
// connection is re-dialled by the next exchange; a failed dial is
// ErrLinkDown.
type TCPTransport struct {
	xmu     sync.Mutex // one exchange at a time
	mu      sync.Mutex
	ctx     context.Context
	addr    string
	dialer  Dialer
	timeout time.Duration
	conn    net.Conn
	buf     [mbapLen + 253]byte
}

// NewTCPTransport returns a transport to addr (host:port).
func NewTCPTransport(addr string, dialer Dialer, timeout time.Duration) *TCPTransport {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	return &TCPTransport{addr: addr, dialer: dialer, timeout: timeout}
}

// Send writes one request ADU and returns the verified answer ADU.
func (t *TCPTransport) Send(req []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(req) < mbapLen+1 {
		return nil, fmt.Errorf("devices: tcp: request of %d bytes too short", len(req))
	}
	if t.ctx != nil && t.ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, t.ctx.Err())
	}
	if t.conn == nil {
		ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
		c, err := t.dialer.DialContext(ctx, "tcp", t.addr)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: dial %s: %v", ErrLinkDown, t.addr, err)
		}
		t.conn = c
	}
	if err := t.conn.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		return nil, t.fail("set deadline", err)
	}
	if _, err := t.conn.Write(req); err != nil {
		return nil, t.fail("write", err)
	}
	if _, err := io.ReadFull(t.conn, t.buf[:mbapLen]); err != nil {
		return nil, t.fail("read header", err)
	}
	length := int(binary.BigEndian.Uint16(t.buf[4:6]))
	if length < 2 || mbapLen-1+length > len(t.buf) {
		t.drop()
		return nil, fmt.Errorf("%w: header length %d out of range 2..%d at byte 4", ErrLengthMismatch, length, len(t.buf)-mbapLen+1)
	}
	n := mbapLen - 1 + length
	if _, err := io.ReadFull(t.conn, t.buf[mbapLen:n]); err != nil {
		return nil, t.fail("read body", err)
	}
	frame := t.buf[:n]
	if err := checkTCPFrame(frame, req); err != nil {
		t.drop() // the stream is out of step; start afresh
		return nil, err
	}
	out := make([]byte, n)
	copy(out, frame)
	return out, nil
}

// checkTCPFrame verifies an answer ADU against its request ADU.
func checkTCPFrame(frame, req []byte) error {
	if got, want := binary.BigEndian.Uint16(frame[0:2]), binary.BigEndian.Uint16(req[0:2]); got != want {
		return fmt.Errorf("%w: transaction id %d, want %d at byte 0", ErrLengthMismatch, got, want)
	}
	if p := binary.BigEndian.Uint16(frame[2:4]); p != 0 {
		return fmt.Errorf("%w: protocol id %d, want 0 at byte 2", ErrLengthMismatch, p)
	}
	if frame[6] != req[6] {
		return fmt.Errorf("%w: unit %d, want %d at byte 6", ErrLengthMismatch, frame[6], req[6])
	}
	fc := req[mbapLen]
	pduLen := len(frame) - mbapLen
	if frame[mbapLen] == fc|0x80 {
		if pduLen != exceptionPDULen {
			return fmt.Errorf("%w: exception of %d bytes, want %d", ErrLengthMismatch, pduLen, exceptionPDULen)
		}
		return nil
	}
	if frame[mbapLen] != fc {
		return fmt.Errorf("%w: function %d, want %d at byte 7", ErrLengthMismatch, frame[mbapLen], fc)
	}
	if want := responsePDULen(req[mbapLen:]); want > 0 && pduLen != want {
		return fmt.Errorf("%w: answer PDU of %d bytes, want %d", ErrLengthMismatch, pduLen, want)
	}
	return nil
}

func (t *TCPTransport) fail(op string, err error) error {
	t.drop()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %s: %v", ErrTimeout, op, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: connection closed mid-frame", ErrLengthMismatch, op)
	}
	return fmt.Errorf("%w: %s: %v", ErrLinkDown, op, err)
}

func (t *TCPTransport) drop() {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
}

// exchange runs fn (a goburrow client call) as the only exchange on the
// connection; Modbus TCP carries no checksum, so the CRC is 0.
func (t *TCPTransport) exchange(ctx context.Context, timeout time.Duration, fn func() ([]byte, error)) ([]byte, uint32, error) {
	t.xmu.Lock()
	defer t.xmu.Unlock()
	t.mu.Lock()
	t.ctx, t.timeout = ctx, timeout
	t.mu.Unlock()
	res, err := fn()
	t.mu.Lock()
	t.ctx = nil
	t.mu.Unlock()
	return res, 0, err
}

// Reinit drops the connection; the next exchange dials afresh.
func (t *TCPTransport) Reinit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drop()
	return nil
}

// Close drops the connection.
func (t *TCPTransport) Close() error { return t.Reinit() }
