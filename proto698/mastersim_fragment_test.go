package proto698

import (
	"bytes"
	"testing"
	"time"
)

// After a CONNECT in which the master announces a small receive size, a
// GET-Response-NormalList too long for it goes out fragmented at the
// negotiated size (no fragment above it) and MasterSim, confirming each
// fragment, reassembles the answer; before the CONNECT the same answer
// fits one default-size frame.
func TestMasterSimReassemblesNegotiatedFragments(t *testing.T) {
	cfg := fastUplink()
	cfg.MissedHeartbeats = 1000
	cfg.Server = fixedServer{size: 100}
	r := startUplink(t, cfg)
	r.await(MasterLogin, 2*time.Second)
	ctx := testCtx(t)
	oads := []OAD{NewOAD(0x20000200), NewOAD(0x20010200), NewOAD(0x20040200), NewOAD(0x00100200)}
	check := func(what string) {
		t.Helper()
		res, err := r.master.GetList(ctx, oads)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i, x := range res {
			want := OctetString(bytes.Repeat([]byte{byte(oads[i].Uint32())}, 100))
			if got, ok := x.Data.(OctetString); x.OAD != oads[i] || !ok || !bytes.Equal(got, want) {
				t.Errorf("%s: result %d: %+v", what, i, x)
			}
		}
	}
	check("default frame size")
	wantEq(t, "fragments before CONNECT", r.master.Stats().Fragments, 0)

	const recvMax = 120 // the master's receive size, frame bytes
	resp, err := r.master.Connect(ctx, ConnectParams{Version: 0x16, SendMax: 512, RecvMax: recvMax, RecvWindow: 1, APDUMax: 4096, Timeout: 60})
	if err != nil || resp.Result != ConnectAllowed || resp.SendMax != recvMax {
		t.Fatalf("CONNECT = %+v, %v; want allowed with send size %d", resp, err, recvMax)
	}
	check("after CONNECT")
	st := r.master.Stats()
	perFrame := recvMax - r.up.frameOverhead()
	// Four results of 100 bytes and their OADs: at least 4 fragments.
	if st.Fragments < 4 {
		t.Errorf("%d fragments, want 4 or more of at most %d bytes", st.Fragments, perFrame)
	}
	wantEq(t, "largest fragment", st.FragmentMax, perFrame)
}

// A history batch of 64 records (uplink.forward_batch at its largest)
// does not fit one default-size frame: it goes out fragmented at
// DefaultMaxFrameAPDU, MasterSim reassembles it, stores every row once
// and confirms it, and DeliverHistory returns.
func TestMasterSimReassemblesLargeHistoryBatch(t *testing.T) {
	r := startUplink(t, histConfig(2*time.Second))
	r.await(MasterLogin, 2*time.Second)
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, r.loc)
	rows := histRows(1, 64, t0)
	rec := HistoryRecord(oadPt1, rows, r.loc)
	apdu, err := EncodeAPDU(&ReportNotificationRecordList{Records: []ResultRecord{rec}})
	if err != nil {
		t.Fatal(err)
	}
	if len(apdu) <= DefaultMaxFrameAPDU {
		t.Fatalf("a 64-row batch is %d bytes: it would not be fragmented", len(apdu))
	}
	if err := awaitErr(t, r.deliver(testCtx(t), rec)); err != nil {
		t.Fatal(err)
	}
	e := r.awaitHistory()
	wantEq(t, "event", e.Kind, MasterHistory)
	sameMasterRows(t, "stored", r.master.History(), masterRows(oadPt1, rows))
	st := r.master.Stats()
	wantEq(t, "history rows", st.History, 64)
	wantEq(t, "largest fragment", st.FragmentMax, DefaultMaxFrameAPDU)
	if want := (len(apdu) + DefaultMaxFrameAPDU - 1) / DefaultMaxFrameAPDU; st.Fragments < want {
		t.Errorf("%d fragments, want %d or more", st.Fragments, want)
	}
}
