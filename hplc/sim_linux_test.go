package hplc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"holdup/hplc/dlt645"
)

// rawClient plays the concentrator byte by byte against the simulator, to
// check the simulator's rules without the driver in between.
type rawClient struct {
	t      *testing.T
	port   Port
	frames chan Frame
	seq    uint8
	sim    *Sim
}

func newRawClient(t *testing.T, cfg SimConfig) *rawClient {
	t.Helper()
	p, err := OpenSimPTY()
	if err != nil {
		t.Fatal(err)
	}
	sim := NewSim(p.Master, cfg, testLogger(t))
	port, err := openSerial8E1(p.Path, cfg.Baud)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, port: port, frames: make(chan Frame, 16), sim: sim}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sim.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		var d Deframer
		buf := make([]byte, 256)
		for {
			n, err := port.Read(buf)
			d.Write(buf[:n])
			for {
				raw, _, ok := d.Next()
				if !ok {
					break
				}
				f, _, _ := Decode(raw)
				c.frames <- f
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		port.Close()
		wg.Wait()
		p.Close()
	})
	return c
}

func (c *rawClient) send(p Payload, mutate func(*Frame)) uint8 {
	c.t.Helper()
	c.seq++
	f, err := NewFrame(Control{Primary: true, Mode: ModeHPLC}, Info{Seq: c.seq}, p)
	if err != nil {
		c.t.Fatal(err)
	}
	if mutate != nil {
		mutate(&f)
	}
	b, err := f.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.port.Write(b); err != nil {
		c.t.Fatal(err)
	}
	return c.seq
}

// expect returns the next frame within d, or fails.
func (c *rawClient) expect(d time.Duration) (Frame, Payload) {
	c.t.Helper()
	select {
	case f := <-c.frames:
		p, err := f.Payload()
		if err != nil {
			c.t.Fatalf("simulator sent a bad data unit: %v", err)
		}
		return f, p
	case <-time.After(d):
		c.t.Fatalf("no frame within %v", d)
	}
	return Frame{}, nil
}

// silent asserts that nothing arrives within d.
func (c *rawClient) silent(d time.Duration) {
	c.t.Helper()
	select {
	case f := <-c.frames:
		c.t.Fatalf("unexpected frame AFN %02X F%d", f.AFN, f.Fn)
	case <-time.After(d):
	}
}

func (c *rawClient) call(p Payload) Payload {
	c.t.Helper()
	seq := c.send(p, nil)
	f, rp := c.expect(2 * time.Second)
	if f.R.Seq != seq || !f.C.Up || f.C.Primary || f.C.Mode != ModeHPLC {
		c.t.Fatalf("reply C=%+v seq %d, want an uplink response echoing seq %d", f.C, f.R.Seq, seq)
	}
	return rp
}

func TestSimParameterAreaRules(t *testing.T) {
	c := newRawClient(t, fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}}))
	if rp := c.call(AddNodes{Nodes: []Node{{Addr: meter1, Protocol: 2}}}); rp != (Deny{Reason: DenyDuplicateMeter}) {
		t.Errorf("duplicate add answered %#v", rp)
	}
	if rp := c.call(DeleteNodes{Addrs: []Addr{meter2}}); rp != (Deny{Reason: DenyNoSuchMeter}) {
		t.Errorf("deleting an unknown node answered %#v", rp)
	}
	if rp := c.call(ParamInit); rp != (Confirm{Status: 1}) {
		t.Fatalf("param init answered %#v", rp)
	}
	if rp := c.call(QueryMaster); rp != (MasterAddr{}) {
		t.Errorf("master after param init %#v, want zero", rp)
	}
	if rp := c.call(QueryNodeCount); rp != (NodeCount{Count: 0, Max: 1024}) {
		t.Errorf("node count after param init %#v", rp)
	}
	req := dlt645Read(meter1)
	seq := c.send(MonitorRequest{Protocol: 2, Frame: req}, func(f *Frame) { f.R.ModuleID, f.Dst = true, meter1 })
	if f, rp := c.expect(2 * time.Second); f.R.Seq != seq || rp != (Deny{Reason: DenyNodeNotInNet}) {
		t.Errorf("monitor without master/table answered %#v", rp)
	}
	if rp := c.call(Raw{AFN: 0x15, Fn: 1, Data: HexBytes{1}}); rp != (Deny{Reason: DenyNoSuchInfo}) {
		t.Errorf("unknown AFN answered %#v", rp)
	}
	// A corrupt frame is ignored, like a real module does.
	b, _ := (&Frame{C: Control{Primary: true, Mode: 3}, AFN: 3, Fn: 10}).Encode()
	b[len(b)-2]++
	c.port.Write(b)
	c.silent(100 * time.Millisecond)
}

