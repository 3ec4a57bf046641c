package hplc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/hplc/dlt645"
)

var (
	testMaster = MustParseAddr("049999888888")
	meter1     = MustParseAddr("000000003304")
	meter2     = MustParseAddr("100023669245")
)

// testLogger logs through t, so a failing test shows the exchange.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func fastSim(cfg SimConfig) SimConfig {
	cfg.Baud = 115200
	cfg.RebootTime = 500 * time.Millisecond
	cfg.ReplyDelay = 2 * time.Millisecond
	cfg.MeterDelay = 20 * time.Millisecond
	cfg.ReportRetry = 150 * time.Millisecond
	if cfg.Meters == nil {
		cfg.Meters = map[Addr]SimMeter{
			meter1: {Voltage: [3]float64{220.1, 221.5, -1}, Current: [3]float64{1.234, 0, 0}, ForwardEnergy: 1234.56},
			meter2: {Voltage: [3]float64{230.0, 229.9, 231.2}},
		}
	}
	return cfg
}

func fastModule(cfg Config) Config {
	// Generous reply timeouts: a loaded CI machine running -race must not
	// turn a slow answer into a failure. Passing runs never wait for them.
	cfg.ReplyTimeout = time.Second
	cfg.PollTimeout = 100 * time.Millisecond
	cfg.BootTimeout = 5 * time.Second
	cfg.MonitorTimeout = 3 * time.Second
	cfg.ResetPulse = 20 * time.Millisecond
	return cfg
}

// rig runs a simulator on a pty master and the driver on the slave path
// opened through go.bug.st/serial.
type rig struct {
	sim *Sim
	mod *Module
}

