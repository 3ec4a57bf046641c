package proto698

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Voltage object and attributes (class 3 "phase variable" 0x2000).
var (
	OADVoltageAll    = NewOAD(0x20000200) // attribute 2, all phases: array of long-unsigned
	OADVoltageScaler = NewOAD(0x20000300) // attribute 3: Scaler_Unit
)

// OADVoltagePhase returns the OAD of one phase voltage (phase 1..3 = A..C).
func OADVoltagePhase(phase int) OAD { return NewOAD(0x20000200 | uint32(phase)) }

// VoltageDivisor converts 0x2000 attribute 2 raw values to volts: the
// attribute's fixed scaler is −1 (0.1 V), so volts = raw / 10. Dividing
// (rather than multiplying by 0.1) gives the nearest float to the decimal
// reading, e.g. 2241 → 224.1.
const VoltageDivisor = 10

// ACClientConfig configures the AC-sampling client.
type ACClientConfig struct {
	// Addr is the AC-sampling unit's server address. The zero value means
	// the wildcard AAAAAAAAAAAA (any unit on a point-to-point line).
	Addr ServerAddress
	// Client is the client address CA sent in requests (0 if unset).
	Client uint8
	// Timeout is the wait for one answer; 0 means 500 ms.
	Timeout time.Duration
	// Retries is the number of repeated requests after the first; negative
	// means none, 0 means 2.
	Retries int
	// Preamble is the number of FE wake-up bytes before each request;
	// 0 means 4, negative means none.
	Preamble int
	// ByteTimeout is the inter-byte timeout: a partial frame is dropped
	// when the line was silent this long, and the client goes on with the
	// next frame. 0 means DefaultSerialByteTimeout; SerialByteTimeout
	// gives the value for a line speed.
	ByteTimeout time.Duration
	// MaxFrame is the APDU bytes one request frame carries; a longer
	// request goes fragmented, each fragment after the unit's confirm.
	// 0 means DefaultMaxFrameAPDU. Fragmented answers are confirmed and
	// reassembled whatever their size (up to 64 KiB).
	MaxFrame int
}

// DefaultSerialByteTimeout is the inter-byte timeout of a serial client
// whose line speed is not known: 50 ms, 43 characters at 9600 baud 8E1
// and 12 at 2400, above the latency of a USB serial adapter (16 ms).
const DefaultSerialByteTimeout = 50 * time.Millisecond

// SerialByteTimeout is the inter-byte timeout for a serial line at baud
// with charBits bits per character (start, data, parity, stop): 20
// character times, and no less than 20 ms, since the kernel and USB
// adapters deliver bytes in bursts a few milliseconds apart whatever the
// line speed. baud ≤ 0 gives DefaultSerialByteTimeout.
func SerialByteTimeout(baud, charBits int) time.Duration {
	if baud <= 0 {
		return DefaultSerialByteTimeout
	}
	if charBits <= 0 {
		charBits = 11
	}
	return max(20*time.Duration(charBits)*time.Second/time.Duration(baud), 20*time.Millisecond)
}

// ACClient reads phase voltages and other attributes from the AC-sampling
// unit over DL/T 698.45 on a serial line, and writes its parameters.
// Requests are serialised: one transaction on the port at a time. It
// implements the power package's Voltmeter interface.
type ACClient struct {
	port Port
	cfg  ACClientConfig
	log  *slog.Logger

	mu   sync.Mutex // guards the port, the deframer and piid during a transaction
	d    Deframer
	re   Reassembler // the answer's fragments
	seq  uint16      // next fragment sequence number of a fragmented request
	piid uint8
	buf  []byte
}

