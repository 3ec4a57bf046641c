package proto698

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type uplinkRig struct {
	t      *testing.T
	master *MasterSim
	up     *Uplink
	loc    *time.Location
}

func startUplink(t *testing.T, cfg UplinkConfig) *uplinkRig {
	t.Helper()
	m, err := NewMasterSim("127.0.0.1:0", time.FixedZone("CST", 8*3600), nil)
	if err != nil {
		t.Fatal(err)
	}
	return startWithMaster(t, cfg, m)
}

// startWithMaster runs cfg's uplink against master m (e.g. over TLS), in
// the master's time zone (CST, UTC+8).
func startWithMaster(t *testing.T, cfg UplinkConfig, m *MasterSim) *uplinkRig {
	t.Helper()
	loc := time.FixedZone("CST", 8*3600)
	cfg.Master = m.Addr()
	cfg.Addr = mustAddr("000000000322")
	cfg.Location = loc
	u, err := NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := m.Run(ctx); err != nil {
			t.Errorf("master: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := u.Run(ctx); err != nil {
			t.Errorf("uplink: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &uplinkRig{t: t, master: m, up: u, loc: loc}
}

// await reads master events until one of kind k arrives (other kinds are
// skipped) and returns it; it fails the test after timeout.
func (r *uplinkRig) await(k MasterEventKind, timeout time.Duration) MasterEvent {
	r.t.Helper()
	timeout = max(timeout, awaitFloor)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e := <-r.master.Events():
			if e.Kind == k {
				return e
			}
		case <-deadline.C:
			r.t.Fatalf("no %s within %v (stats %+v)", k, timeout, r.master.Stats())
			return MasterEvent{}
		}
	}
}

// awaitFloor is the least time an await waits for the master's event. The
// timeouts the tests name are what an idle machine needs; a loaded one (the
// race detector on one CPU beside busy loops, make stress) can take several
// times that. A met await returns at once, so the floor only lengthens a
// failing test, and no test relies on an await timing out.
const awaitFloor = 10 * time.Second

func fastUplink() UplinkConfig {
	return UplinkConfig{Heartbeat: 50 * time.Millisecond, ResponseTimeout: 250 * time.Millisecond, MissedHeartbeats: 6, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
}

func TestUplinkLoginHeartbeatReconnect(t *testing.T) {
	r := startUplink(t, fastUplink())
	login := r.await(MasterLogin, 2*time.Second)
	wantEq(t, "terminal", login.Terminal, "000000000322")
	wantEq(t, "announced heartbeat (50 ms rounds up to 1 s)", login.Heartbeat, 1)
	r.await(MasterHeartbeat, time.Second)
	r.await(MasterHeartbeat, time.Second)
	// Drop the link: the uplink must reconnect and log in again.
	r.master.DropLinks()
	r.await(MasterDisconnect, time.Second)
	r.await(MasterLogin, 2*time.Second)
	r.await(MasterHeartbeat, time.Second)
	st := r.master.Stats()
	if st.Logins != 2 || st.Unauthorized != 0 {
		t.Errorf("stats %+v: want 2 logins, no frames before login", st)
	}
}

func TestUplinkDeadLinkDetectedByHeartbeats(t *testing.T) {
	cfg := fastUplink()
	cfg.MissedHeartbeats = 2
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	r.master.IgnoreHeartbeats(true)
	// The TCP connection stays up, but unanswered heartbeats mean the link
	// is dead: the uplink closes it and logs in again.
	r.await(MasterDisconnect, 2*time.Second)
	r.master.IgnoreHeartbeats(false)
	r.await(MasterLogin, 2*time.Second)
}

func TestUplinkQueuedReportsDeliveredExactlyOnce(t *testing.T) {
	r := startUplink(t, fastUplink())
	r.await(MasterLogin, 2*time.Second)

	// Master unreachable: reports queue up in the uplink.
	r.master.Down()
	r.await(MasterDisconnect, time.Second)
	off := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	evOff := PowerEvent{Seq: 7, Kind: PowerOff, Start: off}
	evOn := PowerEvent{Seq: 7, Kind: PowerOn, Start: off, End: off.Add(150 * time.Second)}
	if err := r.up.ReportPowerEvent(evOff); err != nil {
		t.Fatal(err)
	}
	if err := r.up.ReportPowerEvent(evOn); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several failed dials while down
	if err := r.master.Up(); err != nil {
		t.Fatal(err)
	}
	r.await(MasterLogin, 2*time.Second)
	got1 := r.await(MasterReport, 2*time.Second)
	got2 := r.await(MasterReport, 2*time.Second)
	if got1.Event.Key() != evOff.Key() || got2.Event.Key() != evOn.Key() {
		t.Fatalf("reports %s, %s; want %s then %s", got1.Event.Key(), got2.Event.Key(), evOff.Key(), evOn.Key())
	}
	if !got1.Event.Start.Equal(off) || !got1.Event.End.IsZero() || !got2.Event.End.Equal(evOn.End) {
		t.Errorf("event times: %+v %+v", got1.Event, got2.Event)
	}

	// The confirmation of the next report is lost with the link: the
	// uplink must log in again and resend, and the master must count it once.
	r.master.DropOnNextReport()
	ev8 := PowerEvent{Seq: 8, Kind: PowerOff, Start: off.Add(time.Hour)}
	if err := r.up.ReportPowerEvent(ev8); err != nil {
		t.Fatal(err)
	}
	if e := r.await(MasterReport, 2*time.Second); e.Event.Key() != ev8.Key() {
		t.Fatalf("report %s, want %s", e.Event.Key(), ev8.Key())
	}
	r.await(MasterLogin, 2*time.Second)
	if e := r.await(MasterDuplicate, 2*time.Second); e.Event.Key() != ev8.Key() {
		t.Fatalf("duplicate %s, want %s", e.Event.Key(), ev8.Key())
	}
	// Once seq 8 is confirmed the queue moves on to the next report.
	ev9 := PowerEvent{Seq: 9, Kind: PowerOff, Start: off.Add(2 * time.Hour)}
	r.up.ReportPowerEvent(ev9)
	if e := r.await(MasterReport, 2*time.Second); e.Event.Key() != ev9.Key() {
		t.Fatalf("report %s, want %s", e.Event.Key(), ev9.Key())
	}

	recv := r.master.Received()
	want := []string{evOff.Key(), evOn.Key(), ev8.Key(), ev9.Key()}
	if len(recv) != len(want) {
		t.Fatalf("master received %d distinct events, want %d: %+v", len(recv), len(want), recv)
	}
	for i, k := range want {
		wantEq(t, "event", recv[i].Key(), k)
	}
	st := r.master.Stats()
	if st.Duplicates < 1 {
		t.Errorf("duplicates = %d, want ≥ 1 (the resend after the lost confirmation)", st.Duplicates)
	}
	wantEq(t, "unauthorized", st.Unauthorized, 0)
}

func TestUplinkResendsUnconfirmedReport(t *testing.T) {
	confirmed := make(chan PowerEvent, 4)
	cfg := fastUplink()
	cfg.OnConfirm = func(ev PowerEvent) { confirmed <- ev }
	cfg.MissedHeartbeats = 1000 // keep this link up even on a loaded machine
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(2)
	ev := PowerEvent{Seq: 41, Kind: PowerOff, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, r.loc)}
	start := time.Now()
	if err := r.up.ReportPowerEvent(ev); err != nil {
		t.Fatal(err)
	}
	r.await(MasterReport, time.Second)
	r.await(MasterDuplicate, time.Second)
	r.await(MasterDuplicate, time.Second) // third copy is confirmed
	select {
	case got := <-confirmed:
		wantEq(t, "confirmed", got.Key(), ev.Key())
	case <-time.After(time.Second):
		t.Fatal("OnConfirm not called")
	}
	if len(confirmed) != 0 {
		t.Error("OnConfirm called more than once")
	}
	if el := time.Since(start); el < 2*250*time.Millisecond {
		t.Errorf("two resends after %v, want ≥ 2 × ResponseTimeout", el)
	}
	next := PowerEvent{Seq: 42, Kind: PowerOff, Start: ev.Start.Add(time.Hour)}
	r.up.ReportPowerEvent(next)
	if e := r.await(MasterReport, time.Second); e.Event.Key() != next.Key() {
		t.Fatalf("next report %s", e.Event.Key())
	}
	st := r.master.Stats()
	// Two copies were withheld; a loaded machine may add late resends, which
	// the master must also absorb.
	if st.Duplicates < 2 {
		t.Errorf("duplicates = %d, want ≥ 2", st.Duplicates)
	}
	wantEq(t, "logins (link kept up)", st.Logins, 1)
	wantEq(t, "distinct", len(r.master.Received()), 2)
}

func TestUplinkQueueFullNeverBlocks(t *testing.T) {
	cfg := fastUplink()
	cfg.Master, cfg.Addr, cfg.QueueSize = "127.0.0.1:1", mustAddr("01"), 2
	u, err := NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	u.ReportPowerEvent(PowerEvent{Seq: 1})
	u.ReportPowerEvent(PowerEvent{Seq: 2})
	if err := u.ReportPowerEvent(PowerEvent{Seq: 3}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third enqueue without Run: %v, want ErrQueueFull", err)
	}
}

func TestUplinkConfigErrors(t *testing.T) {
	if _, err := NewUplink(UplinkConfig{Addr: mustAddr("01")}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no master: %v", err)
	}
	if _, err := NewUplink(UplinkConfig{Master: "x:1"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no address: %v", err)
	}
}
