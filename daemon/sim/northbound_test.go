package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"holdup/config"
	"holdup/daemon"
	"holdup/devices"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
)

// awaitReport waits for a data report after the first skip ones that
// satisfies ok, and returns it.
func awaitReport(t *testing.T, m *proto698.MasterSim, skip int, ok func([]proto698.ResultNormal) bool) []proto698.ResultNormal {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		reps := m.DataReports()
		for i := skip; i < len(reps); i++ {
			if ok(reps[i]) {
				return reps[i]
			}
		}
	}
	t.Fatalf("no data report as wanted; got %v", m.DataReports())
	return nil
}

func oadsOf(rs []proto698.ResultNormal) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.OAD.String())
	}
	return b.String()
}

// readThrough reads item from a device through its driver, on the
// scheduler like any exchange, and returns the value.
func readThrough(t *testing.T, s *simDaemon, device, item string) float64 {
	t.Helper()
	drv := s.d.Driver(device)
	p := devices.Point{Name: "check-" + item, Class: devices.ClassCollection, Item: item}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.d.Scheduler().Do(ctx, sched.Op{Device: device, Point: p.Name, Class: sched.Collection, Integrity: sched.Checked,
		Run: func(ctx context.Context) (sched.Result, error) {
			smp, err := drv.Read(ctx, p)
			return sched.Result{Value: smp.Value}, err
		}})
	if err != nil {
		t.Fatalf("read %s %s: %v", device, item, err)
	}
	return res.Value
}

// masterGet reads oad through the simulated master station, waiting for
// the daemon's uplink to log in first.
func masterGet(t *testing.T, m *proto698.MasterSim, oad uint32) (proto698.Data, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		d, err := m.Get(ctx, proto698.NewOAD(oad))
		cancel()
		if !errors.Is(err, proto698.ErrNotLoggedIn) || time.Now().After(deadline) {
			return d, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func masterSet(t *testing.T, m *proto698.MasterSim, oad uint32, v proto698.Data) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	return m.Set(ctx, proto698.NewOAD(oad), v)
}

func wantDAR(t *testing.T, what string, err error, dar proto698.DAR) {
	t.Helper()
	var de *proto698.DARError
	if !errors.As(err, &de) || de.DAR != dar {
		t.Errorf("%s: %v, want DAR %v", what, err, dar)
	}
}

// TestNorthbound: the master station reads exposed points over the 698
// uplink and sets control points. From the confirmed loss of mains to its
// confirmed return every point reads NULL — in GETs, GET lists and data
// reports — even one the scheduler still collects on the capacitor, whose
// real value is kept locally; a point configured uplink_live_in_outage
// keeps its live value; control still works. After the return the master
// reads values again at once.
func TestNorthbound(t *testing.T) {
	const (
		inverterPower = 0x2F000200 // modbus-rtu input register, draw under the threshold
		inverterLimit = 0x2F010200 // modbus-rtu holding register (control)
		meterEnergy   = 0x2F020200 // dlt698 collection
		meterPortMode = 0x2F030200 // dlt698 SET (control)
		plcEnergy     = 0x2F040200 // hplc meter behind the mains-only module
		relayTrip     = 0x2F050200 // gpio output (control)
		plcDemand     = 0x2F060200 // hplc meter parameter (control: DL/T 645 write)
		inverterVolts = 0x2F070200 // modbus-rtu input register, uplink_live_in_outage (added here)
	)
	// Data reports only when asked: an hour's period never falls due here,
	// so a report proves the daemon sent it at once.
	s := startSim(t, t.TempDir(), func(c *config.Config, _ *daemon.Hardware) {
		c.Uplink.ReportPeriod = time.Hour
		for i := range c.Devices {
			if c.Devices[i].Name == "sim-inverter" {
				c.Devices[i].Points = append(c.Devices[i].Points, devices.Point{Name: "voltage", Class: devices.ClassCollection,
					Integrity: devices.IntegrityChecked, Period: 5 * time.Second, Deadline: 5 * time.Second, Kind: devices.KindInput,
					Type: devices.TypeU16, Register: 4, Scale: 1, UplinkOAD: inverterVolts, UplinkLiveInOutage: true})
			}
		}
	})
	m := s.rig.master
	all := []proto698.OAD{proto698.NewOAD(inverterPower), proto698.NewOAD(meterEnergy), proto698.NewOAD(plcEnergy), proto698.NewOAD(inverterVolts)}
	// getList reads every exposed collection point in one GET list and
	// returns the OADs that read NULL.
	getList := func(what string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		rs, err := m.GetList(ctx, all)
		if err != nil {
			t.Fatalf("GET list %s: %v", what, err)
		}
		return nullOADs(rs)
	}
	// Values as the scheduler holds them: the master gets exactly those.
	wantValue := func(oad uint32, device, point string) {
		t.Helper()
		var got proto698.Data
		for end := time.Now().Add(10 * time.Second); ; {
			var err error
			got, err = masterGet(t, m, oad)
			if err != nil {
				t.Fatalf("GET %08X: %v", oad, err)
			}
			if _, null := got.(proto698.Null); !null || time.Now().After(end) {
				break // NULL until the first collection
			}
			time.Sleep(50 * time.Millisecond)
		}
		r, err := s.d.Scheduler().Latest(context.Background(), device, point)
		if err != nil || r.Invalid {
			t.Fatalf("%s/%s: %+v %v", device, point, r, err)
		}
		if f, ok := got.(proto698.Float64); !ok || float64(f) != r.Value {
			t.Fatalf("GET %08X = %#v, want float64 %v (the scheduler's reading)", oad, got, r.Value)
		}
	}
	wantValue(inverterPower, "sim-inverter", "power")
	wantValue(meterEnergy, "sim-meter", "energy")
	wantValue(plcEnergy, "sim-plc-meter", "energy")
	wantValue(inverterVolts, "sim-inverter", "voltage")
	if got := getList("before the outage"); got != "" {
		t.Errorf("GET list before the outage: NULL for %s, want values", got)
	}

	// SET of control points runs through the scheduler to the device.
	if err := masterSet(t, m, inverterLimit, proto698.LongUnsigned(750)); err != nil {
		t.Fatalf("SET limit: %v", err)
	}
	if got := s.rig.slaves["sim-inverter"].Holding(10); got != 750 {
		t.Errorf("inverter holding 10 = %d after SET, want 750", got)
	}
	if err := masterSet(t, m, relayTrip, proto698.Bool(true)); err != nil {
		t.Fatalf("SET trip: %v", err)
	}
	if lvl := s.rig.chips["gpiochip1"].Level(0); lvl != 1 {
		t.Errorf("relay line = %d after SET true, want 1", lvl)
	}
	if err := masterSet(t, m, meterPortMode, proto698.Enum(2)); err != nil {
		t.Fatalf("SET port mode: %v", err)
	}
	if err := masterSet(t, m, plcDemand, proto698.Unsigned(15)); err != nil {
		t.Fatalf("SET demand period: %v", err)
	}
	if v := readThrough(t, s, "sim-plc-meter", "04000103"); v != 15 {
		t.Errorf("meter's demand period reads %v after SET 15", v)
	}
	// Refusals: each names why.
	wantDAR(t, "SET of a demand period beyond the item's 2 digits", masterSet(t, m, plcDemand, proto698.LongUnsigned(100)), proto698.DAROutOfRange)
	wantDAR(t, "SET of the meter's port mode out of its range", masterSet(t, m, meterPortMode, proto698.Enum(7)), proto698.DAROutOfRange)
	wantDAR(t, "SET of an inverter limit beyond u16", masterSet(t, m, inverterLimit, proto698.DoubleLong(70000)), proto698.DAROutOfRange)
	wantDAR(t, "SET of a measured point", masterSet(t, m, inverterPower, proto698.DoubleLong(1)), proto698.DARReadDenied)
	wantDAR(t, "SET with NULL", masterSet(t, m, inverterLimit, proto698.Null{}), proto698.DARTypeMismatch)
	wantDAR(t, "SET of an unexposed OAD", masterSet(t, m, 0x2F7F0200, proto698.Bool(true)), proto698.DARUndefined)
	_, err := masterGet(t, m, inverterLimit)
	wantDAR(t, "GET of a control point", err, proto698.DARReadDenied)
	_, err = masterGet(t, m, 0x2F7F0200)
	wantDAR(t, "GET of an unexposed OAD", err, proto698.DARUndefined)

	if n := len(m.DataReports()); n != 0 {
		t.Fatalf("%d data reports before any was due", n)
	}

	// Outage: the HPLC module is mains-only, so its meter's collection
	// stops; the inverter and the 698 meter (under the draw threshold)
	// keep collecting on the capacitor, but once the loss is confirmed the
	// master reads the initial invalid value (NULL) for all of them — but
	// the inverter's voltage, configured to keep its live value.
	after := s.d.Timeline().Last()
	if err := s.rig.SetMains(false); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepModulesInvalid, after)
	const nullInOutage = "2F000200 2F020200 2F040200"
	// The outage sends a data report at once: every exposed collection
	// point (not the control points), in OAD order.
	rep := awaitReport(t, m, 0, func([]proto698.ResultNormal) bool { return true })
	if got := oadsOf(rep); got != "2F000200 2F020200 2F040200 2F070200" {
		t.Errorf("data report OADs %s", got)
	}
	if got := nullOADs(rep); got != nullInOutage {
		t.Errorf("data report at the outage: NULL for %q, want %q: %v", got, nullInOutage, rep)
	}
	for _, oad := range []uint32{inverterPower, meterEnergy, plcEnergy} {
		if got, err := masterGet(t, m, oad); err != nil || got != (proto698.Null{}) {
			t.Errorf("GET %08X during the outage: %#v %v, want NULL", oad, got, err)
		}
	}
	if got := getList("during the outage"); got != nullInOutage {
		t.Errorf("GET list during the outage: NULL for %q, want %q", got, nullInOutage)
	}
	wantValue(inverterVolts, "sim-inverter", "voltage")
	// Locally the inverter's power is still collected (and journaled) with
	// its real value.
	if r, err := s.d.Scheduler().Latest(context.Background(), "sim-inverter", "power"); err != nil || r.Invalid {
		t.Errorf("the scheduler's inverter power during the outage: %+v %v, want its reading", r, err)
	}
	if err := masterSet(t, m, inverterLimit, proto698.LongUnsigned(100)); err != nil {
		t.Fatalf("SET limit during the outage: %v", err)
	}
	if got := s.rig.slaves["sim-inverter"].Holding(10); got != 100 {
		t.Errorf("inverter holding 10 = %d after SET in the outage, want 100", got)
	}
	// The HPLC module is shed: a SET to its meter is refused as
	// temporarily unavailable, and nothing reaches the module.
	st0, err := s.rig.hsim.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantDAR(t, "SET of a meter behind the shed HPLC module", masterSet(t, m, plcDemand, proto698.Unsigned(30)), proto698.DARTemporary)
	st1, err := s.rig.hsim.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st1.Commands) != len(st0.Commands) {
		t.Errorf("the shed module received %v during the outage", st1.Commands[len(st0.Commands):])
	}

	// The confirmed return ends the invalid values: a data report at once
	// carries the values collected on the capacitor (the mains-only
	// meter's stays NULL until its interface is back and it is read).
	skip := len(m.DataReports())
	after = s.d.Timeline().Last()
	if err := s.rig.SetMains(true); err != nil {
		t.Fatal(err)
	}
	s.wait(t, power.StepSleeping, after)
	awaitReport(t, m, skip, func(rs []proto698.ResultNormal) bool {
		return !strings.Contains(nullOADs(rs), "2F000200") && !strings.Contains(nullOADs(rs), "2F020200")
	})
	wantValue(inverterPower, "sim-inverter", "power")
	wantValue(meterEnergy, "sim-meter", "energy")
}

// nullOADs lists the OADs that read NULL, space-separated.
func nullOADs(rs []proto698.ResultNormal) string {
	var null []proto698.ResultNormal
	for _, r := range rs {
		if _, ok := r.Data.(proto698.Null); ok {
			null = append(null, r)
		}
	}
	return oadsOf(null)
}

// fakeDriver is a devices.Driver whose reads return what the test says.