func TestSimSilentWhileRebooting(t *testing.T) {
	cfg := fastSim(SimConfig{Master: testMaster})
	cfg.RebootTime = 800 * time.Millisecond
	c := newRawClient(t, cfg)
	if rp := c.call(HardwareInit); rp != (Confirm{Status: 1}) {
		t.Fatalf("hardware init answered %#v", rp)
	}
	c.send(QueryRunMode, nil)
	c.silent(150 * time.Millisecond)
	got := c.waitReady()
	if got.DroppedBytes == 0 || got.Reboots != 1 {
		t.Errorf("state %+v: the query sent while booting was not dropped", got)
	}
	if rm, ok := c.call(QueryRunMode).(RunMode); !ok || rm.Master != testMaster {
		t.Errorf("after boot run mode %#v", rm)
	}
}

func TestSimResetLineHoldsModuleSilent(t *testing.T) {
	c := newRawClient(t, fastSim(SimConfig{Master: testMaster}))
	line := c.sim.ResetLine()
	if err := line.SetValue(1); err != nil {
		t.Fatal(err)
	}
	c.send(QueryMaster, nil)
	c.silent(200 * time.Millisecond)
	if err := line.SetValue(0); err != nil {
		t.Fatal(err)
	}
	c.send(QueryMaster, nil)
	c.silent(100 * time.Millisecond) // booting: the query is lost, not queued
	if err := line.SetValue(2); err == nil {
		t.Error("reset line accepted value 2")
	}
	c.waitReady()
	if rp := c.call(QueryMaster); rp != (MasterAddr{Addr: testMaster}) {
		t.Errorf("master after reset %#v (parameter area must survive a reset)", rp)
	}
}

func TestSimPacesOutputAtBaudRate(t *testing.T) {
	cfg := fastSim(SimConfig{Master: testMaster})
	cfg.Baud = 9600
	c := newRawClient(t, cfg)
	start := time.Now()
	rm, ok := c.call(QueryRunMode).(RunMode)
	if !ok {
		t.Fatal("no run mode")
	}
	f, _ := NewFrame(Control{Up: true, Mode: 3}, Info{}, rm)
	// 11 bits per byte at 9600 baud is a lower bound no scheduler can beat.
	if min := time.Duration(f.Len()) * 11 * time.Second / 9600; time.Since(start) < min {
		t.Errorf("a %d-byte reply arrived in %v, faster than the line allows (%v)", f.Len(), time.Since(start), min)
	}
}

func TestSimReportNotReady(t *testing.T) {
	c := newRawClient(t, fastSim(SimConfig{}))
	c.sim.ResetLine().SetValue(1)
	if err := c.sim.Report(context.Background(), RouteChange{Status: 1}); !errors.Is(err, ErrSimNotReady) {
		t.Errorf("report while held in reset: %v", err)
	}
}

func dlt645Read(a Addr) []byte {
	f := dlt645.NewRead(dlt645.Address(a), dlt645.DIVoltageA)
	b, _ := f.Encode()
	return b
}

// waitReady waits until the simulator reports that it finished booting.
func (c *rawClient) waitReady() SimState {
	c.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		got, err := c.sim.State(context.Background())
		if err != nil {
			c.t.Fatal(err)
		}
		if got.Phase == phaseReady {
			return got
		}
		select {
		case <-deadline:
			c.t.Fatalf("module never booted: %+v", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// openSerial8E1 opens a pty's terminal end as the terminal opens the
// module's port: go.bug.st/serial, 8E1 (baud 0: DefaultBaud).
func openSerial8E1(path string, baud int) (Port, error) {
	if baud <= 0 {
		baud = DefaultBaud
	}
	return serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
}