// newRig wires the pair; reset, when not nil, picks the driver's reset line.
func newRig(t *testing.T, scfg SimConfig, mcfg Config, reset func(*Sim) ResetLine) *rig {
	t.Helper()
	p, err := OpenSimPTY()
	if err != nil {
		t.Fatal(err)
	}
	sim := NewSim(p.Master, scfg, testLogger(t))
	port, err := openSerial8E1(p.Path, 115200)
	if err != nil {
		p.Master.Close()
		p.Close()
		t.Fatal(err)
	}
	if reset != nil {
		mcfg.Reset = reset(sim)
	}
	mod := NewModule(port, mcfg, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := sim.Run(ctx); err != nil {
			t.Errorf("sim: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := mod.Run(ctx); err != nil {
			t.Errorf("module: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		port.Close() // the module leaves its port to its owner
		p.Close()
	})
	return &rig{sim: sim, mod: mod}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestReinitRestoresLostParameterArea(t *testing.T) {
	nodes := []Node{{Addr: meter1, Protocol: ProtoDLT645_2007}, {Addr: meter2, Protocol: ProtoDLT645_2007}}
	stale := MustParseAddr("000000009999")
	// The module lost its master address and holds one node the terminal no longer has.
	r := newRig(t, fastSim(SimConfig{Nodes: []Node{{Addr: stale, Protocol: 2}}}),
		fastModule(Config{Master: testMaster, Nodes: nodes}), nil)
	ctx := ctxT(t, 20*time.Second)

	if err := r.mod.Reinit(ctx); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	st, err := r.sim.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Master != testMaster {
		t.Errorf("module master %s, want %s", st.Master, testMaster)
	}
	if !slices.Equal(st.Nodes, nodes) {
		t.Errorf("module nodes %v, want %v", st.Nodes, nodes)
	}
	if st.HardwareInits != 1 || st.Reboots != 1 || st.Phase != phaseReady || st.Routing != "running" {
		t.Errorf("state %+v: want one hardware init, one reboot, ready, routing running", st)
	}
	if st.DroppedBytes == 0 {
		t.Error("no poll reached the module while it rebooted; the wait step was not exercised")
	}
	// The commands the module heard while listening, in order.
	want := []string{"AFN 01 F1", "AFN 03 F10", "AFN 05 F1", "AFN 03 F4", "AFN 10 F1", "AFN 10 F2",
		"AFN 11 F2", "AFN 11 F1", "AFN 10 F1", "AFN 12 F1"}
	if !slices.Equal(st.Commands, want) {
		t.Errorf("commands\n got %v\nwant %v", st.Commands, want)
	}

	// A voltage read through 13 F1 returns the meter's DL/T 645 answer.
	req := dlt645.NewRead(dlt645.Address(meter1), dlt645.DIVoltageA)
	reqb, _ := req.Encode()
	resp, err := r.mod.MonitorNode(ctx, meter1, reqb)
	if err != nil {
		t.Fatalf("MonitorNode: %v", err)
	}
	f, _, err := dlt645.Decode(resp)
	if err != nil {
		t.Fatalf("645 answer %X: %v", resp, err)
	}
	di, val, err := f.ReadResponse()
	if err != nil || di != dlt645.DIVoltageA || f.Addr != dlt645.Address(meter1) {
		t.Fatalf("answer DI %s addr %s err %v", di, f.Addr, err)
	}
	vals, _, err := dlt645.DecodeValues(di, val)
	if err != nil || len(vals) != 1 || vals[0].String() != "220.1" {
		t.Fatalf("voltage %v err %v, want 220.1", vals, err)
	}
}

func TestMonitorVoltageBlockAndException(t *testing.T) {
	r := newRig(t, fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}}),
		fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 10*time.Second)

	req := dlt645.NewRead(dlt645.Address(meter1), dlt645.DIVoltageBlock)
	reqb, _ := req.Encode()
	resp, err := r.mod.MonitorNode(ctx, meter1, reqb)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := dlt645.Decode(resp)
	if err != nil {
		t.Fatal(err)
	}
	di, val, _ := f.ReadResponse()
	vals, _, err := dlt645.DecodeValues(di, val)
	if err != nil || len(vals) != 3 || vals[0].String() != "220.1" || vals[1].String() != "221.5" || vals[2].Valid {
		t.Fatalf("block %v err %v, want 220.1 221.5 absent", vals, err)
	}

	// A DI the meter does not have: the meter's exception travels back.
	req = dlt645.NewRead(dlt645.Address(meter1), 0x04000401)
	reqb, _ = req.Encode()
	resp, err = r.mod.MonitorNode(ctx, meter1, reqb)
	if err != nil {
		t.Fatal(err)
	}
	f, _, _ = dlt645.Decode(resp)
	if _, _, err := f.ReadResponse(); !errors.Is(err, dlt645.ErrException) {
		t.Errorf("unknown DI answered %v, want exception", err)
	}

	// A meter that lost its supply does not answer; the module says so.
	if err := r.sim.SetMeter(ctx, meter1, SimMeter{Offline: true}); err != nil {
		t.Fatal(err)
	}
	_, err = r.mod.MonitorNode(ctx, meter1, reqb)
	var de *DenyError
	if !errors.As(err, &de) || de.Reason != DenyNodeNoAnswer {
		t.Errorf("offline meter: %v, want deny node-did-not-answer", err)
	}
	if err := r.sim.SetMeter(ctx, meter1, SimMeter{Voltage: [3]float64{198.7, 0, 0}}); err != nil {
		t.Fatal(err)
	}
	if v := readVoltageA(t, ctx, r.mod, meter1); v != "198.7" {
		t.Errorf("voltage after SetMeter %s, want 198.7", v)
	}

	// A node the module does not know is denied.
	_, err = r.mod.MonitorNode(ctx, meter2, reqb)
	if !errors.As(err, &de) || de.Reason != DenyNodeNotInNet {
		t.Errorf("unknown node: %v, want deny node-not-in-network", err)
	}
}

func TestReinitWithResetLineKeepsIntactTable(t *testing.T) {
	nodes := []Node{{Addr: meter1, Protocol: 2}}
	r := newRig(t, fastSim(SimConfig{Master: testMaster, Nodes: nodes}),
		fastModule(Config{Master: testMaster, Nodes: nodes}), (*Sim).ResetLine)
	ctx := ctxT(t, 20*time.Second)
	if err := r.mod.Reinit(ctx); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	st, _ := r.sim.State(ctx)
	if st.Reboots != 2 || st.HardwareInits != 1 {
		t.Errorf("reboots %d hardware inits %d, want 2 and 1 (reset line, then AFN 01 F1)", st.Reboots, st.HardwareInits)
	}
	for _, c := range st.Commands {
		if c == "AFN 05 F1" || c == "AFN 11 F1" || c == "AFN 11 F2" {
			t.Errorf("intact module was sent %s", c)
		}
	}
	if !slices.Equal(st.Nodes, nodes) || st.Master != testMaster {
		t.Errorf("state changed: %+v", st)
	}
}

func TestReinitNamesTheStepWhenModuleStaysSilent(t *testing.T) {
	scfg := fastSim(SimConfig{Master: testMaster})
	scfg.RebootTime = 5 * time.Second
	mcfg := fastModule(Config{Master: testMaster})
	mcfg.BootTimeout = 500 * time.Millisecond
	r := newRig(t, scfg, mcfg, nil)
	err := r.mod.Reinit(ctxT(t, 10*time.Second))
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepWaitModule || !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want StepError %q wrapping ErrTimeout", err, StepWaitModule)
	}
}

