package proto698

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// histConfig is a fast uplink whose link stays up on a loaded machine; rt
// is short only where a resend is what the test awaits.
func histConfig(rt time.Duration) UplinkConfig {
	cfg := fastUplink()
	cfg.ResponseTimeout = rt
	cfg.MissedHeartbeats = 1000
	return cfg
}

// histRows are n rows numbered from no, a minute apart from t0, with
// values telling them apart (every third one invalid).
func histRows(no uint32, n int, t0 time.Time) []HistoryRow {
	rows := make([]HistoryRow, n)
	for i := range rows {
		var v Data = Float64(float64(no) + float64(i)/10)
		if i%3 == 2 {
			v = Null{}
		}
		rows[i] = HistoryRow{No: no + uint32(i), Time: t0.Add(time.Duration(i)*time.Minute + 250*time.Millisecond), Value: v}
	}
	return rows
}

// masterRows is what the master should store for rows of oad.
func masterRows(oad OAD, rows []HistoryRow) []MasterHistoryRow {
	out := make([]MasterHistoryRow, len(rows))
	for i, r := range rows {
		out[i] = MasterHistoryRow{Terminal: "000000000322", OAD: oad, No: r.No, Time: r.Time, Value: r.Value}
	}
	return out
}

func sameMasterRows(t *testing.T, what string, got, want []MasterHistoryRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Terminal != w.Terminal || g.OAD != w.OAD {
			t.Errorf("%s row %d: terminal %s OAD %v, want %s %v", what, i, g.Terminal, g.OAD, w.Terminal, w.OAD)
		}
		sameHistory(t, what, []HistoryRow{{g.No, g.Time, g.Value}}, []HistoryRow{{w.No, w.Time, w.Value}})
	}
}

// testCtx bounds a DeliverHistory call so that a failing test fails
// rather than hangs.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deliver runs DeliverHistory in a goroutine.
func (r *uplinkRig) deliver(ctx context.Context, recs ...ResultRecord) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- r.up.DeliverHistory(ctx, recs) }()
	return errc
}

func awaitErr(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("DeliverHistory has not returned")
		return nil
	}
}

// awaitHistory returns the next MasterHistory or MasterHistoryDuplicate.
func (r *uplinkRig) awaitHistory() MasterEvent {
	r.t.Helper()
	return r.awaitFirst(5*time.Second, MasterHistory, MasterHistoryDuplicate)
}

func TestUplinkHistoryDeliveredAndConfirmed(t *testing.T) {
	r := startUplink(t, histConfig(10*time.Second))
	r.await(MasterLogin, 2*time.Second)
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	rows1, rows2 := histRows(1, 3, t0), []HistoryRow{{4, t0, Bool(true)}, {5, t0.Add(time.Second), VisibleString("open")}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.up.DeliverHistory(ctx, []ResultRecord{HistoryRecord(oadPt1, rows1, r.loc), HistoryRecord(oadPt2, rows2, r.loc)}); err != nil {
		t.Fatal(err)
	}
	want := append(masterRows(oadPt1, rows1), masterRows(oadPt2, rows2)...)
	e := r.awaitHistory()
	wantEq(t, "event", e.Kind, MasterHistory)
	sameMasterRows(t, "event", e.History, want)
	sameMasterRows(t, "stored", r.master.History(), want)

	// The next batch goes under a new PIID; the master keeps both.
	rows3 := histRows(6, 2, t0.Add(time.Hour))
	if err := r.up.DeliverHistory(ctx, []ResultRecord{HistoryRecord(oadPt1, rows3, r.loc)}); err != nil {
		t.Fatal(err)
	}
	e2 := r.awaitHistory()
	wantEq(t, "event", e2.Kind, MasterHistory)
	if e2.PIID.Seq() == e.PIID.Seq() {
		t.Errorf("second batch reuses PIID %d", e.PIID.Seq())
	}
	sameMasterRows(t, "stored", r.master.History(), append(want, masterRows(oadPt1, rows3)...))
	st := r.master.Stats()
	wantEq(t, "history rows", st.History, 7)
	wantEq(t, "history duplicates", st.HistoryDuplicates, 0)
	wantEq(t, "power events", st.Reports, 0)
}

func TestUplinkHistoryResentWhileConfirmsWithheld(t *testing.T) {
	const rt = 50 * time.Millisecond
	r := startUplink(t, histConfig(rt))
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(2)
	rows := histRows(100, 4, time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc))
	start := time.Now()
	if err := r.up.DeliverHistory(testCtx(t), []ResultRecord{HistoryRecord(oadPt1, rows, r.loc)}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 2*rt {
		t.Errorf("confirmed after %v: the third copy is the first confirmed, want ≥ 2 × ResponseTimeout", el)
	}
	first := r.awaitHistory()
	wantEq(t, "first copy", first.Kind, MasterHistory)
	for i := range 2 {
		e := r.awaitHistory()
		if e.Kind != MasterHistoryDuplicate || e.PIID != first.PIID {
			t.Fatalf("copy %d: %s PIID %d, want a duplicate with PIID %d", i+2, e.Kind, e.PIID, first.PIID)
		}
		sameMasterRows(t, "resent", e.History, masterRows(oadPt1, rows))
	}
	sameMasterRows(t, "stored once", r.master.History(), masterRows(oadPt1, rows))
	st := r.master.Stats()
	// A loaded machine may add a late resend, which the master absorbs.
	if st.HistoryDuplicates < 2*len(rows) || st.HistoryDuplicates%len(rows) != 0 {
		t.Errorf("duplicate rows %d, want whole resent batches, at least 2 × %d", st.HistoryDuplicates, len(rows))
	}
	wantEq(t, "logins (link kept up)", st.Logins, 1)
}

func TestUplinkHistoryResentAfterDroppedLink(t *testing.T) {
	// No resend by time: the resend awaited is the one after the re-login.
	r := startUplink(t, histConfig(10*time.Second))
	r.await(MasterLogin, 2*time.Second)
	r.master.DropOnNextReport()
	rows := histRows(7, 3, time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc))
	if err := r.up.DeliverHistory(testCtx(t), []ResultRecord{HistoryRecord(oadPt2, rows, r.loc)}); err != nil {
		t.Fatal(err)
	}
	first := r.awaitFirst(time.Second, MasterHistory)
	r.await(MasterLogin, time.Second)
	e := r.awaitHistory()
	if e.Kind != MasterHistoryDuplicate || e.PIID != first.PIID {
		t.Fatalf("after re-login: %s PIID %d, want the batch again (duplicate, PIID %d)", e.Kind, e.PIID, first.PIID)
	}
	sameMasterRows(t, "stored once", r.master.History(), masterRows(oadPt2, rows))
	st := r.master.Stats()
	wantEq(t, "logins", st.Logins, 2)
	wantEq(t, "duplicate rows", st.HistoryDuplicates, len(rows))
}

