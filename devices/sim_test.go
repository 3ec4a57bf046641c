package devices

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingPort counts the bytes written to a port.
type countingPort struct {
	SerialPort
	written atomic.Int64
}

func (p *countingPort) Write(b []byte) (int, error) {
	n, err := p.SerialPort.Write(b)
	p.written.Add(int64(n))
	return n, err
}

// simBus starts sim on a fresh pty pair (ServePTY) and returns an RTU bus
// on the other end, its byte-counting port, and the device.
func simBus(t testing.TB, sim *SimSlave, timeout time.Duration) (*RTUTransport, *countingPort, Device) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	path, wait, err := ServePTY(ctx, sim)
	if err != nil {
		cancel()
		t.Skipf("no pty: %v", err)
	}
	d := Device{Name: "sim", Driver: DriverModbusRTU, Port: path, Baud: 115200, DataBits: 8, Parity: "N", StopBits: 1, Unit: 1, Timeout: timeout}
	p, err := OpenSerial(d.SerialConfig())
	if err != nil {
		cancel()
		_ = wait()
		t.Fatal(err)
	}
	cp := &countingPort{SerialPort: p}
	bus := NewRTUTransport(cp, nil, d, timeout)
	t.Cleanup(func() {
		cancel()
		if err := wait(); err != nil {
			t.Errorf("sim: %v", err)
		}
		_ = bus.Close()
	})
	return bus, cp, d
}

func TestRTUOutcomesAgainstSim(t *testing.T) {
	sim := NewSimSlave(1, 100, 115200)
	bus, _, d := simBus(t, sim, 100*time.Millisecond)
	m := NewModbusRTU(d, bus, nil)
	ctx := context.Background()
	tests := []struct {
		fault Fault
		want  Outcome
	}{
		{FaultNone, OutcomeOK},
		{FaultBadCRC, OutcomeChecksumMismatch},
		{FaultTruncate, OutcomeLengthMismatch},
		{FaultExtraByte, OutcomeLengthMismatch},
		{FaultSilent, OutcomeTimeout},
		{FaultNone, OutcomeOK},
	}
	for _, tc := range tests {
		sim.Inject(tc.fault)
		v, err := m.ReadHoldingRegisters(ctx, 4, 2)
		if got := Classify(err); got != tc.want {
			t.Errorf("fault %d: outcome %v (%v), want %v", tc.fault, got, err, tc.want)
		}
		if err == nil && (v[0] != 1004 || v[1] != 1005) {
			t.Errorf("fault %d: registers %v", tc.fault, v)
		}
	}
	// Exceptions from the sim are typed too.
	_, err := m.ReadInputRegisters(ctx, 99, 2)
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != 2 {
		t.Fatalf("exception: %v", err)
	}
	if err := m.WriteCoil(ctx, 5, true); err != nil || !sim.Coil(5) {
		t.Fatalf("write coil: %v, sim coil %v", err, sim.Coil(5))
	}
}

func TestRTUWrongUnitTimesOut(t *testing.T) {
	sim := NewSimSlave(7, 10, 0)
	bus, cp, d := simBus(t, sim, 50*time.Millisecond)
	m := NewModbusRTU(d, bus, nil) // unit 1: the sim stays silent
	_, err := m.ReadCoils(context.Background(), 0, 1)
	if Classify(err) != OutcomeTimeout || !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want timeout", err)
	}
	if cp.written.Load() != 8 {
		t.Errorf("wrote %d bytes, want one 8-byte request", cp.written.Load())
	}
}

func TestLinkDown(t *testing.T) {
	sim := NewSimSlave(1, 10, 0)
	bus, _, d := simBus(t, sim, 50*time.Millisecond)
	m := NewModbusRTU(d, bus, nil)
	_ = m.Close() // leaves the shared bus open
	if _, err := m.ReadCoils(context.Background(), 0, 1); err != nil {
		t.Fatalf("device close closed the shared bus: %v", err)
	}
	_ = bus.Close()
	if _, err := m.ReadCoils(context.Background(), 0, 1); Classify(err) != OutcomeLinkDown {
		t.Fatalf("closed port: %v, want link down", err)
	}
	if err := m.Reinit(context.Background()); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("reinit without opener: %v, want link down", err)
	}

	// TCP: nobody listens.
	tcp := NewModbusTCP(Device{Name: "nobody", Driver: DriverModbusTCP, Port: "127.0.0.1:1", Timeout: 200 * time.Millisecond}, nil, nil)
	_, err := tcp.ReadHoldingRegisters(context.Background(), 0, 1)
	if Classify(err) != OutcomeLinkDown {
		t.Fatalf("refused dial: %v, want link down", err)
	}
}

// TestOpenAllMissingPort: a Modbus RTU device whose port cannot be opened
// is left out with an error naming the device, the key and the port, as
// link down; the others open.
func TestOpenAllMissingPort(t *testing.T) {
	set, err := OpenAll([]Device{
		{Name: "m", Driver: DriverModbusRTU, Port: "/dev/ttyNOPE7", Baud: 9600, Points: []Point{{Name: "p", Class: ClassControl, Kind: KindCoil}}},
		{Name: "tcp", Driver: DriverModbusTCP, Port: "127.0.0.1:1", Points: []Point{{Name: "p", Class: ClassControl, Kind: KindCoil}}},
	}, Env{})
	if set != nil {
		defer set.Close()
	}
	if !errors.Is(err, ErrLinkDown) || !strings.Contains(err.Error(), `device "m"`) || !strings.Contains(err.Error(), "/dev/ttyNOPE7") {
		t.Fatalf("err %v", err)
	}
	if set == nil || set.Drivers["m"] != nil || set.Drivers["tcp"] == nil {
		t.Fatalf("drivers %v: want tcp open and m left out", set)
	}
}

