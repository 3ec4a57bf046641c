package devices

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func peerDevices(t *testing.T) map[string]*Modbus {
	t.Helper()
	needPeer(t)
	rtuDev := Device{Name: "rtu-peer", Driver: DriverModbusRTU, Port: peer.rtuPort, Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, Unit: 1, Timeout: time.Second}
	bus, err := openRTUBus(rtuDev, OpenSerial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	tcpDev := Device{Name: "tcp-peer", Driver: DriverModbusTCP, Port: peer.tcpAddr, Unit: 1, Timeout: time.Second}
	tcp := NewModbusTCP(tcpDev, nil, nil)
	t.Cleanup(func() { _ = tcp.Close() })
	return map[string]*Modbus{"rtu": NewModbusRTU(rtuDev, bus, nil), "tcp": tcp}
}

func TestModbusPeerRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, m := range peerDevices(t) {
		t.Run(name, func(t *testing.T) {
			hr, err := m.ReadHoldingRegisters(ctx, 0, 3)
			if err != nil || len(hr) != 3 || hr[0] != 1000 || hr[2] != 1002 {
				t.Fatalf("holding 0+3 = %v, %v; want [1000 1001 1002]", hr, err)
			}
			ir, err := m.ReadInputRegisters(ctx, 7, 2)
			if err != nil || ir[0] != 2007 || ir[1] != 2008 {
				t.Fatalf("input 7+2 = %v, %v; want [2007 2008]", ir, err)
			}
			co, err := m.ReadCoils(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range co {
				if v != (i%3 == 0) {
					t.Errorf("coil %d = %v, want %v", i, v, i%3 == 0)
				}
			}
			di, err := m.ReadDiscreteInputs(ctx, 3, 9)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range di {
				if v != ((i+3)%2 == 1) {
					t.Errorf("discrete %d = %v", i+3, v)
				}
			}
			// Writes round-trip: each transport has its own peer process.
			if err := m.WriteRegister(ctx, 50, 0xBEEF); err != nil {
				t.Fatal(err)
			}
			if hr, err := m.ReadHoldingRegisters(ctx, 50, 1); err != nil || hr[0] != 0xBEEF {
				t.Fatalf("holding 50 after write = %v, %v", hr, err)
			}
			for _, on := range []bool{true, false} {
				if err := m.WriteCoil(ctx, 40, on); err != nil {
					t.Fatal(err)
				}
				if co, err := m.ReadCoils(ctx, 40, 1); err != nil || co[0] != on {
					t.Fatalf("coil 40 after write %v = %v, %v", on, co, err)
				}
			}
			// Points: a u32 at 10..11 scaled, a control coil.
			s, err := m.Read(ctx, Point{Name: "energy", Kind: KindHolding, Type: TypeU32, Register: 10, Scale: 0.01})
			if err != nil || s.Value != 1234.56 {
				t.Fatalf("energy = %v, %v; want 1234.56", s.Value, err)
			}
			if name == "rtu" && (s.ChecksumKind != ChecksumCRC16Modbus || s.Checksum == 0) {
				t.Errorf("rtu sample checksum = %q %04X", s.ChecksumKind, s.Checksum)
			}
			// What the journal's admission assumes before the exchange.
			if want := DriverChecksum(m.Device().Driver); s.ChecksumKind != want {
				t.Errorf("%s sample checksum kind %q, DriverChecksum says %q", name, s.ChecksumKind, want)
			}
			if _, err := m.Write(ctx, Point{Name: "setpoint", Kind: KindHolding, Register: 51, Scale: 0.1}, 12.3); err != nil {
				t.Fatal(err)
			}
			if hr, _ := m.ReadHoldingRegisters(ctx, 51, 1); hr[0] != 123 {
				t.Errorf("setpoint register = %d, want 123", hr[0])
			}
			// Values a point cannot carry are refused before any byte is
			// sent, as ErrBadValue (no outcome against the interface), and
			// the register keeps its value.
			for _, bad := range []struct {
				p Point
				v float64
			}{
				{Point{Name: "setpoint", Kind: KindHolding, Register: 51, Scale: 0.1}, 6553.6},
				{Point{Name: "setpoint", Kind: KindHolding, Register: 51, Scale: 0.1}, -0.1},
				{Point{Name: "signed", Kind: KindHolding, Type: TypeS16, Register: 51}, 40000},
				{Point{Name: "wide", Kind: KindHolding, Type: TypeU32, Register: 51}, -1},
				{Point{Name: "float", Kind: KindHolding, Type: TypeF32, Register: 51}, 1e39},
				{Point{Name: "input", Kind: KindInput, Register: 51}, 1},
			} {
				_, err := m.Write(ctx, bad.p, bad.v)
				if !errors.Is(err, ErrBadValue) || Classify(err) != OutcomeCancelled || !strings.Contains(err.Error(), bad.p.Name) {
					t.Errorf("write %s = %v: %v (outcome %v), want ErrBadValue naming the point", bad.p.Name, bad.v, err, Classify(err))
				}
			}
			if hr, _ := m.ReadHoldingRegisters(ctx, 51, 1); hr[0] != 123 {
				t.Errorf("setpoint register after refused writes = %d, want 123", hr[0])
			}
			// 32-bit types go in one FC16 exchange and read back whole.
			for _, w := range []struct {
				p Point
				v float64
			}{
				{Point{Name: "limit", Kind: KindHolding, Type: TypeU32, Register: 60, Scale: 0.001}, 70000.5},
				{Point{Name: "offset", Kind: KindHolding, Type: TypeS32, Register: 62}, -100000},
				{Point{Name: "gain", Kind: KindHolding, Type: TypeF32, Register: 64}, 1.25},
				{Point{Name: "trim", Kind: KindHolding, Type: TypeS16, Register: 66}, -7},
			} {
				if _, err := m.Write(ctx, w.p, w.v); err != nil {
					t.Fatalf("write %s: %v", w.p.Name, err)
				}
				cp := w.p
				cp.Class = ClassCollection
				if s, err := m.Read(ctx, cp); err != nil || s.Value != w.v {
					t.Errorf("%s reads %v (%v) after writing %v", w.p.Name, s.Value, err, w.v)
				}
			}
		})
	}
}

func TestModbusPeerExceptions(t *testing.T) {
	ctx := context.Background()
	for name, m := range peerDevices(t) {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				what string
				call func() error
				fc   byte
				code byte
			}{
				{"holding beyond table", func() error { _, err := m.ReadHoldingRegisters(ctx, 100, 1); return err }, 0x83, 2},
				{"input straddling end", func() error { _, err := m.ReadInputRegisters(ctx, 99, 2); return err }, 0x84, 2},
				{"coils beyond table", func() error { _, err := m.ReadCoils(ctx, 200, 8); return err }, 0x81, 2},
				{"write register beyond table", func() error { return m.WriteRegister(ctx, 500, 1) }, 0x86, 2},
			}
			for _, tc := range tests {
				err := tc.call()
				var ee *ExceptionError
				if !errors.As(err, &ee) {
					t.Fatalf("%s: error %v is not an *ExceptionError", tc.what, err)
				}
				if ee.Code != tc.code || ee.Function != tc.fc || ee.Device != m.Device().Name {
					t.Errorf("%s: exception %+v, want function %02X code %d", tc.what, ee, tc.fc, tc.code)
				}
				if Classify(err) != OutcomeException {
					t.Errorf("%s: outcome %v", tc.what, Classify(err))
				}
			}
			// The link is still good after exceptions.
			if _, err := m.ReadHoldingRegisters(ctx, 1, 1); err != nil {
				t.Fatalf("read after exceptions: %v", err)
			}
		})
	}
}
