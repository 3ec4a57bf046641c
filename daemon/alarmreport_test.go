package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"holdup/console"
	"holdup/power"
	"holdup/proto698"
	"holdup/sched"
	"holdup/store"
)

var alarmTestLoc = time.FixedZone("CST", 8*3600)

// startAlarmMaster runs a master station until the test ends.
func startAlarmMaster(t *testing.T) *proto698.MasterSim {
	t.Helper()
	m, err := proto698.NewMasterSim("127.0.0.1:0", alarmTestLoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("master: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// alarmRun is one run of the reporter and its uplink (a daemon's life).
type alarmTestRun struct {
	r      *alarmReporter
	up     *proto698.Uplink
	handed chan proto698.Event // every event the reporter handed the uplink
	stop   func()
}

// handing records what the reporter hands the uplink.
type handing struct {
	u  *proto698.Uplink
	ch chan proto698.Event
}

func (h handing) ReportEvent(ev proto698.Event) error {
	err := h.u.ReportEvent(ev)
	if err == nil {
		h.ch <- ev
	}
	return err
}

// startAlarmRun starts a reporter on ds (nil until set, see dsOf) and an
// uplink to m; the uplink's Run starts only when runUplink is called
// (runUplink false: at once).
func startAlarmRun(t *testing.T, m *proto698.MasterSim, ds func() *store.DataStore, setup func(*alarmReporter), upcfg ...func(*alarmReporter, *proto698.UplinkConfig)) (*alarmTestRun, func()) {
	t.Helper()
	addr, err := proto698.ParseAddress(proto698.AddrSingle, "000000000322")
	if err != nil {
		t.Fatal(err)
	}
	r := newAlarmReporter(ds, slog.New(slog.DiscardHandler))
	cfg := proto698.UplinkConfig{Master: m.Addr(), Addr: addr, Location: alarmTestLoc,
		Heartbeat: 50 * time.Millisecond, ResponseTimeout: 250 * time.Millisecond, MissedHeartbeats: 1000,
		RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, OnEventConfirm: r.confirmed}
	for _, f := range upcfg {
		f(r, &cfg)
	}
	up, err := proto698.NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := &alarmTestRun{r: r, up: up, handed: make(chan proto698.Event, 64)}
	r.up = handing{up, run.handed}
	r.hplc = func(iface string) bool { return iface == "/dev/ttyHPLC" }
	if setup != nil {
		setup(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.run(ctx); err != nil {
			t.Errorf("reporter: %v", err)
		}
	}()
	startUplink := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := up.Run(ctx); err != nil {
				t.Errorf("uplink: %v", err)
			}
		}()
	}
	var once sync.Once
	run.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(run.stop)
	return run, startUplink
}

func openAlarmStore(t *testing.T, path string) *store.DataStore {
	t.Helper()
	ds, err := store.OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// awaitMaster reads master events until one of kind k arrives.
func awaitMaster(t *testing.T, m *proto698.MasterSim, k proto698.MasterEventKind) proto698.MasterEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-m.Events():
			if e.Kind == k {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s from the master (stats %+v)", k, m.Stats())
		}
	}
}

// awaitDelivered waits until the data store holds no pending alarm.
func awaitDelivered(t *testing.T, ds *store.DataStore, want int) []store.AlarmRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var all []store.AlarmRecord
		if err := ds.AlarmHistory(store.HistoryQuery{}, func(a store.AlarmRecord) error { all = append(all, a); return nil }); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range all {
			if !a.Delivered.IsZero() {
				n++
			}
		}
		if n == want {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %+v delivered, want %d", n, all, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Each alarm kind reaches the master as its event object with its source
// and code, numbered per object.
func TestAlarmKindsReachMaster(t *testing.T) {
	m := startAlarmMaster(t)
	ds := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	run, startUplink := startAlarmRun(t, m, func() *store.DataStore { return ds }, nil)
	startUplink()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	cases := []struct {
		a    power.Alarm
		obj  proto698.OAD
		src  proto698.FaultSource
		seq  uint32
		code string
	}{
		{power.Alarm{Code: alarmUplinkAuth, Err: proto698.ErrBadMAC}, proto698.OADAuthErrorEvent, 0, 1, "uplink-auth"},
		{power.Alarm{Code: power.AlarmJournal, Err: errors.New("lost")}, proto698.OADFaultEvent, proto698.FaultMemory, 1, "journal"},
		{power.Alarm{Code: alarmDataStoreDamaged, Err: errors.New("moved aside")}, proto698.OADFaultEvent, proto698.FaultMemory, 2, "data-store-damaged"},
		{power.Alarm{Code: power.AlarmVoltmeterUnreachable, Err: errors.New("no answer")}, proto698.OADFaultEvent, proto698.FaultBoardComm, 3, "voltmeter-unreachable"},
		{power.Alarm{Code: alarmHPLC, Err: errors.New("module")}, proto698.OADFaultEvent, proto698.FaultCarrier, 4, "hplc"},
		{power.Alarm{Code: alarmDevices, Err: errors.New("open")}, proto698.OADFaultEvent, proto698.FaultRS485, 5, "devices"},
		{power.Alarm{Code: "io-error-rate", Err: ioAlarmError{sched.Alarm{Interface: "/dev/ttyHPLC", Reason: sched.AlarmErrorRate}}}, proto698.OADFaultEvent, proto698.FaultCarrier, 6, "io-error-rate"},
		{power.Alarm{Code: "io-link-down", Err: ioAlarmError{sched.Alarm{Interface: "/dev/ttyS1", Reason: sched.AlarmLinkDown}}}, proto698.OADFaultEvent, proto698.FaultRS485, 7, "io-link-down"},
		{power.Alarm{Code: alarmHooks, Err: errors.New("broker")}, proto698.OADFaultEvent, proto698.FaultOther, 8, "hooks"},
	}
	for i, c := range cases {
		c.a.At = t0.Add(time.Duration(i) * time.Second)
		run.r.raise(c.a)
	}
	got := map[string]proto698.AlarmEvent{}
	for len(got) < len(cases) {
		e := awaitMaster(t, m, proto698.MasterAlarmReport)
		got[e.Alarm.Code] = e.Alarm
	}
	for i, c := range cases {
		want := proto698.AlarmEvent{Object: c.obj, Seq: c.seq, Source: c.src, Start: t0.Add(time.Duration(i) * time.Second), Count: 1, Code: c.code}
		if g := got[c.code]; g != want {
			t.Errorf("%s: master got %+v, want %+v", c.code, g, want)
		}
	}
	all := awaitDelivered(t, ds, len(cases))
	if all[0].ObjectName != "3109 message authentication error" || all[4].ObjectName != "310A device fault: carrier channel abnormal" {
		t.Errorf("object names %q, %q", all[0].ObjectName, all[4].ObjectName)
	}
}

// An alarm the master received but whose confirmation was lost is resent
// after a restart with the same number; the master keeps it once, and
// numbering goes on after it.
func TestAlarmExactlyOnceAcrossRestart(t *testing.T) {
	m := startAlarmMaster(t)
	path := filepath.Join(t.TempDir(), "data.db")
	ds, err := store.OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m.WithholdConfirms(1000) // the first run never hears a confirmation
	run1, start1 := startAlarmRun(t, m, func() *store.DataStore { return ds }, nil)
	start1()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	run1.r.raise(power.Alarm{Code: power.AlarmJournal, Err: errors.New("lost"), At: t0})
	first := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
	run1.stop()
	if p, _ := ds.PendingAlarms(0); len(p) != 1 || p[0].Seq != first.Seq {
		t.Fatalf("pending after the first run %+v, want the one sent", p)
	}
	ds.Close()

	m.WithholdConfirms(0)
	ds2 := openAlarmStore(t, path)
	run2, start2 := startAlarmRun(t, m, func() *store.DataStore { return ds2 }, nil)
	start2()
	if dup := awaitMaster(t, m, proto698.MasterAlarmDuplicate).Alarm; dup != first {
		t.Errorf("resent %+v, want %+v", dup, first)
	}
	awaitDelivered(t, ds2, 1)
	run2.r.raise(power.Alarm{Code: power.AlarmJournal, Err: errors.New("lost again"), At: t0.Add(2 * time.Minute)})
	if next := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm; next.Seq != first.Seq+1 {
		t.Errorf("next alarm seq %d, want %d", next.Seq, first.Seq+1)
	}
	awaitDelivered(t, ds2, 2)
	if a := m.Alarms(); len(a) != 2 {
		t.Errorf("master holds %d alarms, want 2: %+v", len(a), a)
	}
}

// A data store replaced by a fresh one (the damaged one moved aside)
// numbers alarms from 1 again; the master tells them from the old ones by
// their start time and stores them, while a resend of an old one is still
// dropped as a duplicate.
func TestAlarmNumberingRestartsWithFreshStore(t *testing.T) {
	m := startAlarmMaster(t)
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	ds1 := openAlarmStore(t, filepath.Join(dir, "data.db"))
	run1, start1 := startAlarmRun(t, m, func() *store.DataStore { return ds1 }, nil)
	start1()
	run1.r.raise(power.Alarm{Code: power.AlarmJournal, Err: errors.New("lost"), At: t0})
	run1.r.raise(power.Alarm{Code: alarmUplinkAuth, Err: proto698.ErrBadMAC, At: t0.Add(time.Second)})
	old := map[string]proto698.AlarmEvent{}
	for len(old) < 2 {
		a := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
		old[a.Code] = a
	}
	awaitDelivered(t, ds1, 2)
	run1.stop()
	ds1.Close()

	// The fresh data store: numbering starts again.
	ds2 := openAlarmStore(t, filepath.Join(dir, "data.db.fresh"))
	run2, start2 := startAlarmRun(t, m, func() *store.DataStore { return ds2 }, nil)
	start2()
	t1 := t0.Add(10 * time.Minute)
	run2.r.raise(power.Alarm{Code: power.AlarmJournal, Err: errors.New("lost again"), At: t1})
	run2.r.raise(power.Alarm{Code: alarmUplinkAuth, Err: proto698.ErrBadMAC, At: t1.Add(time.Second)})
	for range 2 {
		e := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
		prev := old[e.Code]
		if e.Seq != 1 || e.Seq != prev.Seq || e.Object != prev.Object || e.Start.Equal(prev.Start) {
			t.Errorf("new %s alarm %+v, want seq 1 again (as %+v) with its own start", e.Code, e, prev)
		}
	}
	awaitDelivered(t, ds2, 2)
	if a := m.Alarms(); len(a) != 4 {
		t.Errorf("master holds %d alarms, want 4: %+v", len(a), a)
	}
	if st := m.Stats(); st.AlarmDuplicates != 0 {
		t.Errorf("master dropped %d alarms as duplicates", st.AlarmDuplicates)
	}
	// An old alarm resent (same object, number and start) is still one.
	if err := run2.up.ReportEvent(alarmEvent(store.AlarmRecord{Code: old["journal"].Code, Object: old["journal"].Object.Uint32(),
		Source: int(old["journal"].Source), Seq: 1, Time: old["journal"].Start, Count: 1})); err != nil {
		t.Fatal(err)
	}
	if dup := awaitMaster(t, m, proto698.MasterAlarmDuplicate).Alarm; dup != old["journal"] {
		t.Errorf("resent %+v, want %+v", dup, old["journal"])
	}
	if a := m.Alarms(); len(a) != 4 {
		t.Errorf("master holds %d alarms after the resend, want 4", len(a))
	}
}

// A power event enqueued after an alarm was handed to the uplink still
// goes first.
func TestAlarmAfterPowerEvents(t *testing.T) {
	m := startAlarmMaster(t)
	ds := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	run, startUplink := startAlarmRun(t, m, func() *store.DataStore { return ds }, nil)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	run.r.raise(power.Alarm{Code: alarmHPLC, Err: errors.New("module"), At: t0})
	<-run.handed
	if err := run.up.ReportPowerEvent(proto698.PowerEvent{Seq: 3, Kind: proto698.PowerOff, Start: t0}); err != nil {
		t.Fatal(err)
	}
	startUplink()
	var order []string
	for len(order) < 2 {
		e := <-m.Events()
		switch e.Kind {
		case proto698.MasterReport:
			order = append(order, "power "+e.Event.Key())
		case proto698.MasterAlarmReport:
			order = append(order, "alarm "+e.Alarm.Key())
		}
	}
	if fmt.Sprint(order) != "[power 3/power-off alarm 310A/1@1772323200]" {
		t.Errorf("master received %q", order)
	}
}

// An alarm raised while the data store is unavailable (a damaged one
// found at start, before the fresh one opens) waits in memory and is
// stored and delivered once the store opens.
func TestAlarmBeforeStoreOpens(t *testing.T) {
	m := startAlarmMaster(t)
	var (
		mu sync.Mutex
		ds *store.DataStore
	)
	get := func() *store.DataStore { mu.Lock(); defer mu.Unlock(); return ds }
	run, startUplink := startAlarmRun(t, m, get, nil)
	startUplink()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	run.r.raise(power.Alarm{Code: alarmDataStoreDamaged, Err: errors.New("moved aside"), At: t0})
	awaitMaster(t, m, proto698.MasterLogin)
	select {
	case ev := <-run.handed:
		t.Fatalf("handed %v before the data store opened", ev)
	case <-time.After(50 * time.Millisecond):
	}
	opened := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	mu.Lock()
	ds = opened
	mu.Unlock()
	run.r.storeOpened()
	got := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
	if got.Code != "data-store-damaged" || got.Source != proto698.FaultMemory || !got.Start.Equal(t0) || got.Seq != 1 {
		t.Errorf("master got %+v", got)
	}
	awaitDelivered(t, opened, 1)
}

// Repeats of one kind within the window are one report with their count
// when the window ends; another kind is not held back.
func TestAlarmRateLimit(t *testing.T) {
	m := startAlarmMaster(t)
	ds := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	)
	fire := make(chan time.Time, 1)
	asked := make(chan time.Duration, 8)
	run, startUplink := startAlarmRun(t, m, func() *store.DataStore { return ds }, func(r *alarmReporter) {
		r.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		r.after = func(d time.Duration) <-chan time.Time { asked <- d; return fire }
	})
	startUplink()
	t0 := now
	link := func(i int) power.Alarm {
		return power.Alarm{Code: "io-link-down", Err: ioAlarmError{sched.Alarm{Interface: "/dev/ttyS1", Reason: sched.AlarmLinkDown}}, At: t0.Add(time.Duration(i) * time.Second)}
	}
	for i := range 5 {
		run.r.raise(link(i))
	}
	run.r.raise(power.Alarm{Code: alarmHPLC, Err: errors.New("module"), At: t0})
	if d := <-asked; d != alarmWindow {
		t.Errorf("timer for %v, want the window %v", d, alarmWindow)
	}
	got := map[string]proto698.AlarmEvent{}
	for len(got) < 2 {
		e := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
		got[e.Code] = e
	}
	if a := got["io-link-down"]; a.Count != 1 || !a.Start.Equal(t0) {
		t.Errorf("first link-down report %+v, want count 1", a)
	}
	if got["hplc"].Count != 1 {
		t.Errorf("hplc report %+v", got["hplc"])
	}
	mu.Lock()
	now = now.Add(alarmWindow)
	mu.Unlock()
	fire <- now
	folded := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
	if folded.Code != "io-link-down" || folded.Count != 4 || !folded.Start.Equal(link(1).At) || folded.Seq != 3 {
		t.Errorf("folded report %+v, want io-link-down ×4 from the second one, seq 3", folded)
	}
	all := awaitDelivered(t, ds, 3)
	if l := all[2]; !l.Last.Equal(link(4).At) || l.Count != 4 {
		t.Errorf("stored folded report %+v", l)
	}
	if st := m.Stats(); st.Alarms != 3 {
		t.Errorf("master stats %+v, want 3 alarms", st)
	}
}

// securityRefusal is a refusal as the uplink tells it.
func securityRefusal(reason string, dar proto698.DAR, err error) proto698.Refusal {
	return proto698.Refusal{Service: "SET-Request-Normal", Reason: reason, DAR: dar, Err: err}
}

// The first refusal of a window goes through the alarm list, the rest of
// the window to the reporter alone; every one is uplink-auth (3109) with
// the refusal as its error.
func TestSecurityAlarmsWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	now := t0
	var listed, folded []power.Alarm
	s := newSecurityAlarms(func(a power.Alarm) { listed = append(listed, a) }, func(a power.Alarm) { folded = append(folded, a) })
	s.now = func() time.Time { return now }
	steps := []struct {
		at             time.Duration
		listed, folded int
	}{
		{0, 1, 0},
		{time.Second, 1, 1},
		{alarmWindow - time.Second, 1, 2},
		{alarmWindow, 2, 2},
		{alarmWindow + 30*time.Second, 2, 3},
		{3 * alarmWindow, 3, 3},
	}
	for i, st := range steps {
		now = t0.Add(st.at)
		s.refused(securityRefusal("MAC", proto698.DAREsamFailed, proto698.ErrBadMAC))
		if len(listed) != st.listed || len(folded) != st.folded {
			t.Fatalf("step %d (+%v): %d listed, %d folded; want %d, %d", i, st.at, len(listed), len(folded), st.listed, st.folded)
		}
	}
	for _, a := range append(listed, folded...) {
		if a.Code != alarmUplinkAuth || !errors.Is(a.Err, proto698.ErrBadMAC) || !strings.Contains(a.Err.Error(), "refused: MAC") {
			t.Errorf("alarm %+v (%v)", a, a.Err)
		}
		if obj, _ := alarmObject(a, nil); obj != proto698.OADAuthErrorEvent {
			t.Errorf("object %v", obj)
		}
	}
	if !listed[1].At.Equal(t0.Add(alarmWindow)) {
		t.Errorf("second listed at %v", listed[1].At)
	}
}

