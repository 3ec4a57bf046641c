package proto698

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// snapshot is a data report whose frequency value tells snapshots apart;
// invalid makes the voltage Data NULL (as at a power outage).
func snapshot(freq uint16, invalid bool) []ResultNormal {
	var v Data = Array{LongUnsigned(2301), LongUnsigned(2299), LongUnsigned(2310)}
	if invalid {
		v = Null{}
	}
	return []ResultNormal{{OAD: OADVoltageAll, Data: v}, {OAD: OADFrequency, Data: LongUnsigned(freq)}}
}

// sameResults compares results by their encoding.
func sameResults(t *testing.T, what string, got, want []ResultNormal) {
	t.Helper()
	g, err1 := EncodeAPDU(&ReportNotificationList{Results: got})
	w, err2 := EncodeAPDU(&ReportNotificationList{Results: want})
	if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
		t.Errorf("%s: results %X, want %X (%v, %v)", what, g, w, err1, err2)
	}
}

// awaitConfirm waits for OnDataConfirm and checks the result count.
func awaitConfirm(t *testing.T, confirmed <-chan int, want int) {
	t.Helper()
	select {
	case n := <-confirmed:
		wantEq(t, "confirmed results", n, want)
	case <-time.After(2 * time.Second):
		t.Fatalf("no data confirmation (want one of %d results)", want)
	}
}

// awaitFirst returns the first master event of one of kinds.
func (r *uplinkRig) awaitFirst(timeout time.Duration, kinds ...MasterEventKind) MasterEvent {
	r.t.Helper()
	timeout = max(timeout, awaitFloor)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e := <-r.master.Events():
			for _, k := range kinds {
				if e.Kind == k {
					return e
				}
			}
		case <-deadline.C:
			r.t.Fatalf("none of %v within %v", kinds, timeout)
			return MasterEvent{}
		}
	}
}

func dataUplink(confirmed chan int) UplinkConfig {
	cfg := fastUplink()
	cfg.OnDataConfirm = func(n int) { confirmed <- n }
	cfg.MissedHeartbeats = 1000 // keep the link up even on a loaded machine
	return cfg
}

func TestUplinkDataReportDeliveredAsDataNull(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	results := []ResultNormal{
		{OAD: NewOAD(0x20000201), Data: LongUnsigned(2301)},
		{OAD: OADCurrentAll, Data: Null{}}, // invalid: Data NULL
		{OAD: OADFrequency, DAR: DARHardware},
	}
	if err := r.up.ReportAttributes(results); err != nil {
		t.Fatal(err)
	}
	results[1].Data = LongUnsigned(1) // the caller's slice is not retained
	e := r.await(MasterDataReport, 2*time.Second)
	// 88 01 PIID, 3 results; the invalid value is choice 1 (Data) + type 0
	// (NULL), the refused one choice 0 (DAR) + 1; no follow report, no
	// time tag.
	want := mustHex(fmt.Sprintf("8801%02X03"+"20000201011208FD"+"200102000100"+"200F02000001"+"0000", uint8(e.PIID)))
	if !bytes.Equal(e.APDU, want) {
		t.Errorf("APDU on the wire\n got %X\nwant %X", e.APDU, want)
	}
	wantEq(t, "terminal", e.Terminal, "000000000322")
	if len(e.Results) != 3 || e.Results[1].Data != Data(Null{}) || e.Results[2].DAR != DARHardware {
		t.Errorf("master decoded %+v", e.Results)
	}
	awaitConfirm(t, confirmed, 3)
	wantEq(t, "logins", r.master.Stats().Logins, 1)
}

func TestUplinkDataReportsWithHeartbeatsAndRequests(t *testing.T) {
	confirmed := make(chan int, 16)
	cfg := dataUplink(confirmed)
	cfg.Server = newTableServer()
	cfg.Security.AllowPlainControl = true // lab mode: the interleaving is tested here
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx := context.Background()
	hb := r.master.Stats().Heartbeats
	for i := range 4 {
		if err := r.up.ReportAttributes(snapshot(uint16(5000+i), i == 3)); err != nil {
			t.Fatal(err)
		}
		v, err := r.master.Get(ctx, OADFrequency)
		if err != nil {
			t.Fatalf("GET while data reports flow: %v", err)
		}
		checkDataEq(t, "frequency", v, LongUnsigned(5001))
		if err := r.master.Set(ctx, OADDateTime, DateTimeS{2026, 11, 27, 9, 0, uint8(i)}); err != nil {
			t.Fatalf("SET while data reports flow: %v", err)
		}
		awaitConfirm(t, confirmed, 2)
	}
	r.await(MasterHeartbeat, 2*time.Second)
	st := r.master.Stats()
	if st.Heartbeats <= hb || st.DataReports < 4 {
		t.Errorf("stats %+v: want heartbeats beyond %d and ≥ 4 data reports", st, hb)
	}
	reps := r.master.DataReports()
	sameResults(t, "last report", reps[len(reps)-1], snapshot(5003, true))
}

