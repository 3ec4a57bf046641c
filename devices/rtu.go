package devices

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SerialPort is the part of a serial port the RTU transport uses. A
// go.bug.st/serial Port satisfies it; tests wrap one to count bytes.
type SerialPort interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// SetReadTimeout bounds the next Read; a Read that times out returns
	// 0, nil.
	SetReadTimeout(t time.Duration) error
	// ResetInputBuffer discards bytes received but not read.
	ResetInputBuffer() error
	Close() error
}

// rtuMaxADU is the largest RTU frame (address + 253-byte PDU + CRC).
const rtuMaxADU = 256

// charTime is the time one character takes on the line: start bit, data
// bits, parity bit and stop bits.
func charTime(baud, dataBits int, parity string, stopBits int) time.Duration {
	if baud <= 0 {
		baud = 9600
	}
	return time.Duration(charBits(dataBits, parity, stopBits)) * time.Second / time.Duration(baud)
}

// charBits is the bits per character: start, data, parity, stop.
func charBits(dataBits int, parity string, stopBits int) int {
	if dataBits == 0 {
		dataBits = 8
	}
	if stopBits == 0 {
		stopBits = 1
	}
	bits := 1 + dataBits + stopBits
	if parity != "N" && parity != "" {
		bits++
	}
	return bits
}

// interFrameGap is t3.5: 3.5 character times, fixed at 1750 µs above
// 19200 baud (Modbus over serial line, 2.5.1.1).
func interFrameGap(baud, bits int) time.Duration {
	if baud > 19200 {
		return 1750 * time.Microsecond
	}
	if baud <= 0 {
		baud = 9600
	}
	return time.Duration(bits) * 7 * time.Second / time.Duration(2*baud)
}

// RTUTransport implements goburrow's modbus.Transporter over a SerialPort:
// it keeps the t3.5 silence between frames, delimits the answer by its
// expected length or by t3.5 of silence, and checks length and CRC so each
// failure is classified (ErrTimeout, ErrLengthMismatch, ErrChecksumMismatch,
// ErrLinkDown).
type RTUTransport struct {
	xmu     sync.Mutex // one exchange at a time for all devices on the bus
	mu      sync.Mutex // port and line state
	ctx     context.Context
	port    SerialPort
	open    func() (SerialPort, error)
	timeout time.Duration
	gap     time.Duration
	char    time.Duration
	last    time.Time // end of the last frame on the line
	crc     uint16    // CRC of the last good answer
	buf     [rtuMaxADU]byte
}

// NewRTUTransport returns a transport on port. open re-opens the port on
// Reinit (nil: Reinit only resets the line state). timeout bounds the wait
// for an answer.
func NewRTUTransport(port SerialPort, open func() (SerialPort, error), d Device, timeout time.Duration) *RTUTransport {
	char := charTime(d.Baud, d.DataBits, d.Parity, d.StopBits)
	return &RTUTransport{
		port:    port,
		open:    open,
		timeout: timeout,
		char:    char,
		gap:     interFrameGap(d.Baud, charBits(d.DataBits, d.Parity, d.StopBits)),
	}
}

// Send writes one request frame and returns the answer frame, verified for
// length and CRC. It implements modbus.Transporter.
func (t *RTUTransport) Send(req []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.port == nil {
		return nil, fmt.Errorf("%w: port closed", ErrLinkDown)
	}
	if len(req) < 4 {
		return nil, fmt.Errorf("devices: rtu: request of %d bytes too short", len(req))
	}
	if wait := time.Until(t.last.Add(t.gap)); wait > 0 {
		if err := sleepCtx(t.ctx, wait); err != nil {
			return nil, fmt.Errorf("%w: waiting t3.5: %w", ErrNotSent, err)
		}
	}
	if t.ctx != nil && t.ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, t.ctx.Err())
	}
	if err := t.port.ResetInputBuffer(); err != nil {
		return nil, fmt.Errorf("%w: reset input: %v", ErrLinkDown, err)
	}
	if _, err := t.port.Write(req); err != nil {
		t.last = time.Now()
		return nil, fmt.Errorf("%w: write: %v", ErrLinkDown, err)
	}
	// The request leaves the UART after len(req) characters; the answer
	// cannot start before that.
	want := 0
	if n := responsePDULen(req[1 : len(req)-2]); n > 0 {
		want = 1 + n + 2
	}
	frame, err := t.readFrame(want, req[1], time.Duration(len(req))*t.char+t.timeout)
	t.last = time.Now()
	if err != nil {
		return nil, err
	}
	if err := checkRTUFrame(frame, req[0], req[1], want); err != nil {
		return nil, err
	}
	t.crc = frameCRC(frame)
	out := make([]byte, len(frame))
	copy(out, frame)
	return out, nil
}

