package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/goburrow/modbus"
)

// DefaultTimeout bounds one exchange when the device sets no timeout.
const DefaultTimeout = 500 * time.Millisecond

// ChecksumCRC16Modbus names the checksum carried by Modbus RTU frames.
const ChecksumCRC16Modbus = "crc16-modbus"

// Sample is one reading or acknowledged write of a point.
type Sample struct {
	// Value is the point's value in engineering units (raw × scale).
	Value float64
	// Raw is the data of the answer PDU (register bytes or coil bits).
	Raw []byte
	// ChecksumKind names the checksum that verified the answer ("" when
	// the protocol carries none), Checksum is its value.
	ChecksumKind string
	Checksum     uint32
	// Time is when the answer arrived.
	Time time.Time
}

// modbusTransport is a goburrow Transporter this package can re-init and
// ask for the checksum of the last answer.
type modbusTransport interface {
	modbus.Transporter
	Reinit() error
	Close() error
	exchange(ctx context.Context, timeout time.Duration, fn func() ([]byte, error)) ([]byte, uint32, error)
}

// Modbus is a Modbus RTU or TCP device. Its methods are safe for
// concurrent use but exchanges run one at a time.
type Modbus struct {
	dev    Device
	mu     sync.Mutex
	client modbus.Client
	tr     modbusTransport
	ckKind string
	owns   bool // Close closes tr (TCP); an RTU bus is shared
	log    *slog.Logger
}

// openRTUBus opens d's serial port with open (with d's line settings) as
// an RTU bus; Reinit on the bus closes and re-opens it the same way.
func openRTUBus(d Device, open func(SerialConfig) (SerialPort, error)) (*RTUTransport, error) {
	reopen := func() (SerialPort, error) { return open(d.SerialConfig()) }
	p, err := reopen()
	if err != nil {
		return nil, err
	}
	return NewRTUTransport(p, reopen, d, timeoutOf(d)), nil
}

// NewModbusRTU returns the Modbus RTU device d on bus (every Modbus RTU
// device on one port shares its bus: OpenAll opens it once).
func NewModbusRTU(d Device, bus *RTUTransport, log *slog.Logger) *Modbus {
	h := modbus.NewRTUClientHandler("")
	h.SlaveId = d.UnitID()
	return newModbus(d, modbus.NewClient2(h, bus), bus, ChecksumCRC16Modbus, false, log)
}

// NewModbusTCP returns a Modbus TCP device; dialer nil means net.Dialer.
func NewModbusTCP(d Device, dialer Dialer, log *slog.Logger) *Modbus {
	h := modbus.NewTCPClientHandler("")
	h.SlaveId = d.UnitID()
	tr := NewTCPTransport(d.Port, dialer, timeoutOf(d))
	return newModbus(d, modbus.NewClient2(h, tr), tr, "", true, log)
}

func newModbus(d Device, c modbus.Client, tr modbusTransport, ck string, owns bool, log *slog.Logger) *Modbus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Modbus{dev: d, client: c, tr: tr, ckKind: ck, owns: owns, log: log.With("device", d.Name)}
}

func timeoutOf(d Device) time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

// Device returns the device's configuration.
func (m *Modbus) Device() Device { return m.dev }

// exchange runs one client call under the device lock, bounded by ctx's
// deadline, and converts goburrow's errors into this package's.
func (m *Modbus) exchange(ctx context.Context, what string, call func() ([]byte, error)) ([]byte, uint32, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("devices: device %q: %s: %w", m.dev.Name, what, err)
	}
	timeout := timeoutOf(m.dev)
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	res, crc, err := m.tr.exchange(ctx, timeout, call)
	if err != nil {
		var me *modbus.ModbusError
		if errors.As(err, &me) {
			return nil, 0, fmt.Errorf("devices: %s: %w", what, &ExceptionError{Device: m.dev.Name, Function: me.FunctionCode, Code: me.ExceptionCode})
		}
		if Classify(err) == OutcomeLinkDown && !errors.Is(err, ErrLinkDown) {
			// goburrow's own checks of an answer that passed framing
			// (byte count, echo) mean a malformed answer.
			err = fmt.Errorf("%w: %v", ErrLengthMismatch, err)
		}
		return nil, 0, fmt.Errorf("devices: device %q: %s: %w", m.dev.Name, what, err)
	}
	return res, crc, nil
}

func checkQty(what string, qty, limit uint16) error {
	if qty < 1 || qty > limit {
		return fmt.Errorf("devices: %s: quantity %d out of range 1..%d", what, qty, limit)
	}
	return nil
}

