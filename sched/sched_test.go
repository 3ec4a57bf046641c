package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ioErr is a driver error that names its outcome, as devices' errors do.
type ioErr string

func (e ioErr) Error() string     { return "io: " + string(e) }
func (e ioErr) IOOutcome() string { return string(e) }

// start runs a scheduler for the test's duration.
func start(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// blocker occupies an interface's owner until released, so that ops
// queue up behind it.
func blocker(t *testing.T, s *Scheduler, device string) (release func()) {
	t.Helper()
	started, rel := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = s.Do(context.Background(), Op{Device: device, Point: "blocker", Class: Control, Run: func(context.Context) (Result, error) {
			close(started)
			<-rel
			return Result{}, nil
		}})
	}()
	<-started
	return func() { close(rel) }
}

// waitQueued waits until n ops wait in the input channel of device's
// owner, which is held inside the blocker's exchange meanwhile.
func waitQueued(t *testing.T, s *Scheduler, device string, n int) {
	t.Helper()
	o := s.devices[device].owner
	deadline := time.Now().Add(5 * time.Second)
	for len(o.in) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs queued, want %d", len(o.in), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPriorityOrder(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "ttyS1"}}})
	release := blocker(t, s, "m")
	now := time.Now()
	ops := []struct {
		name  string
		class Class
		integ Integrity
		dl    time.Duration // 0: no deadline
	}{
		{"coll-unchecked-early", Collection, Unchecked, 1 * time.Second},
		{"coll-checked-none", Collection, Checked, 0},
		{"coll-checked-late", Collection, Checked, 9 * time.Second},
		{"ctl-unchecked", Control, Unchecked, 1 * time.Second},
		{"coll-checked-early", Collection, Checked, 2 * time.Second},
		{"ctl-checked-late", Control, Checked, 5 * time.Second},
		{"ctl-checked-early", Control, Checked, 3 * time.Second},
	}
	want := []string{"ctl-checked-early", "ctl-checked-late", "ctl-unchecked", "coll-checked-early", "coll-checked-late", "coll-checked-none", "coll-unchecked-early"}
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	for _, op := range ops {
		var dl time.Time
		if op.dl > 0 {
			dl = now.Add(op.dl)
		}
		wg.Go(func() {
			_, err := s.Do(context.Background(), Op{Device: "m", Point: op.name, Class: op.class, Integrity: op.integ, Deadline: dl,
				Run: func(context.Context) (Result, error) {
					mu.Lock()
					order = append(order, op.name)
					mu.Unlock()
					return Result{}, nil
				}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, s, "m", len(ops))
	release()
	wg.Wait()
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("order\n got %v\nwant %v", order, want)
	}
}

// port models a physical interface and counts the bytes sent to it.
type port struct {
	mu    sync.Mutex
	bytes map[string]int
}

func (p *port) op(device, point string, class Class, integ Integrity, n int) Op {
	return Op{Device: device, Point: point, Class: class, Integrity: integ, Business: "test",
		Run: func(context.Context) (Result, error) {
			p.mu.Lock()
			p.bytes[device] += n
			p.mu.Unlock()
			return Result{Value: float64(n), ChecksumKind: "crc16-modbus", Checksum: 0xBEEF}, nil
		}}
}

func (p *port) sent(device string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes[device]
}

func TestOutageGating(t *testing.T) {
	devs := []Device{
		{Name: "hplc", Interface: "ttyS2", MainsOnly: true},
		{Name: "heater", Interface: "rs485", DrawMW: 900},
		{Name: "meter", Interface: "rs485", DrawMW: 100},
	}
	s := start(t, Config{Devices: devs, DrawThresholdMW: 500})
	p := &port{bytes: map[string]int{}}
	ctx := context.Background()

	// Ops queued on the mains-only interface when the edge comes are
	// drained and told why.
	release := blocker(t, s, "hplc")
	queued := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := s.Do(ctx, p.op("hplc", fmt.Sprint("q", i), Collection, Checked, 8))
			queued <- err
		}()
	}
	waitQueued(t, s, "hplc", 3)
	if n := s.GateMainsOnly(); n != 2 {
		t.Fatalf("GateMainsOnly gated %d devices, want 2 (hplc mains-only, heater over the threshold)", n)
	}
	if n := s.GateMainsOnly(); n != 2 {
		t.Fatalf("GateMainsOnly during the outage says %d devices, want the same 2", n)
	}
	release()
	for range 3 {
		if err := <-queued; !errors.Is(err, ErrGated) {
			t.Fatalf("queued hplc op: %v, want ErrGated", err)
		}
	}
	if !s.InOutage() {
		t.Fatal("not in outage")
	}

	for _, dev := range []string{"hplc", "heater"} {
		for _, class := range []Class{Control, Collection} {
			if _, err := s.Do(ctx, p.op(dev, "x", class, Checked, 8)); !errors.Is(err, ErrGated) {
				t.Errorf("%s %v during outage: %v, want ErrGated", dev, class, err)
			}
		}
	}
	if _, err := s.Do(ctx, p.op("meter", "breaker", Control, Checked, 8)); err != nil {
		t.Errorf("control on meter during outage: %v", err)
	}
	if _, err := s.Do(ctx, p.op("meter", "energy", Collection, Checked, 8)); err != nil {
		t.Errorf("checked collection on meter during outage: %v", err)
	}
	for range 4 {
		if _, err := s.Do(ctx, p.op("meter", "temp", Collection, Unchecked, 8)); !errors.Is(err, ErrDropped) {
			t.Errorf("unchecked collection during outage: %v, want ErrDropped", err)
		}
	}
	if p.sent("hplc") != 0 || p.sent("heater") != 0 {
		t.Fatalf("bytes sent to gated devices during outage: hplc %d heater %d", p.sent("hplc"), p.sent("heater"))
	}
	if p.sent("meter") != 16 {
		t.Errorf("meter got %d bytes, want 16 (control + checked collection)", p.sent("meter"))
	}
	st, _ := s.Stats("rs485")
	if st.Dropped != 4 || st.Gated != 2 {
		t.Errorf("rs485 stats %+v, want 4 dropped, 2 gated", st)
	}
	if st, _ := s.Stats("ttyS2"); st.Gated != 5 {
		t.Errorf("ttyS2 gated %d, want 5 (3 drained + 2 refused)", st.Gated)
	}

	// Power back: gated devices wait for their interface's re-init.
	s.Restore()
	if _, err := s.Do(ctx, p.op("hplc", "x", Collection, Checked, 8)); !errors.Is(err, ErrAwaitingReinit) {
		t.Fatalf("hplc after restore, before reinit: %v", err)
	}
	if _, err := s.Do(ctx, p.op("meter", "temp", Collection, Unchecked, 8)); err != nil {
		t.Fatalf("unchecked collection after restore: %v", err)
	}
	reinits := 0
	if err := s.Reinit(ctx, "ttyS2", func(context.Context) error { reinits++; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(ctx, p.op("hplc", "x", Collection, Checked, 8)); err != nil || reinits != 1 {
		t.Fatalf("hplc after reinit: %v (reinits %d)", err, reinits)
	}
	if _, err := s.Do(ctx, p.op("heater", "x", Control, Checked, 8)); !errors.Is(err, ErrAwaitingReinit) {
		t.Fatalf("heater before rs485 reinit: %v", err)
	}
	if err := s.Reinit(ctx, "rs485", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(ctx, p.op("heater", "x", Control, Checked, 8)); err != nil {
		t.Fatalf("heater after reinit: %v", err)
	}
}

// An owner that slept through a whole outage still makes its gated
// devices wait for re-init.
func TestOutageNoticedAfterTheFact(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "ac", Interface: "ttyS3", MainsOnly: true}}})
	p := &port{bytes: map[string]int{}}
	s.GateMainsOnly()
	s.Restore()
	if _, err := s.Do(context.Background(), p.op("ac", "v", Collection, Checked, 8)); !errors.Is(err, ErrAwaitingReinit) {
		t.Fatalf("after a missed outage: %v, want ErrAwaitingReinit", err)
	}
}

