package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"holdup/devices"
	"holdup/hplc"
	"holdup/hplc/dlt645"
	"holdup/proto698"
	"holdup/sched"
)

type fakeDriver struct {
	dev devices.Device
	val chan float64 // next read's value; closed: reads fail
}

func (f *fakeDriver) Device() devices.Device { return f.dev }
func (f *fakeDriver) Read(context.Context, devices.Point) (devices.Sample, error) {
	v, ok := <-f.val
	if !ok {
		return devices.Sample{}, devices.ErrTimeout
	}
	return devices.Sample{Value: v}, nil
}
func (f *fakeDriver) Write(context.Context, devices.Point, float64) (devices.Sample, error) {
	return devices.Sample{}, nil
}
func (f *fakeDriver) Reinit(context.Context) error { return nil }
func (f *fakeDriver) Close() error                 { return nil }

// TestReportLoop: periodic snapshots of the exposed collection points,
// NULL as soon as a point's collection fails; a refused send is skipped
// and the loop goes on.
func TestReportLoop(t *testing.T) {
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "m", Interface: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	drv := &fakeDriver{dev: devices.Device{Name: "m"}, val: make(chan float64, 1)}
	p := devices.Point{Name: "p", Class: devices.ClassCollection}
	c := devices.Point{Name: "c", Class: devices.ClassControl}
	nb := &northbound{sched: s, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1),
		points: map[uint32]nbPoint{0x2F000200: {drv, p}, 0x2F010200: {drv, c}}}

	drv.val <- 5
	if _, err := s.Do(ctx, pointOp(drv, p, 0)); err != nil {
		t.Fatal(err)
	}
	sent := make(chan []proto698.ResultNormal, 64)
	refuse := true
	go func() {
		_ = nb.reportLoop(ctx, 20*time.Millisecond, func(r []proto698.ResultNormal) error {
			if refuse {
				refuse = false
				return proto698.ErrQueueFull
			}
			sent <- r
			return nil
		})
	}()
	for range 2 {
		r := <-sent
		if oadsOf(r) != "2F000200" || r[0].Data != proto698.Float64(5) {
			t.Fatalf("report %#v, want 2F000200 = 5", r)
		}
	}
	close(drv.val) // the next collection fails
	if _, err := s.Do(ctx, pointOp(drv, p, 0)); err == nil {
		t.Fatal("failed read succeeded")
	}
	for end := time.Now().Add(5 * time.Second); ; {
		r := <-sent
		if r[0].Data == (proto698.Null{}) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("still reporting %#v after the collection failed", r[0].Data)
		}
	}
}