func unpackBits(b []byte, qty uint16) []bool {
	out := make([]bool, qty)
	for i := range out {
		out[i] = b[i/8]&(1<<(i%8)) != 0
	}
	return out
}

func unpackWords(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return out
}

// ReadCoils reads qty coils starting at wire address addr.
func (m *Modbus) ReadCoils(ctx context.Context, addr, qty uint16) ([]bool, error) {
	what := fmt.Sprintf("read coils %d+%d", addr, qty)
	if err := checkQty(what, qty, 2000); err != nil {
		return nil, err
	}
	b, _, err := m.exchange(ctx, what, func() ([]byte, error) { return m.client.ReadCoils(addr, qty) })
	if err != nil {
		return nil, err
	}
	return unpackBits(b, qty), nil
}

// ReadDiscreteInputs reads qty discrete inputs starting at addr.
func (m *Modbus) ReadDiscreteInputs(ctx context.Context, addr, qty uint16) ([]bool, error) {
	what := fmt.Sprintf("read discrete inputs %d+%d", addr, qty)
	if err := checkQty(what, qty, 2000); err != nil {
		return nil, err
	}
	b, _, err := m.exchange(ctx, what, func() ([]byte, error) { return m.client.ReadDiscreteInputs(addr, qty) })
	if err != nil {
		return nil, err
	}
	return unpackBits(b, qty), nil
}

// ReadHoldingRegisters reads qty holding registers starting at addr.
func (m *Modbus) ReadHoldingRegisters(ctx context.Context, addr, qty uint16) ([]uint16, error) {
	what := fmt.Sprintf("read holding registers %d+%d", addr, qty)
	if err := checkQty(what, qty, 125); err != nil {
		return nil, err
	}
	b, _, err := m.exchange(ctx, what, func() ([]byte, error) { return m.client.ReadHoldingRegisters(addr, qty) })
	if err != nil {
		return nil, err
	}
	return unpackWords(b), nil
}

// ReadInputRegisters reads qty input registers starting at addr.
func (m *Modbus) ReadInputRegisters(ctx context.Context, addr, qty uint16) ([]uint16, error) {
	what := fmt.Sprintf("read input registers %d+%d", addr, qty)
	if err := checkQty(what, qty, 125); err != nil {
		return nil, err
	}
	b, _, err := m.exchange(ctx, what, func() ([]byte, error) { return m.client.ReadInputRegisters(addr, qty) })
	if err != nil {
		return nil, err
	}
	return unpackWords(b), nil
}

// WriteCoil sets (on) or clears one coil.
func (m *Modbus) WriteCoil(ctx context.Context, addr uint16, on bool) error {
	v := uint16(0)
	if on {
		v = 0xFF00
	}
	_, _, err := m.exchange(ctx, fmt.Sprintf("write coil %d", addr), func() ([]byte, error) { return m.client.WriteSingleCoil(addr, v) })
	return err
}

// WriteRegister writes one holding register.
func (m *Modbus) WriteRegister(ctx context.Context, addr, v uint16) error {
	_, _, err := m.exchange(ctx, fmt.Sprintf("write register %d", addr), func() ([]byte, error) { return m.client.WriteSingleRegister(addr, v) })
	return err
}

// Read reads a point and scales it.
func (m *Modbus) Read(ctx context.Context, p Point) (Sample, error) {
	addr := uint16(p.Register)
	var (
		raw []byte
		ck  uint32
		err error
		v   float64
	)
	switch p.Kind {
	case KindCoil, KindDiscrete:
		fn := m.client.ReadCoils
		if p.Kind == KindDiscrete {
			fn = m.client.ReadDiscreteInputs
		}
		raw, ck, err = m.exchange(ctx, fmt.Sprintf("read %s %s %d", p.Name, p.Kind, addr), func() ([]byte, error) { return fn(addr, 1) })
		if err == nil {
			v = float64(raw[0] & 1)
		}
	case KindHolding, KindInput:
		fn := m.client.ReadHoldingRegisters
		if p.Kind == KindInput {
			fn = m.client.ReadInputRegisters
		}
		words := uint16(p.ValueType().Words())
		raw, ck, err = m.exchange(ctx, fmt.Sprintf("read %s %s %d", p.Name, p.Kind, addr), func() ([]byte, error) { return fn(addr, words) })
		if err == nil {
			v = decodeValue(p.ValueType(), raw) * p.Factor()
		}
	default:
		return Sample{}, fmt.Errorf("devices: device %q: point %q: kind %q is not readable over Modbus", m.dev.Name, p.Name, p.Kind)
	}
	if err != nil {
		return Sample{}, err
	}
	return Sample{Value: v, Raw: raw, ChecksumKind: m.ckKind, Checksum: ck, Time: time.Now()}, nil
}