func TestUplinkDataSupersededWhileLinkDown(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	r.master.Down()
	r.await(MasterDisconnect, time.Second)
	for i := range 3 { // the last one marks the voltage invalid
		if err := r.up.ReportAttributes(snapshot(uint16(5000+i), i == 2)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // several failed dials while down
	if err := r.master.Up(); err != nil {
		t.Fatal(err)
	}
	r.await(MasterLogin, 2*time.Second)
	e := r.await(MasterDataReport, 2*time.Second)
	sameResults(t, "first report after login", e.Results, snapshot(5002, true))
	awaitConfirm(t, confirmed, 2)
	for i, rep := range r.master.DataReports() {
		sameResults(t, fmt.Sprintf("report %d", i), rep, snapshot(5002, true))
	}
}

func TestUplinkPowerEventBeforeQueuedDataReport(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	r.master.Down()
	r.await(MasterDisconnect, time.Second)
	// The snapshot is enqueued first, the power event after it.
	if err := r.up.ReportAttributes(snapshot(0, true)); err != nil {
		t.Fatal(err)
	}
	ev := PowerEvent{Seq: 3, Kind: PowerOff, Start: time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)}
	if err := r.up.ReportPowerEvent(ev); err != nil {
		t.Fatal(err)
	}
	if err := r.master.Up(); err != nil {
		t.Fatal(err)
	}
	r.await(MasterLogin, 2*time.Second)
	first := r.awaitFirst(2*time.Second, MasterReport, MasterDataReport)
	if first.Kind != MasterReport || first.Event.Key() != ev.Key() {
		t.Fatalf("first report after login: %s %s, want power event %s", first.Kind, first.Event.Key(), ev.Key())
	}
	e := r.await(MasterDataReport, 2*time.Second)
	sameResults(t, "data report", e.Results, snapshot(0, true))
	awaitConfirm(t, confirmed, 2)
}

func TestUplinkDataResentWhenConfirmWithheld(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(2)
	if err := r.up.ReportAttributes(snapshot(4999, true)); err != nil {
		t.Fatal(err)
	}
	first := r.await(MasterDataReport, time.Second)
	for i := range 2 { // the third copy is confirmed
		e := r.await(MasterDataReport, time.Second)
		if e.PIID != first.PIID || !bytes.Equal(e.APDU, first.APDU) {
			t.Errorf("resend %d: PIID %d APDU %X, want the same report (PIID %d, %X)", i+1, e.PIID, e.APDU, first.PIID, first.APDU)
		}
	}
	awaitConfirm(t, confirmed, 2)
	r.await(MasterHeartbeat, time.Second)
	if len(confirmed) != 0 {
		t.Error("OnDataConfirm called more than once for one report")
	}
	wantEq(t, "logins (link kept up)", r.master.Stats().Logins, 1)
}

func TestUplinkDataNewerSnapshotReplacesUnconfirmed(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	r.master.WithholdConfirms(1)
	older := []ResultNormal{{OAD: OADFrequency, Data: LongUnsigned(5000)}}
	if err := r.up.ReportAttributes(older); err != nil {
		t.Fatal(err)
	}
	a := r.await(MasterDataReport, time.Second)
	newer := snapshot(0, true) // two results
	if err := r.up.ReportAttributes(newer); err != nil {
		t.Fatal(err)
	}
	// At the resend the newer snapshot goes instead of the unconfirmed
	// older one (a loaded machine may resend the older one before the
	// newer one is enqueued, never after).
	for {
		e := r.await(MasterDataReport, time.Second)
		if len(e.Results) == 1 {
			if e.PIID != a.PIID {
				t.Fatalf("older report with PIID %d, want only resends of PIID %d", e.PIID, a.PIID)
			}
			continue
		}
		sameResults(t, "newer", e.Results, newer)
		if e.PIID == a.PIID {
			t.Errorf("newer snapshot reuses PIID %d of the superseded one", a.PIID)
		}
		break
	}
	awaitConfirm(t, confirmed, 2)
	r.await(MasterHeartbeat, time.Second)
	if len(confirmed) != 0 {
		t.Errorf("another confirmation (%d results): the superseded report must not count", <-confirmed)
	}
}

func TestUplinkDataResentAfterDroppedLink(t *testing.T) {
	confirmed := make(chan int, 16)
	r := startUplink(t, dataUplink(confirmed))
	r.await(MasterLogin, 2*time.Second)
	r.master.DropOnNextReport() // the confirmation is lost with the link
	if err := r.up.ReportAttributes(snapshot(4998, true)); err != nil {
		t.Fatal(err)
	}
	r.await(MasterDataReport, time.Second)
	r.await(MasterLogin, 2*time.Second)
	e := r.await(MasterDataReport, 2*time.Second)
	sameResults(t, "report after re-login", e.Results, snapshot(4998, true))
	awaitConfirm(t, confirmed, 2)
	wantEq(t, "logins", r.master.Stats().Logins, 2)
}

func TestUplinkReportAttributesErrors(t *testing.T) {
	cfg := fastUplink()
	cfg.Master, cfg.Addr, cfg.QueueSize = "127.0.0.1:1", mustAddr("01"), 2
	u, err := NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name    string
		results []ResultNormal
		want    error
	}{
		{"empty", nil, ErrInvalid},
		{"no data, DAR success", []ResultNormal{{OAD: OADFrequency}}, ErrInvalid},
		{"bit-string longer than its bits", []ResultNormal{{OAD: OADFrequency, Data: BitString{Len: 9, Bits: []byte{1}}}}, ErrInvalid},
		{"larger than one frame", []ResultNormal{{OAD: OADAddress, Data: OctetString(make([]byte, MaxFrameLen))}}, ErrLength},
	}
	for _, b := range bad {
		if err := u.ReportAttributes(b.results); !errors.Is(err, b.want) {
			t.Errorf("%s: %v, want %v", b.name, err, b.want)
		}
	}
	// Without Run nothing drains the queue: QueueSize snapshots fit, the
	// next is refused at once, and the power-event queue is separate.
	for i := range 2 {
		if err := u.ReportAttributes(snapshot(uint16(i), false)); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
	}
	if err := u.ReportAttributes(snapshot(2, true)); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third snapshot without Run: %v, want ErrQueueFull", err)
	}
	if err := u.ReportPowerEvent(PowerEvent{Seq: 1}); err != nil {
		t.Errorf("power event with the data queue full: %v", err)
	}
}