// A batch waiting for its resend goes after the power events and the
// data snapshot enqueued while the link was down: all of them.
func TestUplinkLiveTrafficBeforeHistory(t *testing.T) {
	r := startUplink(t, histConfig(10*time.Second))
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(1)
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	rows := histRows(1, 2, t0)
	errc := r.deliver(testCtx(t), HistoryRecord(oadPt1, rows, r.loc))
	r.awaitFirst(2*time.Second, MasterHistory) // unconfirmed: the batch waits in Run
	r.master.Down()
	r.await(MasterDisconnect, time.Second)
	off := PowerEvent{Seq: 9, Kind: PowerOff, Start: t0.Add(time.Hour)}
	on := PowerEvent{Seq: 9, Kind: PowerOn, Start: off.Start, End: off.Start.Add(time.Minute)}
	if err := r.up.ReportPowerEvent(off); err != nil {
		t.Fatal(err)
	}
	if err := r.up.ReportAttributes(snapshot(0, true)); err != nil {
		t.Fatal(err)
	}
	if err := r.up.ReportPowerEvent(on); err != nil {
		t.Fatal(err)
	}
	if err := r.master.Up(); err != nil {
		t.Fatal(err)
	}
	r.await(MasterLogin, 2*time.Second)
	var got []string
	for range 4 {
		e := r.awaitFirst(2*time.Second, MasterReport, MasterDataReport, MasterHistory, MasterHistoryDuplicate)
		s := e.Kind.String()
		if e.Kind == MasterReport {
			s += " " + e.Event.Key()
		}
		got = append(got, s)
	}
	want := []string{"report " + off.Key(), "data report", "report " + on.Key(), "history duplicate"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("arrival order %q, want %q", got, want)
	}
	if err := awaitErr(t, errc); err != nil {
		t.Fatal(err)
	}
	sameMasterRows(t, "stored", r.master.History(), masterRows(oadPt1, rows))
}