// readFrame collects one answer: up to want bytes (an exception is 5), or
// whatever arrived before t3.5 of silence.
func (t *RTUTransport) readFrame(want int, fc byte, first time.Duration) ([]byte, error) {
	n := 0
	timeout := first
	for n < len(t.buf) {
		if err := t.port.SetReadTimeout(timeout); err != nil {
			return nil, fmt.Errorf("%w: set read timeout: %v", ErrLinkDown, err)
		}
		m, err := t.port.Read(t.buf[n:])
		if err != nil {
			return nil, fmt.Errorf("%w: read: %v", ErrLinkDown, err)
		}
		if m == 0 {
			break // silence: the frame (if any) has ended
		}
		n += m
		if want > 0 && n >= want {
			break
		}
		if n >= 1+exceptionPDULen+2 && t.buf[1] == fc|0x80 {
			break
		}
		timeout = t.gap
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no answer within %v", ErrTimeout, first)
	}
	return t.buf[:n], nil
}

// checkRTUFrame verifies an answer to a request for unit and function fc
// whose answer should be want bytes long (0: unknown).
func checkRTUFrame(frame []byte, unit, fc byte, want int) error {
	n := len(frame)
	exception := n >= 2 && frame[1] == fc|0x80
	if exception {
		want = 1 + exceptionPDULen + 2
	}
	if n < 4 || (want > 0 && n != want) {
		return fmt.Errorf("%w: answer of %d bytes, want %d", ErrLengthMismatch, n, want)
	}
	if got, calc := frameCRC(frame), crc16(frame[:n-2]); got != calc {
		return fmt.Errorf("%w: crc %04X, computed %04X at byte %d", ErrChecksumMismatch, got, calc, n-2)
	}
	if frame[0] != unit {
		return fmt.Errorf("%w: answer from unit %d, asked %d", ErrLengthMismatch, frame[0], unit)
	}
	if frame[1] != fc && !exception {
		return fmt.Errorf("%w: answer function %d, asked %d", ErrLengthMismatch, frame[1], fc)
	}
	return nil
}

// exchange runs fn (a goburrow client call, which calls Send) as the only
// exchange on the bus, with ctx able to call it off before its request is
// sent and timeout bounding the answer; it returns the answer's CRC.
func (t *RTUTransport) exchange(ctx context.Context, timeout time.Duration, fn func() ([]byte, error)) ([]byte, uint32, error) {
	t.xmu.Lock()
	defer t.xmu.Unlock()
	t.mu.Lock()
	t.ctx, t.timeout, t.crc = ctx, timeout, 0
	t.mu.Unlock()
	res, err := fn()
	t.mu.Lock()
	crc := t.crc
	t.ctx = nil
	t.mu.Unlock()
	return res, uint32(crc), err
}

// Reinit closes and re-opens the port (when an opener was given) and
// resets the line state.
func (t *RTUTransport) Reinit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open != nil {
		if t.port != nil {
			_ = t.port.Close()
			t.port = nil
		}
		p, err := t.open()
		if err != nil {
			return fmt.Errorf("%w: reopen: %v", ErrLinkDown, err)
		}
		t.port = p
	}
	if t.port == nil {
		return fmt.Errorf("%w: port closed", ErrLinkDown)
	}
	t.last = time.Now()
	return t.port.ResetInputBuffer()
}

// Close closes the port; later exchanges fail with ErrLinkDown.
func (t *RTUTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.port == nil {
		return nil
	}
	err := t.port.Close()
	t.port = nil
	return err
}