// NewACClient returns a client on port (which it does not own: the caller
// opens and closes it).
func NewACClient(port Port, cfg ACClientConfig, log *slog.Logger) *ACClient {
	if cfg.Addr.Len == 0 {
		cfg.Addr, _ = ParseAddress(AddrWildcard, "AAAAAAAAAAAA")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 2
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	switch {
	case cfg.Preamble == 0:
		cfg.Preamble = 4
	case cfg.Preamble < 0:
		cfg.Preamble = 0
	}
	if cfg.ByteTimeout <= 0 {
		cfg.ByteTimeout = DefaultSerialByteTimeout
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrameAPDU
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &ACClient{port: port, cfg: cfg, log: log, d: Deframer{MaxFrame: 2048}, buf: make([]byte, 256)}
}

// ReadVoltages reads the three phase voltages in volts (A, B, C). It asks
// for 0x20000200 (all phases); if the unit refuses that attribute or
// answers with an unexpected shape it reads 0x20000201–03 one by one.
func (c *ACClient) ReadVoltages(ctx context.Context) ([3]float64, error) {
	var v [3]float64
	d, err := c.Get(ctx, OADVoltageAll)
	if err == nil {
		if v, err = voltagesFromData(d); err == nil {
			return v, nil
		}
		c.log.Warn("proto698: voltage array unusable, reading phases", "err", err)
	} else if !errors.Is(err, ErrDAR) {
		return v, err
	}
	for ph := 1; ph <= 3; ph++ {
		if v[ph-1], err = c.ReadPhaseVoltage(ctx, ph); err != nil {
			return v, err
		}
	}
	return v, nil
}

// ReadPhaseVoltage reads one phase (1..3 = A..C) in volts.
func (c *ACClient) ReadPhaseVoltage(ctx context.Context, phase int) (float64, error) {
	if phase < 1 || phase > 3 {
		return 0, fmt.Errorf("proto698: AC sampling: phase %d: %w (want 1..3)", phase, ErrInvalid)
	}
	oad := OADVoltagePhase(phase)
	d, err := c.Get(ctx, oad)
	if err != nil {
		return 0, err
	}
	u, ok := d.(LongUnsigned)
	if !ok {
		return 0, fmt.Errorf("proto698: AC sampling: %v answered %s, want long-unsigned: %w", oad, d.Type(), ErrInvalid)
	}
	return float64(u) / VoltageDivisor, nil
}

func voltagesFromData(d Data) ([3]float64, error) {
	var v [3]float64
	arr, ok := d.(Array)
	if !ok || len(arr) != 3 {
		return v, fmt.Errorf("proto698: AC sampling: 20000200 answered %s of %d, want array of 3: %w", d.Type(), len(arr), ErrInvalid)
	}
	for i, e := range arr {
		u, ok := e.(LongUnsigned)
		if !ok {
			return v, fmt.Errorf("proto698: AC sampling: 20000200 element %d is %s, want long-unsigned: %w", i, e.Type(), ErrInvalid)
		}
		v[i] = float64(u) / VoltageDivisor
	}
	return v, nil
}

// Get reads one attribute with GET-Request-Normal, retrying on timeouts.
// A DAR answer is returned at once as an error wrapping ErrDAR (a
// *DARError, so errors.As recovers the DAR).
func (c *ACClient) Get(ctx context.Context, oad OAD) (Data, error) {
	var result Data
	err := c.transact(ctx, "GET", oad, func(piid PIID) APDU {
		return &GetRequestNormal{PIID: piid, OAD: oad}
	}, func(a APDU, piid uint8) (bool, error) {
		r, ok := a.(*GetResponseNormal)
		if !ok {
			return false, nil
		}
		if r.PIID.Seq() != piid || r.Result.OAD != oad {
			c.log.Debug("proto698: AC sampling: stale answer", "piid", r.PIID.Seq(), "oad", r.Result.OAD)
			return false, nil
		}
		if r.Result.Data == nil {
			return true, fmt.Errorf("proto698: AC sampling: GET %v from %v: %w", oad, c.cfg.Addr, r.Result.DAR.Err())
		}
		result = r.Result.Data
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// Set writes one attribute with SET-Request-Normal, with the same
// serialisation, PIID matching, timeout and retries as Get (a SET carries
// the whole value, so repeating it after a lost answer is harmless). A
// result other than success is an error wrapping ErrDAR (a *DARError)
// that names the OAD and the DAR.
func (c *ACClient) Set(ctx context.Context, oad OAD, v Data) error {
	if v == nil {
		return fmt.Errorf("proto698: AC sampling: SET %v: nil value: %w", oad, ErrInvalid)
	}
	return c.transact(ctx, "SET", oad, func(piid PIID) APDU {
		return &SetRequestNormal{PIID: piid, OAD: oad, Value: v}
	}, func(a APDU, piid uint8) (bool, error) {
		r, ok := a.(*SetResponseNormal)
		if !ok {
			return false, nil
		}
		if r.PIID.Seq() != piid || r.OAD != oad {
			c.log.Debug("proto698: AC sampling: stale answer", "piid", r.PIID.Seq(), "oad", r.OAD)
			return false, nil
		}
		if err := r.DAR.Err(); err != nil {
			return true, fmt.Errorf("proto698: AC sampling: SET %v on %v: %w", oad, c.cfg.Addr, err)
		}
		return true, nil
	})
}

// transact runs one request/answer exchange with retries on timeouts.
// build makes the request for a PIID; match inspects each decoded answer
// from the unit (ERROR-Response is handled here) and reports whether it is
// the answer, with the request's outcome.
func (c *ACClient) transact(ctx context.Context, service string, oad OAD, build func(PIID) APDU, match func(a APDU, piid uint8) (bool, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last error
	for attempt := 0; attempt <= c.cfg.Retries; attempt++ {
		err := c.once(ctx, service, oad, build, match)
		if err == nil || !errors.Is(err, ErrNoAnswer) {
			return err
		}
		last = err
		c.log.Debug("proto698: AC sampling: no answer", "service", service, "oad", oad, "attempt", attempt+1)
	}
	return fmt.Errorf("proto698: AC sampling: %s %v from %v after %d attempts: %w", service, oad, c.cfg.Addr, c.cfg.Retries+1, last)
}

func (c *ACClient) once(ctx context.Context, service string, oad OAD, build func(PIID) APDU, match func(a APDU, piid uint8) (bool, error)) error {
	c.piid = (c.piid + 1) & 0x3F
	piid := c.piid
	apdu, err := AppendAPDU(nil, build(PIID(piid)))
	if err != nil {
		return fmt.Errorf("proto698: AC sampling: %s %v: encode: %w", service, oad, err)
	}
	// Answers to earlier, timed-out requests must not be taken for this one.
	c.d.Reset()
	c.re.Reset()
	if r, ok := c.port.(inputResetter); ok {
		_ = r.ResetInputBuffer()
	}
	deadline := time.Now().Add(c.cfg.Timeout)
	req := Frame{Control: NewControl(false, true, false, false, FuncUserData), Addr: c.cfg.Addr, Client: c.cfg.Client, Data: apdu}
	if err := c.sendRequest(ctx, req, deadline); err != nil {
		if errors.Is(err, ErrNoAnswer) {
			return err
		}
		return fmt.Errorf("proto698: AC sampling: %s %v: %w", service, oad, err)
	}
	var resErr error
	accept := func(raw []byte, skipped int) bool {
		if skipped > 0 {
			c.log.Debug("proto698: AC sampling: skipped line noise", "bytes", skipped)
		}
		f, _, err := DecodeFrame(raw)
		if err != nil || !f.Control.FromServer() || f.Control.Function() != FuncUserData {
			return false
		}
		if f.Client != c.cfg.Client || !c.cfg.Addr.Matches(f.Addr) {
			c.log.Debug("proto698: AC sampling: answer for another address", "sa", f.Addr, "ca", f.Client)
			return false
		}
		data := f.Data
		if f.Control.Fragmented() {
			var done bool
			if data, done = c.fragment(&f); !done {
				return false
			}
		}
		a, err := DecodeAPDU(data)
		if err != nil {
			c.log.Warn("proto698: AC sampling: undecodable answer", "err", err)
			return false
		}
		if r, ok := a.(*ErrorResponse); ok {
			if r.PIID.Seq() != piid {
				return false
			}
			dar := r.DAR
			if dar == DARSuccess { // an ERROR-Response is never a success
				dar = DAROther
			}
			resErr = fmt.Errorf("proto698: AC sampling: %s %v: ERROR-Response: %w", service, oad, dar.Err())
			return true
		}
		done, err := match(a, piid)
		if done {
			resErr = err
		}
		return done
	}
	if err := c.read(ctx, deadline, accept); err != nil {
		if errors.Is(err, ErrNoAnswer) {
			return err
		}
		return fmt.Errorf("proto698: AC sampling: %s %v: %w", service, oad, err)
	}
	return resErr
}

// read reads the line until accept takes a frame, dropping a partial
// frame after the inter-byte timeout.
func (c *ACClient) read(ctx context.Context, deadline time.Time, accept func(raw []byte, skipped int) bool) error {
	return readLine(ctx, c.port, &c.d, c.buf, deadline, c.cfg.ByteTimeout, func(buffered, dropped int) {
		c.log.Warn("proto698: AC sampling: partial frame dropped after the inter-byte timeout", "buffered", buffered, "dropped", dropped, "timeout", c.cfg.ByteTimeout)
	}, accept)
}

// writeFrame writes f with the wake-up preamble.
func (c *ACClient) writeFrame(f *Frame) error {
	b := make([]byte, c.cfg.Preamble, 64+len(f.Data))
	for i := range b {
		b[i] = Preamble
	}
	b, err := AppendFrame(b, f)
	if err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	if _, err := c.port.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// sendRequest writes the request frame, fragmented when its APDU exceeds
// MaxFrame: each fragment after the unit confirmed the one before (a
// missing confirm is ErrNoAnswer, and the transaction is retried whole).
func (c *ACClient) sendRequest(ctx context.Context, req Frame, deadline time.Time) error {
	if len(req.Data) <= c.cfg.MaxFrame {
		return c.writeFrame(&req)
	}
	frames, err := FragmentFrames(req, c.cfg.MaxFrame, c.seq)
	if err != nil {
		return err
	}
	c.seq = (c.seq + uint16(len(frames))) & 0x0FFF
	for i := range frames {
		if err := c.writeFrame(&frames[i]); err != nil {
			return err
		}
		seq := frames[i].Frag.Seq
		err := c.read(ctx, deadline, func(raw []byte, _ int) bool {
			f, _, err := DecodeFrame(raw)
			return err == nil && f.Control.FromServer() && f.Control.Fragmented() && f.Frag.Type == FragConfirm && f.Frag.Seq == seq
		})
		if err != nil {
			if errors.Is(err, ErrNoAnswer) {
				return fmt.Errorf("proto698: AC sampling: fragment %d of %d unconfirmed: %w", i+1, len(frames), err)
			}
			return err
		}
	}
	return nil
}

// fragment takes one fragment frame of an answer: it is confirmed (a
// repeat again) and added; the APDU is returned once complete.
func (c *ACClient) fragment(f *Frame) ([]byte, bool) {
	if f.Frag.Type == FragConfirm {
		return nil, false // no fragmented request waits for it
	}
	apdu, done, err := c.re.Add(f.Frag, f.Data)
	if err != nil && !errors.Is(err, ErrRepeatedFragment) {
		c.log.Warn("proto698: AC sampling: fragment dropped", "err", err)
		return nil, false
	}
	conf := ConfirmFrame(*f)
	if err := c.writeFrame(&conf); err != nil {
		c.log.Debug("proto698: AC sampling: fragment confirm not written", "seq", f.Frag.Seq, "err", err)
	}
	return apdu, done
}