func TestUplinkHistoryAbandoned(t *testing.T) {
	// No resend by time: the copies are the first write and the one after
	// a re-login, both known before the caller gives up.
	r := startUplink(t, histConfig(10*time.Second))
	r.await(MasterLogin, 2*time.Second)
	r.master.DropOnNextReport()        // the first copy: the link drops
	r.master.WithholdConfirms(1 << 20) // the resend: never confirmed
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	rows1 := histRows(1, 2, t0)
	ctx, cancel := context.WithCancel(context.Background())
	errc := r.deliver(ctx, HistoryRecord(oadPt1, rows1, r.loc))
	first := r.awaitFirst(2*time.Second, MasterHistory)
	r.await(MasterLogin, 2*time.Second)
	if e := r.awaitHistory(); e.Kind != MasterHistoryDuplicate || e.PIID != first.PIID {
		t.Fatalf("after re-login: %s PIID %d, want the batch again (duplicate, PIID %d)", e.Kind, e.PIID, first.PIID)
	}
	cancel()
	if err := awaitErr(t, errc); err != context.Canceled {
		t.Fatalf("DeliverHistory after cancel: %v, want context.Canceled", err)
	}
	// A batch still held would be written again right after the next
	// re-login; none may arrive before six heartbeats on the new link.
	r.master.DropLinks()
	r.await(MasterLogin, 2*time.Second)
	for beats := 0; beats < 6; {
		switch e := r.awaitFirst(2*time.Second, MasterHeartbeat, MasterHistory, MasterHistoryDuplicate); e.Kind {
		case MasterHeartbeat:
			beats++
		default:
			t.Fatalf("abandoned batch written again after cancel: %s PIID %d", e.Kind, e.PIID)
		}
	}
	// The uplink takes the next batch (it holds one at a time: the
	// abandoned one is gone). Its PIID is a new allocation, but not
	// checked: heartbeats draw from the same 6-bit sequence, which may
	// wrap on a slow machine.
	r.master.WithholdConfirms(0)
	rows2 := histRows(3, 2, t0.Add(time.Hour))
	if err := awaitErr(t, r.deliver(testCtx(t), HistoryRecord(oadPt1, rows2, r.loc))); err != nil {
		t.Fatal(err)
	}
	e := r.awaitHistory()
	wantEq(t, "next batch", e.Kind, MasterHistory)
	sameMasterRows(t, "stored", r.master.History(), append(masterRows(oadPt1, rows1), masterRows(oadPt1, rows2)...))
}

// Concurrent callers are served one batch at a time.
func TestUplinkHistoryOneBatchInFlight(t *testing.T) {
	r := startUplink(t, histConfig(50*time.Millisecond))
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(1)
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	var errcs []<-chan error
	for i := range 3 {
		errcs = append(errcs, r.deliver(testCtx(t), HistoryRecord(oadPt1, histRows(uint32(10*i), 2, t0), r.loc)))
	}
	first := r.awaitHistory()
	wantEq(t, "first", first.Kind, MasterHistory)
	// The first batch is unconfirmed: nothing else goes until its resend
	// is confirmed.
	if e := r.awaitHistory(); e.Kind != MasterHistoryDuplicate || e.PIID != first.PIID {
		t.Fatalf("second history report %s PIID %d, want the resend of PIID %d", e.Kind, e.PIID, first.PIID)
	}
	for _, errc := range errcs {
		if err := awaitErr(t, errc); err != nil {
			t.Fatal(err)
		}
	}
	wantEq(t, "rows stored", len(r.master.History()), 6)
}

func TestDeliverHistoryErrors(t *testing.T) {
	cfg := fastUplink()
	cfg.Master, cfg.Addr = "127.0.0.1:1", mustAddr("01")
	u, err := NewUplink(cfg, nil) // Run not started: a batch handed over would block
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	big := make([]HistoryRow, 200)
	for i := range big {
		big[i] = HistoryRow{No: uint32(i), Time: at, Value: OctetString(make([]byte, 100))}
	}
	for _, c := range []struct {
		name string
		recs []ResultRecord
		want error
		says string
	}{
		{"no records", nil, ErrInvalid, "no records"},
		{"no rows", []ResultRecord{HistoryRecord(oadPt1, histRows(1, 1, at), time.UTC), HistoryRecord(oadPt2, nil, time.UTC)}, ErrInvalid, "record 1 (2F010200): no rows"},
		{"power event", []ResultRecord{PowerEventRecord(PowerEvent{Seq: 1, Start: at}, OADChannelGPRS, time.UTC)}, ErrInvalid, "record 0"},
		{"bad cell", []ResultRecord{{OAD: oadPt1, RCSD: historyColumns(oadPt1), Rows: [][]Data{{DoubleLong(1), NewDateTime(at), Null{}}}}}, ErrInvalid, "row 0 column 20220200"},
		{"oversized", []ResultRecord{HistoryRecord(oadPt1, big, time.UTC)}, ErrLength, "200 rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := u.DeliverHistory(ctx, c.recs)
			if !errors.Is(err, c.want) || ctx.Err() != nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%v: want at once %v saying %q", err, c.want, c.says)
			}
		})
	}
	t.Run("Run not running", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := u.DeliverHistory(ctx, []ResultRecord{HistoryRecord(oadPt1, histRows(1, 1, at), time.UTC)})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not taken") {
			t.Errorf("%v: want not taken, deadline exceeded", err)
		}
	})
	t.Run("ctx already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := u.DeliverHistory(ctx, []ResultRecord{HistoryRecord(oadPt1, histRows(1, 1, at), time.UTC)}); err != context.Canceled {
			t.Errorf("%v, want context.Canceled", err)
		}
	})
}

