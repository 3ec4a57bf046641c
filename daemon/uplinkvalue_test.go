package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/devices"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

// TestNorthboundUplinkType: a GET and the data report carry a point's
// value as its uplink data type at its scaler; a value the type cannot
// carry reads NULL, and the warning about it is logged once a minute per
// point with the count held back.
func TestNorthboundUplinkType(t *testing.T) {
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "ac", Interface: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	drv := &fakeDriver{dev: devices.Device{Name: "ac"}, val: make(chan float64, 1)}
	ua := devices.Point{Name: "ua", Class: devices.ClassCollection, UplinkOAD: 0x20000201, UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}
	pa := devices.Point{Name: "pa", Class: devices.ClassCollection, UplinkOAD: 0x20040202, UplinkType: proto698.TypeDoubleLong, UplinkScaler: -1}
	plain := devices.Point{Name: "plain", Class: devices.ClassCollection, UplinkOAD: 0x2F000200}
	var logs bytes.Buffer
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	nb := &northbound{sched: s, log: slog.New(slog.NewTextHandler(&logs, nil)), now: make(chan struct{}, 1),
		points: map[uint32]nbPoint{ua.UplinkOAD: {drv, ua}, pa.UplinkOAD: {drv, pa}, plain.UplinkOAD: {drv, plain}}}
	nb.unencodable.now = func() time.Time { return clock }
	collect := func(p devices.Point, v float64) {
		t.Helper()
		drv.val <- v
		if _, err := s.Do(ctx, pointOp(drv, p, 0)); err != nil {
			t.Fatalf("collect %s: %v", p.Name, err)
		}
	}
	get := func(p devices.Point) proto698.Data {
		t.Helper()
		d, dar := nb.Get(ctx, proto698.NewOAD(p.UplinkOAD))
		if dar != proto698.DARSuccess {
			t.Fatalf("GET %s: %v", p.Name, dar)
		}
		return d
	}
	collect(ua, 224.13)
	collect(pa, -1234.56)
	collect(plain, 224.13)
	for p, want := range map[*devices.Point]proto698.Data{&ua: proto698.LongUnsigned(2241), &pa: proto698.DoubleLong(-12346), &plain: proto698.Float64(224.13)} {
		if got := get(*p); got != want {
			t.Errorf("GET %s = %#v, want %#v", p.Name, got, want)
		}
	}
	snap := nb.snapshot(ctx)
	want := []proto698.ResultNormal{
		{OAD: proto698.NewOAD(0x20000201), Data: proto698.LongUnsigned(2241)},
		{OAD: proto698.NewOAD(0x20040202), Data: proto698.DoubleLong(-12346)},
		{OAD: proto698.NewOAD(0x2F000200), Data: proto698.Float64(224.13)},
	}
	if !reflect.DeepEqual(snap, want) {
		t.Errorf("report %#v, want %#v", snap, want)
	}

	// 7000 V does not fit long-unsigned at 0.1 V: NULL, never 70000 mod 65536.
	collect(ua, 7000)
	for range 3 {
		if got := get(ua); got != (proto698.Null{}) {
			t.Fatalf("GET of 7000 V as long-unsigned -1 = %#v, want NULL", got)
		}
	}
	if n := strings.Count(logs.String(), "msg=\"value not representable"); n != 1 {
		t.Fatalf("%d warnings for three GETs within a minute, want 1:\n%s", n, &logs)
	}
	if snap := nb.snapshot(ctx); snap[0].Data != (proto698.Null{}) || snap[0].DAR != proto698.DARSuccess {
		t.Errorf("report of 7000 V: %#v", snap[0])
	}
	clock = clock.Add(time.Minute)
	get(ua)
	if n := strings.Count(logs.String(), "msg=\"value not representable"); n != 2 || !strings.Contains(logs.String(), "held_back=3") {
		t.Fatalf("a minute on: %d warnings, want 2 with held_back=3 (two GETs and a report):\n%s", n, &logs)
	}
}

// TestLimitedLog: per key, the first warning and then one per interval.
func TestLimitedLog(t *testing.T) {
	now := time.Unix(0, 0)
	l := limitedLog{now: func() time.Time { return now }, every: 10 * time.Second}
	type step struct {
		after time.Duration
		key   string
		ok    bool
		held  int
	}
	for i, s := range []step{
		{0, "a", true, 0}, {time.Second, "a", false, 0}, {time.Second, "b", true, 0}, {time.Second, "a", false, 0},
		{7 * time.Second, "a", true, 2}, {time.Second, "a", false, 0}, {20 * time.Second, "a", true, 1}, {0, "b", true, 0},
	} {
		now = now.Add(s.after)
		if ok, held := l.allow(s.key); ok != s.ok || held != s.held {
			t.Errorf("step %d (%s at %v): %v, %d; want %v, %d", i, s.key, now.Sub(time.Unix(0, 0)), ok, held, s.ok, s.held)
		}
	}
}