func TestInterFrameTiming(t *testing.T) {
	tests := []struct {
		baud      int
		parity    string
		char, t35 time.Duration
	}{
		{9600, "N", 1041666 * time.Nanosecond, 3645833 * time.Nanosecond},
		{9600, "E", 1145833 * time.Nanosecond, 4010416 * time.Nanosecond},
		{19200, "N", 520833 * time.Nanosecond, 1822916 * time.Nanosecond},
		{38400, "N", 260416 * time.Nanosecond, 1750 * time.Microsecond},
		{115200, "N", 86805 * time.Nanosecond, 1750 * time.Microsecond},
	}
	for _, tc := range tests {
		c := charTime(tc.baud, 8, tc.parity, 1)
		if c != tc.char {
			t.Errorf("%d %s: char time %v, want %v", tc.baud, tc.parity, c, tc.char)
		}
		if g := interFrameGap(tc.baud, charBits(8, tc.parity, 1)); g != tc.t35 {
			t.Errorf("%d %s: t3.5 %v, want %v", tc.baud, tc.parity, g, tc.t35)
		}
	}
}

// The transport keeps t3.5 of silence between an answer and the next
// request, as the slave sees it on the line.
func TestTransportKeepsInterFrameSilence(t *testing.T) {
	sim := NewSimSlave(1, 10, 9600)
	ctx, cancel := context.WithCancel(context.Background())
	path, wait, err := ServePTY(ctx, sim)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer func() { cancel(); _ = wait() }()
	d := Device{Name: "slow", Driver: DriverModbusRTU, Port: path, Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, Unit: 1}
	p, err := OpenSerial(d.SerialConfig())
	if err != nil {
		t.Fatal(err)
	}
	bus := NewRTUTransport(p, nil, d, time.Second)
	defer bus.Close()
	m := NewModbusRTU(d, bus, nil)
	for range 5 {
		if _, err := m.ReadHoldingRegisters(context.Background(), 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := sim.MinSilence(), interFrameGap(9600, 10); got < want {
		t.Fatalf("silence between frames %v, want ≥ t3.5 = %v", got, want)
	}
}

// TestSimWritesMultipleRegisters: the simulated slave takes FC16 as a real
// one does (both registers or neither), so 32-bit control points work
// against it as against the pymodbus peer.
func TestSimWritesMultipleRegisters(t *testing.T) {
	sim := NewSimSlave(1, 100, 115200)
	bus, _, d := simBus(t, sim, 200*time.Millisecond)
	m := NewModbusRTU(d, bus, nil)
	ctx := context.Background()
	p := Point{Name: "limit", Kind: KindHolding, Type: TypeU32, Register: 20}
	if _, err := m.Write(ctx, p, 0x12345678); err != nil {
		t.Fatal(err)
	}
	if hi, lo := sim.Holding(20), sim.Holding(21); hi != 0x1234 || lo != 0x5678 {
		t.Fatalf("registers 20-21 = %04X %04X, want 1234 5678", hi, lo)
	}
	// The last register is 99: a pair starting there does not fit.
	p.Register = 99
	_, err := m.Write(ctx, p, 1)
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != 2 || ee.Function != 0x90 {
		t.Fatalf("write across the end: %v, want exception 2 on function 90", err)
	}
	if sim.Holding(99) != 1099 { // its initial value
		t.Errorf("register 99 changed by a refused write: %d", sim.Holding(99))
	}
}

// TestSimSetInput: a measurement the simulated device updates (SetInput,
// high word first) reads back through a real RTU exchange as the s32 point
// it is, scaled.
func TestSimSetInput(t *testing.T) {
	sim := NewSimSlave(1, 16, 0)
	bus, _, d := simBus(t, sim, 500*time.Millisecond)
	m := NewModbusRTU(d, bus, nil)
	sim.SetInput(4, 0xFFFF, 0xED40) // −4800 as s32
	p := Point{Name: "power", Class: ClassCollection, Kind: KindInput, Type: TypeS32, Register: 4, Scale: 0.5}
	s, err := m.Read(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Value != -2400 {
		t.Fatalf("power %v, want -4800 × 0.5 = -2400", s.Value)
	}
	if w, err := m.ReadInputRegisters(context.Background(), 3, 1); err != nil || w[0] != 2003 {
		t.Fatalf("register 3 %v %v: SetInput changed a register it was not given", w, err)
	}
	sim.SetHolding(7, 2301)
	p = Point{Name: "voltage", Class: ClassCollection, Kind: KindHolding, Type: TypeU16, Register: 7, Scale: 0.1}
	if s, err := m.Read(context.Background(), p); err != nil || math.Abs(s.Value-230.1) > 1e-9 {
		t.Fatalf("voltage %v %v, want 230.1", s.Value, err)
	}
}