// TestOutageInvalidValues: from the confirmed loss to the confirmed return
// (the modules adapter's switch) the master reads NULL for every point —
// in GETs and in data reports — though the scheduler still collects the
// running ones with their real values; a point configured
// UplinkLiveInOutage keeps its live value, unless its collection stopped.
// Each switch asks for a data report at once.
func TestOutageInvalidValues(t *testing.T) {
	plcInvalid := make(chan struct{}, 1) // the owner marked the gated meter's reading invalid
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "inv", Interface: "x"}, {Name: "plc", Interface: "y", MainsOnly: true}},
		OnReading: func(r sched.Reading) {
			if r.Device == "plc" && r.Invalid {
				select {
				case plcInvalid <- struct{}{}:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	inv := &fakeDriver{dev: devices.Device{Name: "inv"}, val: make(chan float64, 1)}
	plc := &fakeDriver{dev: devices.Device{Name: "plc"}, val: make(chan float64, 1)}
	power := devices.Point{Name: "power", Class: devices.ClassCollection, UplinkOAD: 0x2F000200}
	volts := devices.Point{Name: "volts", Class: devices.ClassCollection, UplinkOAD: 0x2F010200, UplinkLiveInOutage: true}
	energy := devices.Point{Name: "energy", Class: devices.ClassCollection, UplinkOAD: 0x2F020200, UplinkLiveInOutage: true}
	limit := devices.Point{Name: "limit", Class: devices.ClassControl, UplinkOAD: 0x2F030200}
	var invalid atomic.Bool
	nb := &northbound{sched: s, invalid: &invalid, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1),
		points: map[uint32]nbPoint{power.UplinkOAD: {inv, power}, volts.UplinkOAD: {inv, volts}, energy.UplinkOAD: {plc, energy}, limit.UplinkOAD: {inv, limit}}}
	mods := modules{log: slog.New(slog.DiscardHandler), invalid: &invalid, report: nb.reportNow}
	collect := func(drv *fakeDriver, p devices.Point, v float64) {
		t.Helper()
		drv.val <- v
		if _, err := s.Do(ctx, pointOp(drv, p, 0)); err != nil {
			t.Fatalf("collect %s: %v", p.Name, err)
		}
	}
	text := func(d proto698.Data) string {
		if _, null := d.(proto698.Null); null {
			return "NULL"
		}
		return fmt.Sprint(d)
	}
	get := func(p devices.Point) string {
		t.Helper()
		d, dar := nb.Get(ctx, proto698.NewOAD(p.UplinkOAD))
		if dar != proto698.DARSuccess {
			return dar.String()
		}
		return text(d)
	}
	snap := func() string {
		var b strings.Builder
		for _, r := range nb.snapshot(ctx) {
			fmt.Fprintf(&b, "%s=%s ", r.OAD, text(r.Data))
		}
		return strings.TrimSpace(b.String())
	}
	reported := func(what string) {
		t.Helper()
		select {
		case <-nb.now:
		default:
			t.Errorf("%s: no data report asked for", what)
		}
	}
	collect(inv, power, 5)
	collect(inv, volts, 230)
	collect(plc, energy, 7)
	normal := snap()
	if want := "2F000200=5 2F010200=230 2F020200=7"; normal != want {
		t.Fatalf("before the outage: %s, want %s", normal, want)
	}

	// The edge gates the mains-only device; the confirmed loss switches
	// the modules to invalid values.
	s.GateMainsOnly()
	select {
	case <-plcInvalid:
	case <-time.After(10 * time.Second):
		t.Fatal("the gated meter's reading was never marked invalid")
	}
	mods.SetInvalid(true)
	reported("loss confirmed")
	if got, want := snap(), "2F000200=NULL 2F010200=230 2F020200=NULL"; got != want {
		t.Errorf("outage report: %s, want %s (NULL but for the live point still collected)", got, want)
	}
	for _, tc := range []struct {
		p    devices.Point
		want string
	}{{power, "NULL"}, {volts, "230"}, {energy, "NULL"}, {limit, proto698.DARReadDenied.String()}} {
		if got := get(tc.p); got != tc.want {
			t.Errorf("GET %s in the outage: %s, want %s", tc.p.Name, got, tc.want)
		}
	}
	// Locally the inverter's power is still collected, with its real value.
	collect(inv, power, 6)
	if r, err := s.Latest(ctx, "inv", "power"); err != nil || r.Invalid || r.Value != 6 {
		t.Errorf("scheduler's power reading in the outage: %+v %v, want 6", r, err)
	}
	if got := get(power); got != "NULL" {
		t.Errorf("GET power after a collection in the outage: %s, want NULL", got)
	}
	// A live point whose collection fails reads NULL, never its last value.
	close(inv.val)
	if _, err := s.Do(ctx, pointOp(inv, volts, 0)); err == nil {
		t.Fatal("failed read succeeded")
	}
	if got := get(volts); got != "NULL" {
		t.Errorf("GET of the live point after its collection failed: %s, want NULL", got)
	}

	// The confirmed return: values again where there are current ones.
	s.Restore()
	mods.SetInvalid(false)
	reported("return confirmed")
	if got, want := snap(), "2F000200=6 2F010200=NULL 2F020200=NULL"; got != want {
		t.Errorf("after the return: %s, want %s", got, want)
	}
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

func TestDarOf(t *testing.T) {
	cases := []struct {
		err  error
		want proto698.DAR
	}{
		{fmt.Errorf("x: %w", sched.ErrGated), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrPathClosed), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrAwaitingReinit), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrDisabled), proto698.DARTemporary},
		{fmt.Errorf("x: %w", sched.ErrSilent), proto698.DARHardware},
		{fmt.Errorf("x: %w", devices.ErrBadValue), proto698.DAROutOfRange},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), proto698.DARRequestTimeout},
		{fmt.Errorf("x: %w", &proto698.DARError{DAR: proto698.DARUnauthorized}), proto698.DARUnauthorized},
		{&devices.ExceptionError{Device: "d", Function: 0x86, Code: 2}, proto698.DARReadDenied},
		{errors.New("something else"), proto698.DAROther},
		// What the device clients classify reaches the master as the DAR
		// that names it (the clients' own tests are in devices).
		{fmt.Errorf("%w: %w", devices.ErrNoData, &dlt645.ExceptionError{Code: dlt645.ErrCodeAuth, Func: 0x14}), proto698.DARReadDenied},
		{fmt.Errorf("%w: %w", devices.ErrNoData, hplc.ErrDenied), proto698.DARReadDenied},
		{fmt.Errorf("%w: %w", devices.ErrTimeout, hplc.ErrTimeout), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrChecksumMismatch, errors.New("checksum")), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrLinkDown, errors.New("read /dev/ttyS4: input/output error")), proto698.DARHardware},
		{fmt.Errorf("%w: %w", devices.ErrNotSent, context.Canceled), proto698.DARTemporary},
	}
	for _, tc := range cases {
		if got := darOf(tc.err); got != tc.want {
			t.Errorf("darOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