// TestUplinkHistoryValue: the outage history goes to the master with the
// same encoding as a GET.
func TestUplinkHistoryValue(t *testing.T) {
	ua := devices.Point{Name: "ua", UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}
	trip := devices.Point{Name: "trip", UplinkType: proto698.TypeUnsigned}
	for _, tc := range []struct {
		name  string
		r     store.Record
		p     devices.Point
		want  proto698.Data
		fails bool
	}{
		{"reading", store.Record{Value: 224.13}, ua, proto698.LongUnsigned(2241), false},
		{"integer", store.Record{Value: int64(230)}, ua, proto698.LongUnsigned(2300), false},
		{"unsigned", store.Record{Value: uint64(231)}, ua, proto698.LongUnsigned(2310), false},
		{"out of range", store.Record{Value: 7000.0}, ua, proto698.Null{}, true},
		{"negative", store.Record{Value: -1.0}, ua, proto698.Null{}, true},
		{"invalid", store.Record{Value: 224.1, Invalid: true}, ua, proto698.Null{}, false},
		{"failed control", store.Record{Value: 224.1, Attrs: map[string]any{"error": "timeout"}}, ua, proto698.Null{}, false},
		{"bool", store.Record{Value: true}, trip, proto698.Unsigned(1), false},
		{"string as it is", store.Record{Value: "x"}, ua, proto698.VisibleString("x"), false},
		{"no uplink type: float64", store.Record{Value: 224.13}, devices.Point{}, proto698.Float64(224.13), false},
	} {
		got, err := uplinkHistoryValue(tc.r, tc.p)
		if (err != nil) != tc.fails || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %#v, %v; want %#v (error %v)", tc.name, got, err, tc.want, tc.fails)
		}
	}
}

// TestForwarderUplinkType: a history report carries each record's value
// as its point's uplink type; one the type cannot carry goes as NULL with
// one warning for the report.
func TestForwarderUplinkType(t *testing.T) {
	var logs bytes.Buffer
	ref := pointRef{"ac", "ua"}
	f := &forwarder{oads: map[pointRef]proto698.OAD{ref: proto698.NewOAD(0x20000201)}, loc: time.UTC,
		points: map[pointRef]devices.Point{ref: {Name: "ua", UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}},
		log:    slog.New(slog.NewTextHandler(&logs, nil))}
	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	rec := func(v float64) store.Record {
		return store.Record{Time: at, Device: "ac", Attrs: map[string]any{"point": "ua"}, Value: v}
	}
	recs, send, local := f.report([]store.Outgoing{{No: 1, StoredRecord: store.StoredRecord{Record: rec(224.1)}}, {No: 2, StoredRecord: store.StoredRecord{Record: rec(9999)}}, {No: 3, StoredRecord: store.StoredRecord{Record: rec(0)}}})
	if len(recs) != 1 || len(send) != 3 || len(local) != 0 {
		t.Fatalf("report %v, send %v, local %v", recs, send, local)
	}
	rows, err := proto698.ParseHistory(recs[0], time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var got []proto698.Data
	for _, r := range rows {
		got = append(got, r.Value)
	}
	if want := []proto698.Data{proto698.LongUnsigned(2241), proto698.Null{}, proto698.LongUnsigned(0)}; !reflect.DeepEqual(got, want) {
		t.Errorf("values %#v, want %#v", got, want)
	}
	if n := strings.Count(logs.String(), "cannot carry"); n != 1 || !strings.Contains(logs.String(), "records=1") {
		t.Errorf("%d warnings, want one for one record:\n%s", n, &logs)
	}
}

// writeDriver records the values written to it.
type writeDriver struct {
	fakeDriver
	mu      sync.Mutex
	written []float64
}

func (w *writeDriver) Write(_ context.Context, _ devices.Point, v float64) (devices.Sample, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, v)
	return devices.Sample{Value: v}, nil
}

// TestNorthboundSetUplinkType: a master's SET of a control point with an
// uplink type is read in engineering units (raw × 10^scaler) and must have
// that type; one without keeps taking any numeric value as it is.
func TestNorthboundSetUplinkType(t *testing.T) {
	s, err := sched.New(sched.Config{Devices: []sched.Device{{Name: "inv", Interface: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	drv := &writeDriver{fakeDriver: fakeDriver{dev: devices.Device{Name: "inv"}}}
	limit := devices.Point{Name: "limit", Class: devices.ClassControl, UplinkOAD: 0x2F010200, UplinkType: proto698.TypeLongUnsigned, UplinkScaler: -1}
	plain := devices.Point{Name: "plain", Class: devices.ClassControl, UplinkOAD: 0x2F020200}
	nb := &northbound{sched: s, log: slog.New(slog.DiscardHandler), now: make(chan struct{}, 1),
		points: map[uint32]nbPoint{limit.UplinkOAD: {drv, limit}, plain.UplinkOAD: {drv, plain}}}
	for _, c := range []struct {
		oad uint32
		v   proto698.Data
		dar proto698.DAR
	}{
		{limit.UplinkOAD, proto698.LongUnsigned(2241), proto698.DARSuccess},
		{limit.UplinkOAD, proto698.DoubleLong(2241), proto698.DARTypeMismatch},
		{limit.UplinkOAD, proto698.Null{}, proto698.DARTypeMismatch},
		{plain.UplinkOAD, proto698.DoubleLong(2241), proto698.DARSuccess},
	} {
		if dar := nb.Set(ctx, proto698.NewOAD(c.oad), c.v); dar != c.dar {
			t.Errorf("SET %08X %#v = %v, want %v", c.oad, c.v, dar, c.dar)
		}
	}
	drv.mu.Lock()
	defer drv.mu.Unlock()
	if want := []float64{224.1, 2241}; !reflect.DeepEqual(drv.written, want) {
		t.Errorf("written %v, want %v", drv.written, want)
	}
}
