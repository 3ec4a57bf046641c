package proto698

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"
)

// startACSim runs a simulator for the test's lifetime and opens its pty
// slave with go.bug.st/serial, as the terminal opens its real port.
func startACSim(t *testing.T, cfg ACSimConfig) (*ACSim, serial.Port) {
	t.Helper()
	sim, err := NewACSim(cfg, nil)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sim.Run(ctx); err != nil {
			t.Errorf("sim: %v", err)
		}
	}()
	port, err := serial.Open(sim.Path(), &serial.Mode{BaudRate: cfg.Baud})
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("open %s: %v", sim.Path(), err)
	}
	t.Cleanup(func() {
		port.Close()
		cancel()
		wg.Wait()
	})
	return sim, port
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestACClientReadsVoltagesOverPTY(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{224.1, 0, 0}})
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
	ctx := context.Background()
	v, err := c.ReadVoltages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != [3]float64{224.1, 0, 0} { // exact: volts = raw / 10
		t.Errorf("voltages = %v, want [224.1 0 0]", v)
	}
	sim.SetVoltages([3]float64{241.3, 241.4, 241.5})
	v, err = c.ReadVoltages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !near(v[0], 241.3) || !near(v[1], 241.4) || !near(v[2], 241.5) {
		t.Errorf("voltages = %v", v)
	}
	for ph, want := range []float64{241.3, 241.4, 241.5} {
		got, err := c.ReadPhaseVoltage(ctx, ph+1)
		if err != nil || !near(got, want) {
			t.Errorf("phase %d = %v, %v; want %v", ph+1, got, err, want)
		}
	}
	// An attribute the unit does not have (voltage phase angle) is a DAR,
	// not a timeout.
	if _, err := c.Get(ctx, NewOAD(0x20020200)); !errors.Is(err, ErrDAR) {
		t.Errorf("unknown OAD: %v, want ErrDAR", err)
	}
	if d, err := c.Get(ctx, OADVoltageScaler); err != nil || d != (ScalerUnit{-1, 35}) {
		t.Errorf("scaler = %v, %v", d, err)
	}
	wantEq(t, "served", sim.Served(), 7)
}

func TestACClientWildcardAndWrongAddress(t *testing.T) {
	addr := mustAddr("000000000322")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{230, 231, 232}})
	// Default address is the wildcard AAAAAAAAAAAA: the unit answers.
	c := NewACClient(port, ACClientConfig{Timeout: time.Second}, nil)
	if v, err := c.ReadVoltages(context.Background()); err != nil || !near(v[2], 232) {
		t.Fatalf("wildcard read = %v, %v", v, err)
	}
	// Another unit's address: no answer, retried, then ErrNoAnswer.
	other := NewACClient(port, ACClientConfig{Addr: mustAddr("000000000323"), Timeout: 50 * time.Millisecond, Retries: 1}, nil)
	start := time.Now()
	_, err := other.ReadVoltages(context.Background())
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("wrong address: %v, want ErrNoAnswer", err)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("gave up after %v, want 2 attempts × 50 ms", el)
	}
	wantEq(t, "served", sim.Served(), 1)
}

func TestACClientMainsLost(t *testing.T) {
	addr := mustAddr("012503200001")
	t.Run("zero", func(t *testing.T) {
		sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{230, 230, 230}, LostMode: LostZero, ResidualVolts: 1.2})
		c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
		sim.SetMainsLost(true)
		v, err := c.ReadVoltages(context.Background())
		if err != nil || !near(v[0], 1.2) || !near(v[2], 1.2) {
			t.Errorf("mains lost = %v, %v; want 1.2 V residual", v, err)
		}
		sim.SetMainsLost(false)
		if v, err := c.ReadVoltages(context.Background()); err != nil || !near(v[1], 230) {
			t.Errorf("mains back = %v, %v", v, err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{230, 230, 230}, LostMode: LostSilent})
		c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: 60 * time.Millisecond, Retries: -1}, nil)
		sim.SetMainsLost(true)
		if _, err := c.ReadVoltages(context.Background()); !errors.Is(err, ErrNoAnswer) {
			t.Errorf("silent unit: %v, want ErrNoAnswer", err)
		}
		sim.SetMainsLost(false)
		c = NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
		if v, err := c.ReadVoltages(context.Background()); err != nil || !near(v[0], 230) {
			t.Errorf("mains back = %v, %v", v, err)
		}
	})
}

// The simulator paces its reply at the line rate: at 9600 8N1 a 40-byte
// answer (2 FE + 38-byte frame) cannot arrive faster than ~42 ms, and the
// request itself (4 FE + 23 bytes) takes ~28 ms on the wire.
func TestACSimByteTiming(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 9600, Voltages: [3]float64{224.1, 0, 0}})
	wantEq(t, "char time", sim.CharTime(), time.Second*10/9600)
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
	start := time.Now()
	if _, err := c.ReadVoltages(context.Background()); err != nil {
		t.Fatal(err)
	}
	minimum := time.Duration(4+23+2+38) * sim.CharTime()
	if el := time.Since(start); el < minimum {
		t.Errorf("transaction took %v, faster than the line allows (%v)", el, minimum)
	}
}

func TestACClientContextCancel(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, LostMode: LostSilent})
	sim.SetMainsLost(true)
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: 10 * time.Second}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.ReadVoltages(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("cancellation took %v", el)
	}
}

func TestACClientPerPhaseFallbackAndNoise(t *testing.T) {
	addr := mustAddr("012503200001")
	sim, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{220, 221.5, 222.9},
		PerPhaseOnly: true, Noise: []byte{0x00, 0x68, 0xFF, 0x16}, Preamble: 4})
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second}, nil)
	v, err := c.ReadVoltages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !near(v[0], 220) || !near(v[1], 221.5) || !near(v[2], 222.9) {
		t.Errorf("voltages = %v", v)
	}
	wantEq(t, "served (1 refused + 3 phases)", sim.Served(), 4)
}

// Frames on the bus that are not the answer to this request — a late
// answer to an earlier PIID, and an answer from another unit — are skipped.
func TestACClientSkipsStaleAndForeignAnswers(t *testing.T) {
	addr := mustAddr("012503200001")
	frame := func(sa ServerAddress, piid PIIDACD, v uint16) []byte {
		apdu, _ := EncodeAPDU(&GetResponseNormal{PIID: piid, Result: ResultNormal{OAD: OADVoltageAll, Data: Array{LongUnsigned(v), LongUnsigned(v), LongUnsigned(v)}}})
		b, _ := AppendFrame(nil, &Frame{Control: 0xC3, Addr: sa, Data: apdu})
		return b
	}
	var noise []byte
	noise = append(noise, frame(addr, 0x3F, 9999)...)                  // stale PIID 63
	noise = append(noise, frame(mustAddr("012503200002"), 1, 8888)...) // another unit, our PIID
	_, port := startACSim(t, ACSimConfig{Addr: addr, Baud: 115200, Voltages: [3]float64{230, 230, 230}, Noise: noise})
	c := NewACClient(port, ACClientConfig{Addr: addr, Timeout: time.Second, Retries: -1}, nil)
	v, err := c.ReadVoltages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !near(v[0], 230) {
		t.Errorf("voltages = %v, took a stale or foreign answer", v)
	}
}