func TestReportsAreConfirmedAndDelivered(t *testing.T) {
	mcfg := fastModule(Config{Master: testMaster})
	mcfg.ReportBuffer = 1
	r := newRig(t, fastSim(SimConfig{Master: testMaster}), mcfg, nil)
	ctx := ctxT(t, 10*time.Second)

	ev := EventReport{DeviceType: 1, Protocol: 2, Frame: HexBytes{0x68, 0x16}}
	if err := r.sim.Report(ctx, ev); err != nil {
		t.Fatalf("first report not confirmed: %v", err)
	}
	// The consumer has not drained the channel: the next report stays
	// unconfirmed, so the module keeps it and finally gives up.
	err := r.sim.Report(ctx, RouteChange{Status: RouteReadingDone})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("report with a full channel: %v, want unconfirmed", err)
	}
	got := <-r.mod.Reports()
	if !slicesEqualPayload(got.Payload, ev) {
		t.Errorf("report %#v, want %#v", got.Payload, ev)
	}
	// Drained: the next report goes through and reaches the consumer.
	if err := r.sim.Report(ctx, RouteChange{Status: RouteReadingDone}); err != nil {
		t.Fatalf("report after draining: %v", err)
	}
	select {
	case got = <-r.mod.Reports():
		if got.Payload != (RouteChange{Status: RouteReadingDone}) {
			t.Errorf("report %#v", got.Payload)
		}
	case <-ctx.Done():
		t.Fatal("report not delivered")
	}
}

func slicesEqualPayload(a Payload, b EventReport) bool {
	e, ok := a.(EventReport)
	return ok && e.DeviceType == b.DeviceType && e.Protocol == b.Protocol && slices.Equal(e.Frame, b.Frame)
}

func TestReportDuringReinit(t *testing.T) {
	nodes := []Node{{Addr: meter1, Protocol: 2}}
	r := newRig(t, fastSim(SimConfig{Master: testMaster}), fastModule(Config{Master: testMaster, Nodes: nodes}), nil)
	ctx := ctxT(t, 20*time.Second)
	errc := make(chan error, 1)
	go func() { errc <- r.mod.Reinit(ctx) }()
	// Reports race with the command traffic and the reboot; each must be
	// confirmed and delivered. A report the rebooting module lost is sent
	// again, so the consumer may see an earlier status repeated, never a
	// later one early.
	for i := uint8(1); i <= 3; i++ {
		for {
			err := r.sim.Report(ctx, RouteChange{Status: i})
			if err == nil {
				break
			}
			if !errors.Is(err, ErrSimNotReady) {
				t.Fatalf("report %d: %v", i, err)
			}
			select { // rebooting: try again shortly
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		for {
			var got uint8
			select {
			case rep := <-r.mod.Reports():
				got = rep.Payload.(RouteChange).Status
			case <-ctx.Done():
				t.Fatalf("report %d not delivered", i)
			}
			if got == i {
				break
			}
			if got > i {
				t.Fatalf("report %d delivered before %d", got, i)
			}
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Reinit alongside reports: %v", err)
	}
}

func TestReinitNamesDeniedStep(t *testing.T) {
	scfg := fastSim(SimConfig{Master: testMaster})
	scfg.MaxNodes = 1 // the table cannot hold what the terminal wants
	nodes := []Node{{Addr: meter1, Protocol: 2}, {Addr: meter2, Protocol: 2}}
	r := newRig(t, scfg, fastModule(Config{Master: testMaster, Nodes: nodes}), nil)
	err := r.mod.Reinit(ctxT(t, 20*time.Second))
	var se *StepError
	var de *DenyError
	if !errors.As(err, &se) || se.Step != StepAddNodes || !errors.As(err, &de) || de.Reason != DenyOther {
		t.Fatalf("err = %v, want StepError %q with a deny", err, StepAddNodes)
	}
	if !strings.Contains(err.Error(), "add nodes (AFN 11 F1)") || !strings.Contains(err.Error(), "other error") {
		t.Errorf("message %q does not name the step and the reason", err)
	}
}

type brokenLine struct{ err error }

func (l brokenLine) SetValue(int) error { return l.err }

func TestReinitResetLineFailure(t *testing.T) {
	broken := func(*Sim) ResetLine { return brokenLine{errors.New("gpiochip0: line 17 busy")} }
	r := newRig(t, fastSim(SimConfig{Master: testMaster}), fastModule(Config{Master: testMaster}), broken)
	err := r.mod.Reinit(ctxT(t, 5*time.Second))
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepReset || !strings.Contains(err.Error(), "line 17 busy") {
		t.Fatalf("err = %v, want StepError %q with the GPIO cause", err, StepReset)
	}
}

func TestCommandsAfterRunStops(t *testing.T) {
	p, err := OpenSimPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer p.Master.Close()
	port, err := openSerial8E1(p.Path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	mcfg := fastModule(Config{})
	mcfg.ReplyTimeout = 200 * time.Millisecond
	mod := NewModule(port, mcfg, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mod.Run(ctx) }()
	// Nobody answers: the command times out, resent Retries times.
	if _, err := mod.Do(ctxT(t, 5*time.Second), QueryVendor); !errors.Is(err, ErrTimeout) {
		t.Errorf("unanswered command: %v, want ErrTimeout", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := mod.Do(context.Background(), QueryVendor); !errors.Is(err, ErrClosed) {
		t.Errorf("after Run returned: %v, want ErrClosed", err)
	}
	// The port is still open: Run left it to its owner.
	if _, err := port.Write([]byte{0x16}); err != nil {
		t.Errorf("port after Run returned: %v, want it open", err)
	}
}

func readVoltageA(t *testing.T, ctx context.Context, m *Module, a Addr) string {
	t.Helper()
	req := dlt645.NewRead(dlt645.Address(a), dlt645.DIVoltageA)
	b, _ := req.Encode()
	resp, err := m.MonitorNode(ctx, a, b)
	if err != nil {
		t.Fatalf("MonitorNode: %v", err)
	}
	f, _, err := dlt645.Decode(resp)
	if err != nil {
		t.Fatal(err)
	}
	di, val, err := f.ReadResponse()
	if err != nil {
		t.Fatal(err)
	}
	vals, _, err := dlt645.DecodeValues(di, val)
	if err != nil || len(vals) != 1 {
		t.Fatalf("values %v: %v", vals, err)
	}
	return vals[0].String()
}

func TestReinitSurvivesLostHardwareInitConfirm(t *testing.T) {
	scfg := fastSim(SimConfig{Master: testMaster})
	scfg.LostInitConfirms = 1
	r := newRig(t, scfg, fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 20*time.Second)
	if err := r.mod.Reinit(ctx); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	st, _ := r.sim.State(ctx)
	if st.HardwareInits != 2 || st.Reboots != 2 {
		t.Errorf("hardware inits %d reboots %d, want 2 and 2", st.HardwareInits, st.Reboots)
	}
	// The second AFN 01 F1 is sent only after the module answered a poll.
	first := slices.Index(st.Commands, "AFN 01 F1")
	second := first + 1 + slices.Index(st.Commands[first+1:], "AFN 01 F1")
	if first < 0 || second <= first || !slices.Contains(st.Commands[first+1:second], "AFN 03 F10") {
		t.Errorf("commands %v: want a heard run-mode poll between the two hardware inits", st.Commands)
	}
}

// TestAddEnergyGrowsTheMeter: the meter's forward energy grows by what
// AddEnergy adds; its other readings are unchanged.
func TestAddEnergyGrowsTheMeter(t *testing.T) {
	r := newRig(t, fastSim(SimConfig{Master: testMaster, Nodes: []Node{{Addr: meter1, Protocol: 2}}}),
		fastModule(Config{Master: testMaster}), nil)
	ctx := ctxT(t, 10*time.Second)
	energy := func() string {
		t.Helper()
		req := dlt645.NewRead(dlt645.Address(meter1), dlt645.DIForwardTotal)
		reqb, _ := req.Encode()
		resp, err := r.mod.MonitorNode(ctx, meter1, reqb)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := dlt645.Decode(resp)
		if err != nil {
			t.Fatal(err)
		}
		di, val, err := f.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		vals, _, err := dlt645.DecodeValues(di, val)
		if err != nil || len(vals) == 0 {
			t.Fatalf("energy %v: %v", vals, err)
		}
		return vals[0].String()
	}
	if e := energy(); e != "1234.56" {
		t.Fatalf("energy %s, want 1234.56", e)
	}
	if err := r.sim.AddEnergy(ctx, meter1, 0.75); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.AddEnergy(ctx, meter1, 1.5); err != nil {
		t.Fatal(err)
	}
	if e := energy(); e != "1236.81" {
		t.Errorf("energy after adding 2.25 kWh: %s, want 1236.81", e)
	}
	if v := readVoltageA(t, ctx, r.mod, meter1); v != "220.1" {
		t.Errorf("voltage %s after AddEnergy, want the meter's 220.1 unchanged", v)
	}
	if err := r.sim.AddEnergy(ctx, meter2, 1); err != nil { // not a meter of this sim's: left alone
		t.Fatal(err)
	}
}
