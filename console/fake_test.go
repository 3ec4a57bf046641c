package console

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

var t0 = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// fakeDaemon stands in for the daemon: canned state, and a record
// of every action the console asked for.
type fakeDaemon struct {
	mu      sync.Mutex
	actions []string
	reads   int // State calls
	log     *LogRing
}

func (f *fakeDaemon) read() {
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
}

func (f *fakeDaemon) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeDaemon) did(a string) {
	f.mu.Lock()
	f.actions = append(f.actions, a)
	f.mu.Unlock()
}

func (f *fakeDaemon) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.actions...)
}

func (f *fakeDaemon) Status(context.Context) (Status, error) {
	f.read()
	return Status{Power: "outage", Since: t0.Add(90 * time.Second), MainsV: []float64{12.5, 0, 3.25},
		HoldupLeft: 151*time.Second + 400*time.Millisecond, HoldupBudget: 180 * time.Second, SupercapV: 5.125,
		JournalUsed: 1234, JournalSize: 32768, JournalRecords: 12, HistoryKnown: true, HistoryPending: 4, HistoryDelivered: 31,
		AlarmReportsPending: 2, JournalCapacityRecords: 172, JournalEstimateS: ptr(310.4),
		Alarms: []string{"mains lost on all phases", "device pv-cabinet gated"}}, nil
}

func (f *fakeDaemon) Outages(_ context.Context, n int) ([]Outage, error) {
	f.read()
	all := []Outage{
		{ID: 12, Begin: t0.Add(90 * time.Second), Records: 3, State: "open"},
		{ID: 11, Begin: t0.Add(-time.Hour), End: t0.Add(-time.Hour + 159*time.Second), Records: 37, State: "warm",
			Evidence: "same boot 5f0c: the terminal never lost power"},
	}
	return all[:min(n, len(all))], nil
}

func (f *fakeDaemon) JournalStats(context.Context) (JournalStats, error) {
	f.read()
	return JournalStats{Part: "at24c256", Size: 32768, PageSize: 64, Used: 1234, Records: 12,
		FirstSeq: 100, LastSeq: 111, Consumed: 99, OpenOutage: true, OpenSince: t0.Add(90 * time.Second)}, nil
}

func (f *fakeDaemon) JournalTail(_ context.Context, n int) ([]JournalRecord, error) {
	f.read()
	all := []JournalRecord{
		{Seq: 109, Time: t0.Add(91 * time.Second), Kind: "outage-begin", Summary: "mains 12.5/0.0/3.2 V"},
		{Seq: 110, Time: t0.Add(95 * time.Second), Kind: "reading", Summary: "inverter1/active_power = 5.210 kW"},
		{Seq: 111, Time: t0.Add(96 * time.Second), Kind: "reading",
			Summary: "meter-bus/forward_energy = 123456.78 kWh, a summary long enough to pass the eightieth column"},
	}
	return all[max(0, len(all)-n):], nil
}

func (f *fakeDaemon) Devices(context.Context) ([]Device, error) {
	f.read()
	return []Device{
		{Name: "inverter1", Driver: "modbus-rtu", Enabled: true, DrawMW: 300, State: "ok", ErrorRate: 0.025, LastOK: t0.Add(95 * time.Second)},
		{Name: "pv-cabinet", Driver: "modbus-tcp", Enabled: true, Gated: true, MainsOnly: true, DrawMW: 2500, State: "ok"},
		{Name: "relay", Driver: "gpio-output", Enabled: false, DrawMW: 50, State: "ok"},
	}, nil
}