// Write writes a control point: a coil is set for any non-zero v; a
// holding register receives v / scale, rounded to the nearest integer for
// the integer types; a 32-bit type is written as two registers in one
// exchange (FC16).
func (m *Modbus) Write(ctx context.Context, p Point, v float64) (Sample, error) {
	addr := uint16(p.Register)
	var (
		ck  uint32
		err error
	)
	switch p.Kind {
	case KindCoil:
		val := uint16(0)
		if v != 0 {
			val = 0xFF00
		}
		_, ck, err = m.exchange(ctx, fmt.Sprintf("write %s coil %d", p.Name, addr), func() ([]byte, error) { return m.client.WriteSingleCoil(addr, val) })
	case KindHolding:
		regs, rerr := encodeValue(p.ValueType(), v/p.Factor())
		if rerr != nil {
			return Sample{}, fmt.Errorf("%w: device %q: point %q: value %v: %w", ErrBadValue, m.dev.Name, p.Name, v, rerr)
		}
		if len(regs) == 4 {
			// A 32-bit value in one FC16 exchange, so the device never
			// holds half of it.
			_, ck, err = m.exchange(ctx, fmt.Sprintf("write %s registers %d-%d", p.Name, addr, addr+1), func() ([]byte, error) {
				return m.client.WriteMultipleRegisters(addr, 2, regs)
			})
			break
		}
		word := binary.BigEndian.Uint16(regs)
		_, ck, err = m.exchange(ctx, fmt.Sprintf("write %s register %d", p.Name, addr), func() ([]byte, error) { return m.client.WriteSingleRegister(addr, word) })
	default:
		return Sample{}, fmt.Errorf("%w: device %q: point %q: kind %q is not writable", ErrBadValue, m.dev.Name, p.Name, p.Kind)
	}
	if err != nil {
		return Sample{}, err
	}
	return Sample{Value: v, ChecksumKind: m.ckKind, Checksum: ck, Time: time.Now()}, nil
}

// encodeValue encodes raw (the value in register units) as register bytes
// (big-endian words, high word first), rounding integers to the nearest
// and refusing what the type cannot hold.
func encodeValue(t Type, raw float64) ([]byte, error) {
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return nil, fmt.Errorf("not a number")
	}
	r := math.Round(raw)
	check := func(lo, hi float64) error {
		if r < lo || r > hi {
			return fmt.Errorf("out of range for %s (%v..%v in register units)", t, lo, hi)
		}
		return nil
	}
	var err error
	switch t {
	case TypeS16:
		if err = check(math.MinInt16, math.MaxInt16); err == nil {
			return binary.BigEndian.AppendUint16(nil, uint16(int16(r))), nil
		}
	case TypeU32:
		if err = check(0, math.MaxUint32); err == nil {
			return binary.BigEndian.AppendUint32(nil, uint32(r)), nil
		}
	case TypeS32:
		if err = check(math.MinInt32, math.MaxInt32); err == nil {
			return binary.BigEndian.AppendUint32(nil, uint32(int32(r))), nil
		}
	case TypeF32:
		if math.Abs(raw) > math.MaxFloat32 {
			return nil, fmt.Errorf("out of range for f32")
		}
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(raw))), nil
	default:
		if err = check(0, math.MaxUint16); err == nil {
			return binary.BigEndian.AppendUint16(nil, uint16(r)), nil
		}
	}
	return nil, err
}

// decodeValue decodes register bytes (big-endian words, high word first).
func decodeValue(t Type, b []byte) float64 {
	switch t {
	case TypeS16:
		return float64(int16(binary.BigEndian.Uint16(b)))
	case TypeU32:
		return float64(binary.BigEndian.Uint32(b))
	case TypeS32:
		return float64(int32(binary.BigEndian.Uint32(b)))
	case TypeF32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
	}
	return float64(binary.BigEndian.Uint16(b))
}

// Reinit re-opens the device's port (RTU) or connection (TCP).
func (m *Modbus) Reinit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.tr.Reinit(); err != nil {
		return fmt.Errorf("devices: device %q: reinit: %w", m.dev.Name, err)
	}
	m.log.Info("interface re-initialised")
	return nil
}

// Close releases a TCP device's connection. An RTU device leaves its bus
// open for the other devices on it; close the bus (or the Set) instead.
func (m *Modbus) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.owns {
		return nil
	}
	return m.tr.Close()
}