func TestReinitDuringOutageKeepsGatedDevicesWaiting(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "ac", Interface: "ttyS3", MainsOnly: true}}})
	p := &port{bytes: map[string]int{}}
	ctx := context.Background()
	s.GateMainsOnly()
	if err := s.Reinit(ctx, "ttyS3", nil); err != nil {
		t.Fatal(err)
	}
	s.Restore()
	if _, err := s.Do(ctx, p.op("ac", "v", Collection, Checked, 8)); !errors.Is(err, ErrAwaitingReinit) {
		t.Fatalf("reinit during outage counted: %v", err)
	}
}

func TestOutageCollectionRate(t *testing.T) {
	const iv = 20 * time.Millisecond
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, OutageCollectInterval: iv})
	s.GateMainsOnly()
	var starts []time.Time
	for range 4 {
		_, err := s.Do(context.Background(), Op{Device: "m", Class: Collection, Integrity: Checked, Run: func(context.Context) (Result, error) {
			starts = append(starts, time.Now())
			return Result{}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < iv {
			t.Errorf("collection %d started %v after the previous, want ≥ %v", i, gap, iv)
		}
	}
	// Control is not held back by the rate.
	before := time.Now()
	if _, err := s.Do(context.Background(), Op{Device: "m", Class: Control, Run: func(context.Context) (Result, error) {
		if time.Since(before) >= iv {
			return Result{}, errors.New("control waited for the collection rate")
		}
		return Result{}, nil
	}}); err != nil {
		t.Fatal(err)
	}
}

func TestErrorRateWatch(t *testing.T) {
	alarms := make(chan Alarm, 4)
	s := start(t, Config{
		Devices:     []Device{{Name: "m", Interface: "rs485"}},
		ErrorWindow: 6, ErrorThreshold: 3,
		OnAlarm: func(a Alarm) { alarms <- a },
	})
	ctx := context.Background()
	run := func(err error) error {
		_, e := s.Do(ctx, Op{Device: "m", Class: Collection, Integrity: Checked, Run: func(context.Context) (Result, error) { return Result{}, err }})
		return e
	}
	// Exceptions are answers: they never close the path.
	for range 10 {
		if err := run(ioErr("exception")); Classify(err) != Exception {
			t.Fatalf("exception run: %v", err)
		}
	}
	// Two errors in the window: still open.
	_ = run(ioErr("checksum-mismatch"))
	_ = run(nil)
	_ = run(ioErr("length-mismatch"))
	if st, _ := s.Stats("rs485"); st.Closed {
		t.Fatal("closed below threshold")
	}
	// The third error within 6 exchanges closes it.
	if err := run(ioErr("timeout")); Classify(err) != Timeout {
		t.Fatalf("third error: %v", err)
	}
	a := <-alarms
	if a.Interface != "rs485" || a.Reason != AlarmErrorRate || a.Errors != 3 || a.Window != 6 || a.Last != Timeout {
		t.Fatalf("alarm %+v", a)
	}
	if err := run(nil); !errors.Is(err, ErrPathClosed) {
		t.Fatalf("after close: %v, want ErrPathClosed", err)
	}
	if err := s.Reinit(ctx, "rs485", func(context.Context) error { return errors.New("port gone") }); err == nil {
		t.Fatal("failed reinit reported success")
	}
	if a := <-alarms; a.Reason != AlarmReinitFailed {
		t.Fatalf("alarm %+v", a)
	}
	if err := s.Reinit(ctx, "rs485", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := run(nil); err != nil {
		t.Fatalf("after reinit: %v", err)
	}
	// The window was reset: two more errors do not close it.
	_ = run(ioErr("timeout"))
	_ = run(ioErr("timeout"))
	if st, _ := s.Stats("rs485"); st.Closed {
		t.Fatal("window not reset by reinit")
	}
	// A link failure closes at once.
	if err := run(ioErr("link-down")); Classify(err) != LinkDown {
		t.Fatal(err)
	}
	if a := <-alarms; a.Reason != AlarmLinkDown {
		t.Fatalf("alarm %+v", a)
	}
	if st, _ := s.Stats("rs485"); !st.Closed {
		t.Fatal("link down did not close the path")
	}
}

func TestInvalidReadingsDuringOutage(t *testing.T) {
	var (
		mu      sync.Mutex
		invalid []string
	)
	s := start(t, Config{
		Devices: []Device{{Name: "ac", Interface: "ttyS1", MainsOnly: true}, {Name: "m", Interface: "rs485"}},
		OnReading: func(r Reading) {
			if r.Invalid {
				mu.Lock()
				invalid = append(invalid, r.Device+"/"+r.Point)
				mu.Unlock()
			}
		},
	})
	ctx := context.Background()
	p := &port{bytes: map[string]int{}}
	for _, op := range []Op{
		p.op("ac", "voltage", Collection, Checked, 220),
		p.op("m", "energy", Collection, Checked, 42),
		p.op("m", "temp", Collection, Unchecked, 21),
	} {
		if _, err := s.Do(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := s.Latest(ctx, "ac", "voltage"); r.Invalid || r.Value != 220 {
		t.Fatalf("before outage: %+v", r)
	}
	s.GateMainsOnly()
	// Latest is served by the owner after it has acted on the outage.
	tests := []struct {
		dev, point string
		invalid    bool
		value      float64
	}{
		{"ac", "voltage", true, 0},
		{"m", "temp", true, 0},
		{"m", "energy", false, 42},
		{"m", "never-read", true, 0},
	}
	for _, tc := range tests {
		r, err := s.Latest(ctx, tc.dev, tc.point)
		if err != nil {
			t.Fatal(err)
		}
		if r.Invalid != tc.invalid || r.Value != tc.value {
			t.Errorf("%s/%s during outage: %+v, want invalid=%v value=%v", tc.dev, tc.point, r, tc.invalid, tc.value)
		}
	}
	// The owners report the markers as they act on the outage (Latest
	// does not wait for them).
	var got string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		mu.Lock()
		got = fmt.Sprint(invalid)
		mu.Unlock()
		if got == "[ac/voltage m/temp]" || got == "[m/temp ac/voltage]" {
			break
		}
	}
	if got != "[ac/voltage m/temp]" && got != "[m/temp ac/voltage]" {
		t.Errorf("invalid markers reported %v", got)
	}
}

type memJournal struct {
	mu   sync.Mutex
	recs []CriticalRecord
	got  chan struct{}
}

func (j *memJournal) Append(_ context.Context, r CriticalRecord) error {
	j.mu.Lock()
	j.recs = append(j.recs, r)
	j.mu.Unlock()
	j.got <- struct{}{}
	return nil
}

func TestCriticalRecordsJournalled(t *testing.T) {
	j := &memJournal{got: make(chan struct{}, 16)}
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	ctx := context.Background()
	p := &port{bytes: map[string]int{}}
	// Outside an outage nothing is journalled.
	_, _ = s.Do(ctx, p.op("m", "breaker", Control, Checked, 1))
	s.GateMainsOnly()
	ctl := p.op("m", "breaker", Control, Checked, 1)
	ctl.Business, ctl.Attrs = "switch-trip", map[string]string{"by": "protection"}
	_, _ = s.Do(ctx, ctl)
	_, _ = s.Do(ctx, p.op("m", "energy", Collection, Checked, 77))
	failing := Op{Device: "m", Point: "relay", Class: Control, Business: "switch-close", Run: func(context.Context) (Result, error) {
		return Result{Value: 1}, ioErr("timeout")
	}}
	_, _ = s.Do(ctx, failing)
	_, _ = s.Do(ctx, p.op("m", "temp", Collection, Unchecked, 5)) // dropped
	for range 3 {
		select {
		case <-j.got:
		case <-time.After(5 * time.Second):
			t.Fatal("journal records missing")
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) != 3 {
		t.Fatalf("%d records: %+v", len(j.recs), j.recs)
	}
	r := j.recs[0]
	if r.Business != "switch-trip" || r.Interface != "rs485" || r.Device != "m" || r.Point != "breaker" || r.Class != Control ||
		r.Attrs["by"] != "protection" || r.ChecksumKind != "crc16-modbus" || r.Checksum != 0xBEEF || r.Invalid || r.Time.IsZero() {
		t.Errorf("control record %+v", r)
	}
	if r := j.recs[1]; r.Point != "energy" || r.Value != 77 || r.Integrity != Checked || r.Invalid {
		t.Errorf("collection record %+v", r)
	}
	if r := j.recs[2]; r.Point != "relay" || !r.Invalid || r.Err == "" || r.Value != 1 {
		t.Errorf("failed control record %+v", r)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Outcome
	}{
		{nil, OK},
		{ioErr("checksum-mismatch"), ChecksumMismatch},
		{fmt.Errorf("wrapped: %w", ioErr("length-mismatch")), LengthMismatch},
		{ioErr("exception"), Exception},
		{ioErr("link-down"), LinkDown},
		{context.DeadlineExceeded, Timeout},
		{errors.New("mystery"), Other},
		{ioErr("no-such-outcome"), Other},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Devices: []Device{{Name: "a"}}},
		{Devices: []Device{{Name: "a", Interface: "x"}, {Name: "a", Interface: "y"}}},
		{ErrorWindow: 3, ErrorThreshold: 4},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	s := start(t, Config{Devices: []Device{{Name: "a", Interface: "x"}}})
	if _, err := s.Do(context.Background(), Op{Device: "zz"}); !errors.Is(err, ErrUnknownDevice) {
		t.Errorf("unknown device: %v", err)
	}
	if err := s.Reinit(context.Background(), "nope", nil); !errors.Is(err, ErrUnknownInterface) {
		t.Errorf("unknown interface: %v", err)
	}
}

// slowJournal appends after a delay and notes whether its context was
// already cancelled.
type slowJournal struct {
	mu        sync.Mutex
	recs      []CriticalRecord
	cancelled int
}

func (j *slowJournal) Append(ctx context.Context, r CriticalRecord) error {
	time.Sleep(5 * time.Millisecond)
	if ctx.Err() != nil {
		j.mu.Lock()
		j.cancelled++
		j.mu.Unlock()
		return ctx.Err()
	}
	j.mu.Lock()
	j.recs = append(j.recs, r)
	j.mu.Unlock()
	return nil
}

// Records handed over before shutdown are all written before Run returns.
func TestJournalDrainedOnStop(t *testing.T) {
	j := &slowJournal{}
	s, err := New(Config{Devices: []Device{{Name: "m", Interface: "rs485"}}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	s.GateMainsOnly()
	p := &port{bytes: map[string]int{}}
	for i := range 6 {
		if _, err := s.Do(ctx, p.op("m", fmt.Sprint("k", i), Control, Checked, 1)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) != 6 || j.cancelled != 0 {
		t.Fatalf("%d records written, %d appended with a cancelled context; want 6, 0", len(j.recs), j.cancelled)
	}
}

// The gate calls off an exchange to a gated device that has not sent its
// request yet; one to an ungated device runs on. Neither counts against
// the interface.
func TestGateCallsOffExchangeInProgress(t *testing.T) {
	s := start(t, Config{
		Devices:     []Device{{Name: "ac", Interface: "ttyS1", MainsOnly: true}, {Name: "m", Interface: "rs485"}},
		ErrorWindow: 1, ErrorThreshold: 1,
	})
	ctx := context.Background()
	started := make(chan string, 2)
	release := make(chan struct{})
	waitForSend := func(name string) func(context.Context) (Result, error) {
		return func(ctx context.Context) (Result, error) {
			started <- name
			select {
			case <-ctx.Done(): // e.g. the RTU t3.5 wait before the request
				return Result{}, fmt.Errorf("not sent: %w", ctx.Err())
			case <-release:
				return Result{Value: 1}, nil
			}
		}
	}
	acErr, mErr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, Op{Device: "ac", Class: Collection, Run: waitForSend("ac")})
		acErr <- err
	}()
	go func() {
		_, err := s.Do(ctx, Op{Device: "m", Class: Control, Run: waitForSend("m")})
		mErr <- err
	}()
	<-started
	<-started
	s.GateMainsOnly()
	if err := <-acErr; !errors.Is(err, ErrGated) {
		t.Fatalf("in-flight exchange to the mains-only device: %v, want ErrGated", err)
	}
	close(release)
	if err := <-mErr; err != nil {
		t.Fatalf("ungated exchange: %v", err)
	}
	for _, iface := range []string{"ttyS1", "rs485"} {
		if st, _ := s.Stats(iface); st.Closed {
			t.Errorf("%s closed by a called-off exchange", iface)
		}
	}
	if st, _ := s.Stats("ttyS1"); st.Gated != 1 || st.Dispatched != 0 {
		t.Errorf("ttyS1 stats %+v, want 1 gated, 0 dispatched", st)
	}
}

// Control requests (Latest, Reinit) are served between exchanges even
// while collection keeps the queue full.
func TestControlRequestsNotStarved(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "m", Interface: "rs485"}}})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	var runs sync.WaitGroup
	runs.Add(1)
	var once sync.Once
	for range 4 {
		wg.Go(func() {
			op := Op{Device: "m", Point: "e", Class: Collection, Run: func(context.Context) (Result, error) {
				once.Do(runs.Done)
				time.Sleep(200 * time.Microsecond)
				return Result{Value: 1}, nil
			}}
			for ctx.Err() == nil {
				_, _ = s.Do(ctx, op)
			}
		})
	}
	runs.Wait()
	for range 20 {
		lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := s.Latest(lctx, "m", "e"); err != nil {
			t.Fatalf("Latest under load: %v", err)
		}
		if err := s.Reinit(lctx, "rs485", nil); err != nil {
			t.Fatalf("Reinit under load: %v", err)
		}
		cancel()
	}
}

// TestNoStaleReadings: a reading whose latest collection failed, or whose
// interface was closed, reads invalid — never the last good value — and a
// good exchange makes it valid again; a caller's own cancel leaves it.
func TestNoStaleReadings(t *testing.T) {
	s := start(t, Config{
		Devices:     []Device{{Name: "m", Interface: "rs485"}, {Name: "n", Interface: "rs485"}},
		ErrorWindow: 4, ErrorThreshold: 2,
	})
	ctx := context.Background()
	read := func(dev string, v float64, err error) error {
		_, e := s.Do(ctx, Op{Device: dev, Point: "p", Class: Collection, Integrity: Checked,
			Run: func(context.Context) (Result, error) { return Result{Value: v}, err }})
		return e
	}
	latest := func(dev string) Reading {
		t.Helper()
		r, err := s.Latest(ctx, dev, "p")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name    string
		dev     string
		err     error
		v       float64
		invalid bool
		value   float64
	}{
		{"good", "m", nil, 7, false, 7},
		{"exception answer", "m", ioErr("exception"), 8, true, 0},
		{"good again", "m", nil, 9, false, 9},
		{"caller cancel", "m", context.Canceled, 10, false, 9},
		{"timeout", "m", ioErr("timeout"), 11, true, 0},
		{"good after timeout", "m", nil, 12, false, 12},
		{"other device good", "n", nil, 5, false, 5},
	}
	for _, st := range steps {
		_ = read(st.dev, st.v, st.err)
		if r := latest(st.dev); r.Invalid != st.invalid || r.Value != st.value {
			t.Fatalf("after %s: %+v, want invalid=%v value=%v", st.name, r, st.invalid, st.value)
		}
	}
	// A second error in the window, from the other device, closes the
	// path (the line, not one device): every reading on the interface goes
	// invalid.
	_ = read("n", 1, ioErr("checksum-mismatch"))
	if st, _ := s.Stats("rs485"); !st.Closed {
		t.Fatal("path not closed at the threshold")
	}
	for _, dev := range []string{"m", "n"} {
		if r := latest(dev); !r.Invalid || r.Value != 0 {
			t.Errorf("%s after closure: %+v, want invalid", dev, r)
		}
	}
	if err := s.Reinit(ctx, "rs485", nil); err != nil {
		t.Fatal(err)
	}
	if r := latest("n"); !r.Invalid {
		t.Errorf("reinit alone revived a reading: %+v", r)
	}
	_ = read("n", 6, nil)
	if r := latest("n"); r.Invalid || r.Value != 6 {
		t.Errorf("after reinit and a good read: %+v", r)
	}
}

// TestSilentDevice: a device that stops answering while another on the
// same bus answers is silenced — its ops fail at once without touching the
// bus, the path stays open for the other device and for control — then
// probed after a back-off that doubles while it stays silent, and back as
// soon as a probe gets an answer.
func TestSilentDevice(t *testing.T) {
	alarms := make(chan Alarm, 8)
	s := start(t, Config{
		Devices:     []Device{{Name: "good", Interface: "rs485"}, {Name: "dead", Interface: "rs485"}},
		ErrorWindow: 10, ErrorThreshold: 3,
		SilentBackoff: 100 * time.Millisecond, SilentBackoffMax: 400 * time.Millisecond,
		OnAlarm: func(a Alarm) { alarms <- a },
	})
	ctx := context.Background()
	var runs atomic.Int32 // exchanges that reached the dead device's "bus"
	answer := atomic.Bool{}
	dead := Op{Device: "dead", Point: "p", Class: Collection, Integrity: Checked, Run: func(context.Context) (Result, error) {
		runs.Add(1)
		if answer.Load() {
			return Result{Value: 1}, nil
		}
		return Result{}, ioErr("timeout")
	}}
	good := Op{Device: "good", Point: "p", Class: Collection, Integrity: Checked, Run: func(context.Context) (Result, error) { return Result{Value: 2}, nil }}
	do := func(op Op) error { _, err := s.Do(ctx, op); return err }

	if err := do(good); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := do(dead); Classify(err) != Timeout {
			t.Fatalf("dead device: %v, want a timeout", err)
		}
	}
	a := <-alarms
	if a.Reason != AlarmDeviceSilent || a.Device != "dead" || a.Interface != "rs485" || a.Errors != 3 {
		t.Fatalf("alarm %+v, want dead silenced", a)
	}
	st, _ := s.Stats("rs485")
	if st.Closed || st.WindowErrors != 0 || len(st.Silent) != 1 || st.Silent[0] != "dead" {
		t.Fatalf("after silencing: %+v, want the path open, the window clear, dead silent", st)
	}
	// Silenced: fails at once, nothing sent; the rest of the bus works.
	before := runs.Load()
	if err := do(dead); !errors.Is(err, ErrSilent) {
		t.Fatalf("silenced device: %v, want ErrSilent", err)
	}
	if runs.Load() != before {
		t.Fatal("a silenced device's op reached the bus")
	}
	if r, _ := s.Latest(ctx, "dead", "p"); !r.Invalid {
		t.Errorf("silenced device's reading %+v, want invalid", r)
	}
	if err := do(good); err != nil {
		t.Fatalf("the other device: %v", err)
	}
	if _, err := s.Do(ctx, Op{Device: "good", Point: "relay", Class: Control, Run: func(context.Context) (Result, error) { return Result{}, nil }}); err != nil {
		t.Fatalf("control on the bus: %v", err)
	}
	// After the back-off one probe goes out; it fails, so the back-off
	// doubles (capped) and the next op fails at once again.
	time.Sleep(110 * time.Millisecond)
	if err := do(dead); Classify(err) != Timeout || runs.Load() != before+1 {
		t.Fatalf("probe: %v (runs %d), want one timed-out exchange", err, runs.Load()-before)
	}
	if err := do(dead); !errors.Is(err, ErrSilent) {
		t.Fatalf("after a failed probe: %v, want ErrSilent", err)
	}
	if st, _ := s.Stats("rs485"); st.WindowErrors != 0 {
		t.Errorf("a failed probe counted against the interface: %d errors in its window", st.WindowErrors)
	}
	time.Sleep(50 * time.Millisecond) // well within the doubled back-off (200 ms)
	if err := do(dead); !errors.Is(err, ErrSilent) {
		t.Fatalf("within the doubled back-off: %v, want ErrSilent", err)
	}
	time.Sleep(200 * time.Millisecond)
	answer.Store(true)
	if err := do(dead); err != nil {
		t.Fatalf("answered probe: %v", err)
	}
	if silent, _ := s.Silent("dead"); silent {
		t.Fatal("still silent after an answered probe")
	}
	if r, _ := s.Latest(ctx, "dead", "p"); r.Invalid || r.Value != 1 {
		t.Errorf("reading after the device came back: %+v", r)
	}
	if st, _ := s.Stats("rs485"); st.Silenced != 3 || st.Closed {
		t.Errorf("stats %+v, want 3 silenced ops and the path open", st)
	}
}

// TestLatestDoesNotWaitForTheBus: Latest answers while the interface is in
// the middle of a long exchange (an HPLC relay can take seconds), and a
// gate that the busy owner has not yet acted on already makes the gated
// device's reading invalid — never current after the moment it stopped
// being so.
func TestLatestDoesNotWaitForTheBus(t *testing.T) {
	s := start(t, Config{Devices: []Device{{Name: "plc", Interface: "hplc", MainsOnly: true}, {Name: "relay", Interface: "hplc"}}})
	ctx := context.Background()
	if _, err := s.Do(ctx, Op{Device: "plc", Point: "e", Class: Collection, Integrity: Checked,
		Run: func(context.Context) (Result, error) { return Result{Value: 42}, nil }}); err != nil {
		t.Fatal(err)
	}
	release := blocker(t, s, "relay") // the owner is now inside an exchange
	defer release()
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r, err := s.Latest(lctx, "plc", "e")
	if err != nil || r.Invalid || r.Value != 42 {
		t.Fatalf("Latest during an exchange: %+v %v, want 42 at once", r, err)
	}
	s.GateMainsOnly()
	if r, err := s.Latest(lctx, "plc", "e"); err != nil || !r.Invalid || r.Value != 0 {
		t.Fatalf("Latest after the gate, owner still busy: %+v %v, want invalid", r, err)
	}
}