func (f *fakeDaemon) Points(_ context.Context, device string) ([]Point, error) {
	f.read()
	// An outage: the inverter still collects on the capacitor, the master
	// reads NULL for its power but the live value of its grid voltage
	// (configured to keep it); the gated cabinet has no value at all.
	all := []Point{
		{Device: "inverter1", Name: "active_power", Class: "collection", Value: 5.21, Measured: true, Time: t0.Add(95 * time.Second), UplinkOAD: "2F000200", UplinkNull: true},
		{Device: "inverter1", Name: "grid_voltage", Class: "collection", Value: 231.4, Measured: true, Time: t0.Add(95 * time.Second), UplinkOAD: "2F070200"},
		{Device: "inverter1", Name: "temperature", Class: "collection", Value: 41.5, Measured: true, Time: t0.Add(-25 * time.Hour)},
		{Device: "inverter1", Name: "power_limit", Class: "control", UplinkOAD: "2F010200"},
		{Device: "pv-cabinet", Name: "grid_export", Class: "collection", Invalid: true, Time: t0.Add(91 * time.Second), UplinkOAD: "2F020200", UplinkNull: true},
	}
	if device == "" {
		return all, nil
	}
	var out []Point
	for _, p := range all {
		if p.Device == device {
			out = append(out, p)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("no device %q", device)
	}
	return out, nil
}

func (f *fakeDaemon) History(_ context.Context, device string, n int) ([]HistoryRecord, error) {
	f.read()
	all := []HistoryRecord{
		{Time: t0.Add(-time.Hour), Business: "event", Device: "mains", Point: "outage-begin", Value: nil},
		{Time: t0.Add(-time.Hour + time.Second), Business: "control", Device: "breaker-07", Point: "switch", Value: true},
		{Time: t0.Add(-time.Hour + 2*time.Second), Business: "collection", Device: "inverter1", Point: "active_power", Value: 5210.5},
		{Time: t0.Add(-time.Hour + 3*time.Second), Business: "collection", Device: "inverter1", Point: "active_power", Value: 123456789.123, Invalid: true},
		{Time: t0.Add(-time.Hour + 4*time.Second), Business: "alarm", Device: "a-device-with-a-very-long-name-indeed", Point: "fault", Value: "over temperature in the cabinet"},
		{Time: t0.Add(-time.Hour + 5*time.Second), Business: "collection", Device: "meter-3", Point: "frame", Value: []byte{0x68, 0x10, 0x16}},
		{Time: t0.Add(-time.Hour + 6*time.Second), Business: "collection", Device: "meter-3", Value: int64(-42)},
	}
	if device == "down" {
		return nil, errors.New("data store unavailable: journal records are kept until it opens")
	}
	var out []HistoryRecord
	for _, r := range all {
		if device == "" || r.Device == device {
			out = append(out, r)
		}
	}
	return out[max(0, len(out)-n):], nil
}

func (f *fakeDaemon) Sched(context.Context) (SchedStats, error) {
	f.read()
	return SchedStats{Mode: "outage",
		Queues: []Queue{{Name: "/dev/ttyS1", Depth: 3, Capacity: 64, Done: 1000, Failed: 25}},
		Gated:  []string{"pv-cabinet", "plc-meter-7"},
		Errors: []ErrorRate{{Device: "inverter1", Failed: 1, Total: 40}, {Device: "plc-meter-7", Failed: 9, Total: 10, Flagged: true}},
	}, nil
}

func (f *fakeDaemon) Log(_ context.Context, n int) ([]string, error) {
	f.read()
	return f.log.Lines(n), nil
}

func (f *fakeDaemon) Config(context.Context) ([]string, error) {
	f.read()
	return []string{"eeprom    at24c256 (32768 B, 64 B pages) at 0x50 on /dev/i2c-5"}, nil
}

func (f *fakeDaemon) JournalConsume(context.Context) (int, error) {
	f.did("journal consume")
	return 7, nil
}

func (f *fakeDaemon) SetDeviceEnabled(_ context.Context, name string, on bool) error {
	f.did(fmt.Sprintf("device %s %v", name, on))
	if name == "nosuch" {
		return errors.New("no device named \"nosuch\"")
	}
	return nil
}

func (f *fakeDaemon) SimulateMains(_ context.Context, present bool) error {
	f.did(fmt.Sprintf("mains %v", present))
	return nil
}

// fakeClock is the console's clock, moved by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }
