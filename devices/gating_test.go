package devices_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"holdup/devices"
	"holdup/sched"
)

// rig is devices wired into the scheduler the way the daemon wires them.
type rig struct {
	s     *sched.Scheduler
	set   *devices.Set
	rec   *devices.Recorder
	chip  *devices.SimChip
	alarm chan sched.Alarm
}

// statSim lets the simulated GPIO chip pass the existence check.
func statSim(path string) error {
	if strings.HasSuffix(path, "gpiochip-sim") {
		return nil
	}
	return devices.OSStat(path)
}

func newRig(t *testing.T, devs []devices.Device, window, threshold int) (*rig, error) {
	t.Helper()
	valid, verr := devices.Validate(devs, statSim)
	r := &rig{rec: devices.NewRecorder(), chip: devices.NewSimChip("gpiochip-sim", 8), alarm: make(chan sched.Alarm, 8)}
	set, oerr := devices.OpenAll(valid, devices.Env{
		OpenSerial: r.rec.Open,
		OpenChip:   func(string) (devices.Chip, error) { return r.chip, nil },
	})
	t.Cleanup(func() { _ = set.Close() })
	r.set = set
	var sd []sched.Device
	for _, d := range valid {
		if set.Drivers[d.Name] != nil {
			sd = append(sd, sched.Device{Name: d.Name, Interface: devices.InterfaceOf(d), MainsOnly: d.MainsOnly, DrawMW: d.DrawMW})
		}
	}
	s, err := sched.New(sched.Config{Devices: sd, DrawThresholdMW: 500, ErrorWindow: window, ErrorThreshold: threshold,
		OnAlarm: func(a sched.Alarm) { r.alarm <- a }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	r.s = s
	return r, errors.Join(verr, oerr)
}

// do runs one point of a device through the scheduler: a write for
// control points, a read for collection points.
func (r *rig) do(device, point string, v float64) (sched.Result, error) {
	drv := r.set.Drivers[device]
	var p devices.Point
	for _, q := range drv.Device().Points {
		if q.Name == point {
			p = q
		}
	}
	op := sched.Op{Device: device, Point: point, Business: "test", Class: sched.Collection, Integrity: sched.Checked}
	if p.Class == devices.ClassControl {
		op.Class = sched.Control
	}
	if p.Integrity == devices.IntegrityUnchecked {
		op.Integrity = sched.Unchecked
	}
	op.Run = func(ctx context.Context) (sched.Result, error) {
		var (
			s   devices.Sample
			err error
		)
		if p.Class == devices.ClassControl {
			s, err = drv.Write(ctx, p, v)
		} else {
			s, err = drv.Read(ctx, p)
		}
		return sched.Result{Value: s.Value, Raw: s.Raw, ChecksumKind: s.ChecksumKind, Checksum: s.Checksum}, err
	}
	return r.s.Do(context.Background(), op)
}

func (r *rig) reinit(t *testing.T, device string) {
	t.Helper()
	drv := r.set.Drivers[device]
	if err := r.s.Reinit(context.Background(), devices.InterfaceOf(drv.Device()), drv.Reinit); err != nil {
		t.Fatal(err)
	}
}

func TestOutageGatesMainsOnlyPort(t *testing.T) {
	acSim, meterSim := devices.NewSimSlave(1, 100, 0), devices.NewSimSlave(2, 100, 0)
	acPort, meterPort := devices.StartSimPTY(t, acSim), devices.StartSimPTY(t, meterSim)
	devs := []devices.Device{
		{Name: "ac-board", Driver: devices.DriverModbusRTU, Port: acPort, Unit: 1, MainsOnly: true, Timeout: 200 * time.Millisecond, Points: []devices.Point{
			{Name: "voltage", Class: devices.ClassCollection, Period: time.Second, Kind: devices.KindHolding, Register: 0, Scale: 0.1},
		}},
		{Name: "meter", Driver: devices.DriverModbusRTU, Port: meterPort, Unit: 2, DrawMW: 80, Timeout: 200 * time.Millisecond, Points: []devices.Point{
			{Name: "energy", Class: devices.ClassCollection, Period: time.Second, Kind: devices.KindHolding, Register: 10, Type: devices.TypeU32},
			{Name: "temp", Class: devices.ClassCollection, Integrity: devices.IntegrityUnchecked, Period: 5 * time.Second, Kind: devices.KindInput, Register: 3},
			{Name: "breaker", Class: devices.ClassControl, Kind: devices.KindCoil, Register: 1},
		}},
		{Name: "relays", Driver: devices.DriverGPIOOutput, Port: "gpiochip-sim", Points: []devices.Point{
			{Name: "k1", Class: devices.ClassControl, Register: 4},
		}},
	}
	r, err := newRig(t, devs, 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := r.do("ac-board", "voltage", 0); err != nil || res.Value != 100 {
		t.Fatalf("voltage before outage: %v %v, want 100 (1000 × 0.1)", res.Value, err)
	}
	acBytes, acRx := r.rec.Written(acPort), acSim.Received()
	if acBytes != 8 || acRx != 8 {
		t.Fatalf("one request should be 8 bytes: wrote %d, sim received %d", acBytes, acRx)
	}

	r.s.GateMainsOnly()
	for i := range 5 {
		if _, err := r.do("ac-board", "voltage", 0); !errors.Is(err, sched.ErrGated) {
			t.Fatalf("ac-board during outage: %v, want ErrGated", err)
		}
		on := float64(i % 2)
		if _, err := r.do("relays", "k1", on); err != nil || r.chip.Level(4) != i%2 {
			t.Fatalf("relay control during outage: %v, level %d", err, r.chip.Level(4))
		}
		if _, err := r.do("meter", "breaker", 1-on); err != nil || meterSim.Coil(1) != (i%2 == 0) {
			t.Fatalf("breaker control during outage: %v, coil %v", err, meterSim.Coil(1))
		}
		if res, err := r.do("meter", "energy", 0); err != nil || res.Value != float64(1010<<16|1011) {
			t.Fatalf("checked collection during outage: %v %v", res.Value, err)
		}
		if _, err := r.do("meter", "temp", 0); !errors.Is(err, sched.ErrDropped) {
			t.Fatalf("unchecked collection during outage: %v, want ErrDropped", err)
		}
	}
	if got, rx := r.rec.Written(acPort), acSim.Received(); got != acBytes || rx != acRx {
		t.Fatalf("bytes reached the mains-only port during the outage: wrote %d→%d, sim received %d→%d", acBytes, got, acRx, rx)
	}
	st, _ := r.s.Stats(devices.InterfaceOf(devs[1]))
	if st.Dropped != 5 {
		t.Errorf("dropped %d unchecked readings, want 5", st.Dropped)
	}
	if rd, _ := r.s.Latest(context.Background(), "ac-board", "voltage"); !rd.Invalid || rd.Value != 0 {
		t.Errorf("ac-board voltage during outage reported %+v, want invalid", rd)
	}

	r.s.Restore()
	if _, err := r.do("ac-board", "voltage", 0); !errors.Is(err, sched.ErrAwaitingReinit) {
		t.Fatalf("before re-init: %v", err)
	}
	if r.rec.Written(acPort) != acBytes {
		t.Fatal("bytes reached the port before re-init")
	}
	r.reinit(t, "ac-board")
	if res, err := r.do("ac-board", "voltage", 0); err != nil || res.Value != 100 {
		t.Fatalf("after re-init: %v %v", res.Value, err)
	}
}

func TestErrorWatchClosesAndReopensPort(t *testing.T) {
	sim := devices.NewSimSlave(1, 100, 0)
	port := devices.StartSimPTY(t, sim)
	devs := []devices.Device{{Name: "meter", Driver: devices.DriverModbusRTU, Port: port, Timeout: 100 * time.Millisecond, Points: []devices.Point{
		{Name: "energy", Class: devices.ClassCollection, Period: time.Second, Kind: devices.KindHolding, Register: 5},
	}}}
	r, err := newRig(t, devs, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	sim.Inject(devices.FaultBadCRC, devices.FaultNone, devices.FaultTruncate, devices.FaultBadCRC)
	wantOutcomes := []sched.Outcome{sched.ChecksumMismatch, sched.OK, sched.LengthMismatch, sched.ChecksumMismatch}
	for i, want := range wantOutcomes {
		_, err := r.do("meter", "energy", 0)
		if got := sched.Classify(err); got != want {
			t.Fatalf("exchange %d: %v (%v), want %v", i, got, err, want)
		}
	}
	a := <-r.alarm
	if a.Interface != port || a.Reason != sched.AlarmErrorRate || a.Errors != 3 || a.Last != sched.ChecksumMismatch {
		t.Fatalf("alarm %+v", a)
	}
	before := r.rec.Written(port)
	if _, err := r.do("meter", "energy", 0); !errors.Is(err, sched.ErrPathClosed) {
		t.Fatalf("after threshold: %v, want ErrPathClosed", err)
	}
	if r.rec.Written(port) != before {
		t.Fatal("a closed path still sent bytes")
	}
	r.reinit(t, "meter") // closes and re-opens the serial port
	if res, err := r.do("meter", "energy", 0); err != nil || res.Value != 1005 {
		t.Fatalf("after re-init: %v %v", res.Value, err)
	}
}

func TestBadConfigOthersRun(t *testing.T) {
	sim := devices.NewSimSlave(1, 100, 0)
	port := devices.StartSimPTY(t, sim)
	good := devices.Device{Name: "good", Driver: devices.DriverModbusRTU, Port: port, Points: []devices.Point{
		{Name: "v", Class: devices.ClassCollection, Period: time.Second, Kind: devices.KindInput, Register: 2},
	}}
	devs := []devices.Device{
		{Name: "can-bus", Driver: "canopen", Port: port},
		{Name: "ghost", Driver: devices.DriverModbusRTU, Port: "/dev/ttyHOLDUP-NONE"},
		good,
		{Name: "typo", Driver: devices.DriverModbusRTU, Port: port, Points: []devices.Point{
			{Name: "a", Class: devices.ClassControl, Kind: devices.KindCoil},
			{Name: "b", Class: "colection", Kind: devices.KindInput, Period: time.Second},
		}},
	}
	r, err := newRig(t, devs, 20, 5)
	for _, want := range []string{
		`devices: device "can-bus": driver: unknown driver "canopen"`,
		`devices: device "ghost": port: serial port "/dev/ttyHOLDUP-NONE" does not exist`,
		`devices: device "typo": points[1].class: invalid value "colection" (want control|collection)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	if len(r.set.Drivers) != 1 {
		t.Fatalf("opened %d devices, want only good", len(r.set.Drivers))
	}
	if res, err := r.do("good", "v", 0); err != nil || res.Value != 2002 {
		t.Fatalf("good device: %v %v", res.Value, err)
	}

	// A port that vanishes between validation and opening is reported by
	// OpenAll with device and key; the rest still open.
	gone := devices.Device{Name: "gone", Driver: devices.DriverModbusRTU, Port: "/dev/ttyHOLDUP-GONE", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1}
	set, err := devices.OpenAll([]devices.Device{gone, {Name: "tcp", Driver: devices.DriverModbusTCP, Port: "127.0.0.1:1"}}, devices.Env{})
	t.Cleanup(func() { _ = set.Close() }) // OpenAll returns the set it opened with the error
	var ce *devices.ConfigError
	if !errors.As(err, &ce) || ce.Device != "gone" || ce.Key != "port" || !errors.Is(err, devices.ErrLinkDown) {
		t.Fatalf("open vanished port: %v", err)
	}
	if set.Drivers["tcp"] == nil || set.Drivers["gone"] != nil {
		t.Fatalf("drivers %v", set.Drivers)
	}
}

// At 600 baud t3.5 is 58 ms: an exchange queued right after another waits
// that long before its request. A gate in that wait calls it off, and not
// one more byte reaches the mains-only port.
func TestGateDuringInterFrameWait(t *testing.T) {
	sim := devices.NewSimSlave(1, 100, 600)
	port := devices.StartSimPTY(t, sim)
	devs := []devices.Device{{Name: "ac-board", Driver: devices.DriverModbusRTU, Port: port, Baud: 600, MainsOnly: true, Timeout: 2 * time.Second, Points: []devices.Point{
		{Name: "voltage", Class: devices.ClassCollection, Period: time.Second, Kind: devices.KindHolding, Register: 0},
	}}}
	r, err := newRig(t, devs, 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.do("ac-board", "voltage", 0); err != nil {
		t.Fatal(err)
	}
	sent := r.rec.Written(port)
	res := make(chan error, 1)
	go func() { _, err := r.do("ac-board", "voltage", 0); res <- err }()
	time.Sleep(10 * time.Millisecond) // inside the 58 ms t3.5 wait
	r.s.GateMainsOnly()
	if err := <-res; !errors.Is(err, sched.ErrGated) {
		t.Fatalf("exchange waiting for t3.5 at the gate: %v, want ErrGated", err)
	}
	if got := r.rec.Written(port); got != sent {
		t.Fatalf("%d more bytes reached the mains-only port after the gate", got-sent)
	}
}
