//go:build linux

package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/hplc"
	"holdup/hplc/dlt645"
)

var (
	hplcMaster  = hplc.MustParseAddr("049999888888")
	hplcMeter1  = hplc.MustParseAddr("000000003304") // on the network, answers
	hplcMeter2  = hplc.MustParseAddr("100023669245") // on the network, no supply
	hplcUnknown = hplc.MustParseAddr("000000009999") // not in the node table
)

// node is a meter's address as the device configuration writes it.
func node(a hplc.Addr) []byte {
	return []byte{a[5], a[4], a[3], a[2], a[1], a[0]}
}

func item(di dlt645.DI) []byte { return binary.BigEndian.AppendUint32(nil, uint32(di)) }

// hplcRig is hplc's simulated module with its meters on a pty, driven by
// a real hplc.Module.
type hplcRig struct {
	sim  *hplc.Sim
	mod  *hplc.Module
	stop func() // stops the module driver (the simulator keeps running)
}

func startHPLC(t *testing.T) *hplcRig {
	t.Helper()
	p, err := hplc.OpenSimPTY()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	nodes := []hplc.Node{{Addr: hplcMeter1, Protocol: hplc.ProtoDLT645_2007}, {Addr: hplcMeter2, Protocol: hplc.ProtoDLT645_2007}}
	sim := hplc.NewSim(p.Master, hplc.SimConfig{
		Baud: 115200, RebootTime: 300 * time.Millisecond, ReplyDelay: 2 * time.Millisecond, MeterDelay: 10 * time.Millisecond,
		Master: hplcMaster, Nodes: nodes,
		Meters: map[hplc.Addr]hplc.SimMeter{
			hplcMeter1: {Voltage: [3]float64{220.1, 221.5, -1}, Current: [3]float64{1.234, 0, 0}, ForwardEnergy: 1234.56},
			hplcMeter2: {Voltage: [3]float64{230, 230, 230}, Offline: true},
		},
	}, nil)
	port, err := OpenSerial(SerialConfig{Path: p.Path, Baud: 115200, Parity: "E"})
	if err != nil {
		p.Master.Close()
		p.Close()
		t.Fatal(err)
	}
	// Generous timeouts: a loaded machine running -race must not turn a
	// slow answer into a failure; passing runs never wait for them.
	mod := hplc.NewModule(port, hplc.Config{
		Master: hplcMaster, Nodes: nodes, Reset: sim.ResetLine(),
		ReplyTimeout: time.Second, PollTimeout: 100 * time.Millisecond, BootTimeout: 5 * time.Second,
		MonitorTimeout: 3 * time.Second, ResetPulse: 20 * time.Millisecond,
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	modCtx, stopMod := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sim.Run(ctx); err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	modDone := make(chan struct{})
	wg.Go(func() {
		defer close(modDone)
		if err := mod.Run(modCtx); err != nil {
			t.Errorf("module: %v", err)
		}
	})
	stop := func() { stopMod(); <-modDone }
	// The module driver stops first (a simulator that stops under it would
	// fail its read), then the simulator; the port is ours to close once
	// Run has returned.
	t.Cleanup(func() {
		stop()
		cancel()
		wg.Wait()
		_ = port.Close()
		p.Close()
	})
	return &hplcRig{sim: sim, mod: mod, stop: stop}
}

// commands is how many commands the module has received.
func (r *hplcRig) commands(t *testing.T) int {
	t.Helper()
	st, err := r.sim.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(st.Commands)
}

// TestHPLCMeterRead: a meter's items read through the module as numbers
// with the answer frame's byte sum; an absent phase is NULL; refusals by
// the meter or the module are no data with the cause reachable.
func TestHPLCMeterRead(t *testing.T) {
	r := startHPLC(t)
	c := NewHPLCMeterClient(r.mod, hplc.DefaultSimPassword, 0x20240520)
	ctx := context.Background()
	cases := []struct {
		name    string
		meter   hplc.Addr
		di      dlt645.DI
		want    float64
		null    bool
		outcome error
		cause   error
	}{
		{"phase A voltage", hplcMeter1, dlt645.DIVoltageA, 220.1, false, nil, nil},
		{"phase A current", hplcMeter1, dlt645.DICurrentA, 1.234, false, nil, nil},
		{"forward active energy", hplcMeter1, dlt645.DIForwardTotal, 1234.56, false, nil, nil},
		{"voltage block: phase A", hplcMeter1, dlt645.DIVoltageBlock, 220.1, false, nil, nil},
		{"demand period", hplcMeter1, dlt645.DIDemandPeriod, 15, false, nil, nil},
		{"absent phase", hplcMeter1, dlt645.DIVoltageC, 0, true, nil, nil},
		{"item the meter lacks", hplcMeter1, 0x04009999, 0, false, ErrNoData, dlt645.ErrCodeNoData},
		{"meter without supply", hplcMeter2, dlt645.DIVoltageA, 0, false, ErrNoData, hplc.ErrDenied},
		{"meter not in the network", hplcUnknown, dlt645.DIVoltageA, 0, false, ErrNoData, hplc.ErrDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Read(ctx, node(tc.meter), item(tc.di))
			if tc.outcome != nil {
				if !errors.Is(err, tc.outcome) || !errors.Is(err, tc.cause) || !strings.Contains(err.Error(), tc.meter.String()) {
					t.Fatalf("read %s: %v, want %v with %v naming the meter", tc.di, err, tc.outcome, tc.cause)
				}
				return
			}
			if err != nil || v.Null != tc.null || math.Abs(v.Value-tc.want) > 1e-9 {
				t.Fatalf("read %s = %+v, %v; want %v (null %v)", tc.di, v, err, tc.want, tc.null)
			}
			if tc.null {
				return
			}
			// The checksum is the byte sum of the meter's answer frame,
			// from its first 68 to the value.
			ans := dlt645.NewReadResponse(dlt645.Address(tc.meter), tc.di, v.Raw)
			b, err := ans.Encode()
			if err != nil {
				t.Fatal(err)
			}
			var sum byte
			for _, x := range b[:len(b)-2] {
				sum += x
			}
			if v.Checksum != uint32(sum) || len(v.Raw) == 0 {
				t.Fatalf("read %s: checksum %02X (raw % X), want %02X", tc.di, v.Checksum, v.Raw, sum)
			}
		})
	}
	// Through the driver: scaled, with the sum8 checksum, NULL as no data.
	drv, err := NewHPLC(Device{Name: "meter1", Driver: DriverHPLC, Address: "000000003304"}, c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := drv.Read(ctx, Point{Name: "ua", Item: "02010100", Scale: 1000})
	if err != nil || math.Abs(s.Value-220100) > 1e-6 || s.ChecksumKind != ChecksumSum8 || s.Checksum == 0 {
		t.Fatalf("driver read: %+v, %v; want 220100 with a sum8 checksum", s, err)
	}
	if _, err := drv.Read(ctx, Point{Name: "uc", Item: "02010300", Scale: 1}); !errors.Is(err, ErrNoData) {
		t.Fatalf("driver read of an absent phase: %v, want ErrNoData", err)
	}
}

// TestHPLCMeterWrite: a write with the meter's password is applied; one
// with a wrong password is refused by the meter (no data, the password
// error reachable) and changes nothing; what the item cannot take, or a
// bad node or item, is refused before anything reaches the module.
func TestHPLCMeterWrite(t *testing.T) {
	r := startHPLC(t)
	good := NewHPLCMeterClient(r.mod, hplc.DefaultSimPassword, 0x20240520)
	wrong := NewHPLCMeterClient(r.mod, dlt645.Password{Level: 2, Code: 0x654321}, 0x20240520)
	ctx := context.Background()
	n1, demand := node(hplcMeter1), item(dlt645.DIDemandPeriod)
	period := func() float64 {
		t.Helper()
		v, err := good.Read(ctx, n1, demand)
		if err != nil {
			t.Fatal(err)
		}
		return v.Value
	}
	if err := good.Write(ctx, n1, demand, 30); err != nil {
		t.Fatalf("write with the password: %v", err)
	}
	if p := period(); p != 30 {
		t.Fatalf("demand period after the write %v, want 30", p)
	}
	// The meter logged the programming event.
	if v, err := good.Read(ctx, n1, item(dlt645.DIProgramCount)); err != nil || v.Value != 1 {
		t.Fatalf("programming count %+v, %v; want 1", v, err)
	}

	err := wrong.Write(ctx, n1, demand, 5)
	var ee *dlt645.ExceptionError
	if !errors.Is(err, ErrNoData) || !errors.Is(err, dlt645.ErrCodeAuth) || !errors.As(err, &ee) || Classify(err) != OutcomeException {
		t.Fatalf("write with a wrong password: %v, want ErrNoData with the password error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "04000103") || !strings.Contains(msg, hplcMeter1.String()) {
		t.Errorf("message %q does not name the item and the meter", msg)
	}
	if err := good.Write(ctx, node(hplcMeter2), demand, 5); !errors.Is(err, ErrNoData) || !errors.Is(err, hplc.ErrDenied) {
		t.Fatalf("write to a meter without supply: %v, want ErrNoData (module denies)", err)
	}

	sent := r.commands(t)
	refused := []struct {
		name       string
		node, item []byte
		v          float64
	}{
		{"above the item's range", n1, demand, 100},
		{"negative", n1, demand, -1},
		{"read-only item", n1, item(dlt645.DIActiveConstant), 1000},
		{"measurement", n1, item(dlt645.DIVoltageA), 230},
		{"short node", n1[1:], demand, 5},
		{"long item", n1, append(item(dlt645.DIDemandPeriod), 0), 5},
	}
	for _, tc := range refused {
		if err := good.Write(ctx, tc.node, tc.item, tc.v); !errors.Is(err, ErrBadValue) {
			t.Errorf("%s: %v, want ErrBadValue", tc.name, err)
		}
	}
	if _, err := good.Read(ctx, n1[:5], demand); !errors.Is(err, ErrBadValue) {
		t.Errorf("read with a short node: %v, want ErrBadValue", err)
	}
	off, cancel := context.WithCancel(ctx)
	cancel()
	if err := good.Write(off, n1, demand, 5); !errors.Is(err, ErrNotSent) {
		t.Errorf("write, called off: %v, want ErrNotSent", err)
	}
	if n := r.commands(t) - sent; n != 0 {
		t.Errorf("%d commands reached the module, want none", n)
	}
	if p := period(); p != 30 {
		t.Fatalf("demand period after refused writes %v, want 30", p)
	}
}

// TestHPLCMeterLink: a module that does not answer is a timeout, Reinit
// brings it back, a stopped module driver is a link fault.
func TestHPLCMeterLink(t *testing.T) {
	r := startHPLC(t)
	c := NewHPLCMeterClient(r.mod, hplc.DefaultSimPassword, 0)
	ctx := context.Background()
	n1, ua := node(hplcMeter1), item(dlt645.DIVoltageA)

	// Held in reset, the module hears nothing.
	if err := r.sim.ResetLine().SetValue(1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.Read(short, n1, ua); !errors.Is(err, ErrTimeout) || Classify(err) != OutcomeTimeout {
		t.Fatalf("read from a module in reset: %v, want ErrTimeout", err)
	}
	// Reinit pulses the reset line, waits for the module and restores it.
	if err := c.Reinit(ctx); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	if v, err := c.Read(ctx, n1, ua); err != nil || math.Abs(v.Value-220.1) > 1e-9 {
		t.Fatalf("read after Reinit: %+v, %v; want 220.1", v, err)
	}

	r.stop()
	if _, err := c.Read(ctx, n1, ua); !errors.Is(err, ErrLinkDown) || !errors.Is(err, hplc.ErrClosed) {
		t.Fatalf("read with the module driver stopped: %v, want ErrLinkDown", err)
	}
	if err := c.Write(ctx, n1, item(dlt645.DIDemandPeriod), 30); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("write with the module driver stopped: %v, want ErrLinkDown", err)
	}
}