// A replayed random number, a stale time tag and a plaintext SET each
// raise the 3109 alarm, which reaches the master station; a flood of 1000
// refused requests is one alarm in the list and two reports: the first at
// once, the other 999 folded into one when the window ends.
func TestSecurityRefusalsReachMaster(t *testing.T) {
	m := startAlarmMaster(t)
	ds := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 8, 0, 0, 0, alarmTestLoc)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(alarmWindow); mu.Unlock() }
	fire := make(chan time.Time, 1)
	asked := make(chan time.Duration, 8)
	key, err := proto698.NewHMACVerifier([]byte("holdup alarm test key, 16+ bytes"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		lmu    sync.Mutex
		listed []power.Alarm
	)
	run, startUplink := startAlarmRun(t, m, func() *store.DataStore { return ds }, func(r *alarmReporter) {
		r.now = clock
		r.after = func(d time.Duration) <-chan time.Time { asked <- d; return fire }
	}, func(r *alarmReporter, c *proto698.UplinkConfig) {
		sa := newSecurityAlarms(func(a power.Alarm) { lmu.Lock(); listed = append(listed, a); lmu.Unlock(); r.raise(a) }, r.raise)
		sa.now = clock
		c.Security = proto698.SecurityConfig{Verifier: key, OnRefused: sa.refused}
	})
	startUplink()
	awaitMaster(t, m, proto698.MasterLogin)
	nListed := func() int { lmu.Lock(); defer lmu.Unlock(); return len(listed) }
	ctx := context.Background()
	set := func() error { return m.Set(ctx, proto698.OADFrequency, proto698.LongUnsigned(5000)) }
	stale := &proto698.TimeTag{Send: proto698.NewDateTimeS(time.Now().Add(-10 * time.Minute).In(alarmTestLoc)), Delay: proto698.TI{Unit: 1, Interval: 1}}
	rn := []byte("one random number")
	steps := []struct {
		name string
		sec  *proto698.MasterSecurity
		dar  proto698.DAR
		msg  string
	}{
		{"replayed random number", &proto698.MasterSecurity{Verify: proto698.VerifyRNMAC, Key: key, RN: rn}, proto698.DARSecurityFailed, "replayed random number"},
		{"stale time tag", &proto698.MasterSecurity{Verify: proto698.VerifyRNMAC, Key: key, TimeTag: stale}, proto698.DARTimeTagInvalid, "time tag"},
		{"plaintext SET", nil, proto698.DARSecurityMismatch, "unauthenticated control"},
	}
	// The random number's first use passes the security checks (the
	// uplink has no server: DAR other than the security ones).
	m.Secure(steps[0].sec)
	if err := set(); errors.Is(err, proto698.ErrDAR) {
		var de *proto698.DARError
		if errors.As(err, &de) && (de.DAR == proto698.DARSecurityFailed || de.DAR == proto698.DARSecurityMismatch || de.DAR == proto698.DARTimeTagInvalid) {
			t.Fatalf("first use of the random number refused: %v", err)
		}
	}
	if n := nListed(); n != 0 {
		t.Fatalf("%d alarms before any refusal", n)
	}
	for i, st := range steps {
		advance()
		m.Secure(st.sec)
		var de *proto698.DARError
		if err := set(); !errors.As(err, &de) || de.DAR != st.dar {
			t.Fatalf("%s: %v, want DAR %v", st.name, err, st.dar)
		}
		if n := nListed(); n != i+1 {
			t.Fatalf("%s: %d alarms listed, want %d", st.name, n, i+1)
		}
		got := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
		if got.Object != proto698.OADAuthErrorEvent || got.Code != string(alarmUplinkAuth) || got.Count != 1 || got.Seq != uint32(i+1) {
			t.Errorf("%s: master got %+v", st.name, got)
		}
		lmu.Lock()
		msg := listed[i].Err.Error()
		lmu.Unlock()
		if !strings.Contains(msg, st.msg) {
			t.Errorf("%s: alarm %q does not say %q", st.name, msg, st.msg)
		}
	}

	// The flood, in a window of its own.
	advance()
	m.Secure(nil)
	const flood = 1000
	for i := range flood {
		if err := set(); !errors.Is(err, proto698.ErrDAR) {
			t.Fatalf("flood request %d: %v", i, err)
		}
	}
	if n := nListed(); n != len(steps)+1 {
		t.Errorf("%d alarms listed after the flood, want %d (one for the flood)", n, len(steps)+1)
	}
	if first := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm; first.Count != 1 || first.Seq != 4 {
		t.Errorf("the flood's first report %+v", first)
	}
	if d := <-asked; d != alarmWindow {
		t.Errorf("timer for %v, want %v", d, alarmWindow)
	}
	select {
	case e := <-m.Events():
		if e.Kind == proto698.MasterAlarmReport {
			t.Fatalf("report before the window ended: %+v", e.Alarm)
		}
	default:
	}
	advance()
	fire <- clock()
	folded := awaitMaster(t, m, proto698.MasterAlarmReport).Alarm
	dropped := run.r.dropped.Load()
	if folded.Seq != 5 || int64(folded.Count)+dropped != flood-1 {
		t.Errorf("folded report %+v (%d dropped), want seq 5 counting the other %d", folded, dropped, flood-1)
	}
	all := awaitDelivered(t, ds, 5)
	if st := m.Stats(); st.Alarms != 5 || len(all) != 5 {
		t.Errorf("master holds %d alarms, store %d; want 5", st.Alarms, len(all))
	}
}

// The console's history shows the alarm reports among the records, newest
// n of both, with their object, code and state.
func TestWithAlarms(t *testing.T) {
	ds := openAlarmStore(t, filepath.Join(t.TempDir(), "data.db"))
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, code := range []string{"hplc", "journal"} {
		if _, err := ds.AddAlarm(store.AlarmRecord{Code: code, Object: 0x310A0200, Time: t0.Add(time.Duration(2*i+1) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.AlarmDelivered(1, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs := []console.HistoryRecord{{Time: t0.Add(4 * time.Minute), Business: "collection", Device: "m1", Point: "p"}, {Time: t0, Business: "collection", Device: "m1", Point: "p"}}
	got, err := withAlarms(ds, recs, 3)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range got {
		s = append(s, fmt.Sprintf("%s %s/%s %v", r.Business, r.Device, r.Point, r.Value))
	}
	if want := "[collection m1/p <nil> alarm 310A#2/journal pending alarm 310A#1/hplc delivered]"; fmt.Sprint(s) != want {
		t.Errorf("got %v\nwant %s", s, want)
	}
}