// When Run ends while a caller waits, the caller is released.
func TestDeliverHistoryRunStops(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	m, err := NewMasterSim("127.0.0.1:0", loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := histConfig(10 * time.Second)
	cfg.Master, cfg.Addr, cfg.Location = m.Addr(), mustAddr("000000000322"), loc
	u, err := NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mctx, mcancel := context.WithCancel(context.Background())
	uctx, ucancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = m.Run(mctx) }()
	runErr := make(chan error, 1)
	go func() { defer wg.Done(); runErr <- u.Run(uctx) }()
	t.Cleanup(func() { ucancel(); mcancel(); wg.Wait() })
	r := &uplinkRig{t: t, master: m, up: u, loc: loc}
	r.await(MasterLogin, 2*time.Second)
	m.WithholdConfirms(1)
	errc := r.deliver(testCtx(t), HistoryRecord(oadPt1, histRows(1, 2, time.Date(2026, 1, 1, 0, 0, 0, 0, loc)), loc))
	r.awaitFirst(2*time.Second, MasterHistory)
	ucancel()
	if err := awaitErr(t, errc); !errors.Is(err, ErrUplinkStopped) {
		t.Errorf("DeliverHistory when Run ended: %v, want ErrUplinkStopped", err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// rawTerminal is a hand-driven terminal link to a MasterSim.
type rawTerminal struct {
	t    *testing.T
	c    net.Conn
	addr ServerAddress
	d    Deframer
}

func (rt *rawTerminal) send(fn Function, a APDU) {
	rt.t.Helper()
	apdu, err := EncodeAPDU(a)
	if err != nil {
		rt.t.Fatal(err)
	}
	b, err := AppendFrame(nil, &Frame{Control: NewControl(true, false, false, false, fn), Addr: rt.addr, Data: apdu})
	if err != nil {
		rt.t.Fatal(err)
	}
	if _, err := rt.c.Write(b); err != nil {
		rt.t.Fatal(err)
	}
}

// recv returns the next APDU from the master.
func (rt *rawTerminal) recv() APDU {
	rt.t.Helper()
	_ = rt.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	for {
		if raw, _, ok := rt.d.Next(); ok {
			f, _, err := DecodeFrame(raw)
			if err != nil {
				rt.t.Fatal(err)
			}
			a, err := DecodeAPDU(f.Data)
			if err != nil {
				rt.t.Fatal(err)
			}
			return a
		}
		n, err := rt.c.Read(buf)
		if err != nil {
			rt.t.Fatalf("read from master: %v", err)
		}
		rt.d.Write(buf[:n])
	}
}

// The master confirms neither a history report it cannot parse nor
// stores any of it; the good report after it is confirmed.
func TestMasterSimRefusesBadHistory(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	m, err := NewMasterSim("127.0.0.1:0", loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := net.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rt := &rawTerminal{t: t, c: c, addr: mustAddr("000000000322")}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	rt.send(FuncLink, &LinkRequest{PIID: 1, Type: LinkLogin, Heartbeat: 60, Time: NewDateTime(at)})
	if _, ok := rt.recv().(*LinkResponse); !ok {
		t.Fatal("login not answered")
	}
	good := HistoryRecord(oadPt1, histRows(1, 2, at), loc)
	bad := HistoryRecord(oadPt2, histRows(5, 1, at), loc)
	bad.Rows[0][1] = NewDateTimeS(at) // the time must be date_time
	rt.send(FuncUserData, &ReportNotificationRecordList{PIID: 2, Records: []ResultRecord{good, bad}})
	rt.send(FuncUserData, &ReportNotificationRecordList{PIID: 3, Records: []ResultRecord{good}})
	r, ok := rt.recv().(*ReportResponseRecordList)
	if !ok || r.PIID.Seq() != 3 || len(r.OADs) != 1 || r.OADs[0] != oadPt1 {
		t.Fatalf("first answer %+v, want the confirmation of PIID 3 (PIID 2 unconfirmed)", r)
	}
	want := masterRows(oadPt1, histRows(1, 2, at))
	sameMasterRows(t, "stored", m.History(), want)
	st := m.Stats()
	wantEq(t, "rows", st.History, 2)
	wantEq(t, "duplicates", st.HistoryDuplicates, 0)
}
