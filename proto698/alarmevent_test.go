package proto698

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var alarmLoc = time.FixedZone("CST", 8*3600)

// Each alarm event object and source survives the wire: built, encoded
// in a REPORT-Notification-RecordList, decoded and parsed back.
func TestAlarmEventRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 30, 15, 0, alarmLoc)
	for _, c := range []struct {
		name string
		ev   AlarmEvent
		want AlarmEvent // as parsed
		src  Data       // the source cell written
	}{
		{"3109 auth", AlarmEvent{Object: OADAuthErrorEvent, Seq: 1, Source: FaultRS485, Start: t0, Count: 1, Code: "uplink-auth"},
			AlarmEvent{Object: OADAuthErrorEvent, Seq: 1, Start: t0, Count: 1, Code: "uplink-auth"}, Null{}},
		{"310A memory", AlarmEvent{Object: OADFaultEvent, Seq: 7, Source: FaultMemory, Start: t0, Count: 3, Code: "data-store-damaged"},
			AlarmEvent{Object: OADFaultEvent, Seq: 7, Source: FaultMemory, Start: t0, Count: 3, Code: "data-store-damaged"}, Enum(0)},
		{"310A carrier", AlarmEvent{Object: OADFaultEvent, Seq: 0xFFFFFFFF, Source: FaultCarrier, Start: t0, Code: "hplc"},
			AlarmEvent{Object: OADFaultEvent, Seq: 0xFFFFFFFF, Source: FaultCarrier, Start: t0, Count: 1, Code: "hplc"}, Enum(5)},
		{"310A other, odd code", AlarmEvent{Object: OADFaultEvent, Seq: 2, Source: FaultOther, Start: t0, Count: 9, Code: "caf\u00e9\n"},
			AlarmEvent{Object: OADFaultEvent, Seq: 2, Source: FaultOther, Start: t0, Count: 9, Code: "caf??"}, Enum(255)},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := AlarmEventRecord(c.ev, OADChannelGPRS, alarmLoc)
			if rec.OAD != c.ev.Object || len(rec.Rows) != 1 || len(rec.Rows[0]) != len(rec.RCSD) {
				t.Fatalf("record %+v", rec)
			}
			if got := rec.Rows[0][3]; got != c.src {
				t.Errorf("source cell %#v, want %#v", got, c.src)
			}
			if _, ok := rec.Rows[0][2].(Null); !ok {
				t.Errorf("end cell %#v, want NULL", rec.Rows[0][2])
			}
			b, err := EncodeAPDU(&ReportNotificationRecordList{PIID: 3, Records: []ResultRecord{rec}})
			if err != nil {
				t.Fatal(err)
			}
			a, err := DecodeAPDU(b)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := ParseAlarmEvents(a.(*ReportNotificationRecordList).Records[0], alarmLoc)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0] != c.want {
				t.Errorf("parsed %+v, want %+v", evs, c.want)
			}
			if evs[0].Key() != c.ev.Key() {
				t.Errorf("key %q, want %q", evs[0].Key(), c.ev.Key())
			}
		})
	}
}

// Another terminal's record without holdup's columns parses with count 1
// and no code; columns in another order are found by OAD.
func TestParseAlarmEventsStandardColumns(t *testing.T) {
	rec := ResultRecord{OAD: OADFaultEvent,
		RCSD: RCSD{{OAD: OADEventSource}, {OAD: OADEventStart}, {OAD: OADEventSeq}, {OAD: OADEventEnd}},
		Rows: [][]Data{{Enum(1), DateTimeS{2026, 1, 2, 3, 4, 5}, DoubleLongUnsigned(12), Null{}}}}
	evs, err := ParseAlarmEvents(rec, alarmLoc)
	if err != nil {
		t.Fatal(err)
	}
	want := AlarmEvent{Object: OADFaultEvent, Seq: 12, Source: FaultClock, Start: time.Date(2026, 1, 2, 3, 4, 5, 0, alarmLoc), Count: 1}
	if len(evs) != 1 || evs[0] != want {
		t.Errorf("parsed %+v, want %+v", evs, want)
	}
}

func TestParseAlarmEventsRejects(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 30, 15, 0, alarmLoc)
	good := func(o OAD) ResultRecord {
		return AlarmEventRecord(AlarmEvent{Object: o, Seq: 4, Source: FaultRS485, Start: t0, Count: 2, Code: "io-error-rate"}, OADChannelGPRS, alarmLoc)
	}
	cell := func(o OAD, i int, d Data) ResultRecord {
		r := good(o)
		r.Rows = [][]Data{append([]Data{}, r.Rows[0]...)}
		r.Rows[0][i] = d
		return r
	}
	dup := good(OADFaultEvent)
	dup.RCSD = append(RCSD{}, dup.RCSD...)
	dup.RCSD[6] = dup.RCSD[0]
	short := good(OADFaultEvent)
	short.Rows = [][]Data{short.Rows[0][:4]}
	for _, c := range []struct {
		name string
		rec  ResultRecord
		want string
	}{
		{"power event object", PowerEventRecord(PowerEvent{Seq: 1, Start: t0}, OADChannelGPRS, alarmLoc), "not 31090200 or 310A0200"},
		{"DAR", ResultRecord{OAD: OADFaultEvent, IsDAR: true, DAR: DARUndefined}, "no rows"},
		{"repeated column", dup, "repeated"},
		{"short row", short, "4 cells, RCSD names 7 columns"},
		{"sequence type", cell(OADFaultEvent, 0, Unsigned(4)), "(sequence): unsigned"},
		{"start type", cell(OADFaultEvent, 1, DateTime{}), "(start)"},
		{"30 February", cell(OADFaultEvent, 1, DateTimeS{2026, 2, 30, 1, 2, 3}), "no calendar date"},
		{"310A NULL source", cell(OADFaultEvent, 3, Null{}), "source, enum for 310A"},
		{"3109 enum source", cell(OADAuthErrorEvent, 3, Enum(1)), "source, NULL for 3109"},
		{"source type", cell(OADFaultEvent, 3, Unsigned(1)), "(source)"},
		{"zero count", cell(OADFaultEvent, 5, DoubleLongUnsigned(0)), "count, at least 1"},
		{"code type", cell(OADFaultEvent, 6, OctetString("x")), "(code)"},
		{"missing cell", cell(OADFaultEvent, 0, nil), "no Data"},
	} {
		_, err := ParseAlarmEvents(c.rec, alarmLoc)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", c.name, err, c.want)
		}
	}
}

// The uplink sends an alarm event after the power events enqueued before
// it was sent, and the master stores it once.
func TestUplinkAlarmEventAfterPowerEvents(t *testing.T) {
	m, u, run := alarmUplinkRig(t, fastUplink())
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, alarmLoc)
	// Enqueued before Run: the power events overtake the alarm.
	if err := u.ReportEvent(AlarmEvent{Object: OADFaultEvent, Seq: 1, Source: FaultCarrier, Start: t0, Code: "hplc"}); err != nil {
		t.Fatal(err)
	}
	if err := u.ReportPowerEvent(PowerEvent{Seq: 5, Kind: PowerOff, Start: t0}); err != nil {
		t.Fatal(err)
	}
	if err := u.ReportEvent(AlarmEvent{Object: OADAuthErrorEvent, Seq: 1, Start: t0, Code: "uplink-auth"}); err != nil {
		t.Fatal(err)
	}
	if err := u.ReportPowerEvent(PowerEvent{Seq: 5, Kind: PowerOn, Start: t0, End: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	run()
	var order []string
	deadline := time.After(5 * time.Second)
	for len(order) < 4 {
		var e MasterEvent
		select {
		case e = <-m.Events():
		case <-deadline:
			t.Fatalf("master received only %q (stats %+v)", order, m.Stats())
		}
		switch e.Kind {
		case MasterReport:
			order = append(order, e.Event.Key())
		case MasterAlarmReport:
			order = append(order, e.Alarm.Key()+" "+e.Alarm.Code)
		case MasterDuplicate, MasterAlarmDuplicate:
			t.Errorf("duplicate %v", e)
		}
	}
	want := []string{"5/power-off", "5/power-on", "310A/1@1772323200 hplc", "3109/1@1772323200 uplink-auth"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("master received %q, want %q", order, want)
	}
	if st := m.Stats(); st.Alarms != 2 || st.AlarmDuplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A confirmation the master withholds makes the uplink resend; the master
// stores the alarm once and OnEventConfirm reports it once.
func TestUplinkAlarmEventResentOnce(t *testing.T) {
	confirmed := make(chan Event, 4)
	cfg := fastUplink()
	cfg.OnEventConfirm = func(ev Event) { confirmed <- ev }
	cfg.MissedHeartbeats = 1000
	m, u, run := alarmUplinkRig(t, cfg)
	m.WithholdConfirms(1)
	ev := AlarmEvent{Object: OADFaultEvent, Seq: 9, Source: FaultMemory, Start: time.Date(2026, 3, 1, 8, 0, 0, 0, alarmLoc), Count: 4, Code: "journal"}
	if err := u.ReportEvent(ev); err != nil {
		t.Fatal(err)
	}
	run()
	var got Event
	select {
	case got = <-confirmed:
	case <-time.After(5 * time.Second):
		t.Fatalf("not confirmed (stats %+v)", m.Stats())
	}
	if got != Event(ev) {
		t.Errorf("confirmed %+v, want %+v", got, ev)
	}
	if st := m.Stats(); st.Alarms != 1 || st.AlarmDuplicates != 1 {
		t.Errorf("stats %+v, want 1 alarm and 1 duplicate", st)
	}
	if a := m.Alarms(); len(a) != 1 || a[0].AlarmEvent != ev {
		t.Errorf("master holds %+v", a)
	}
	select {
	case e := <-confirmed:
		t.Errorf("confirmed again: %v", e)
	default:
	}
}

// alarmUplinkRig is a master and an uplink to it (fixed terminal address,
// alarmLoc); run starts the uplink, so what a test enqueues before is
// waiting when it logs in. Both stop when the test ends.
func alarmUplinkRig(t *testing.T, cfg UplinkConfig) (*MasterSim, *Uplink, func()) {
	t.Helper()
	m, err := NewMasterSim("127.0.0.1:0", alarmLoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Master, cfg.Addr, cfg.Location = m.Addr(), mustAddr("000000000322"), alarmLoc
	u, err := NewUplink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Run(ctx); err != nil {
			t.Errorf("master: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	run := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := u.Run(ctx); err != nil {
				t.Errorf("uplink: %v", err)
			}
		}()
	}
	return m, u, run
}

func FuzzParseAlarmEvents(f *testing.F) {
	t0 := time.Date(2026, 11, 27, 1, 0, 0, 0, alarmLoc)
	for _, recs := range [][]ResultRecord{
		{AlarmEventRecord(AlarmEvent{Object: OADFaultEvent, Seq: 3, Source: FaultCarrier, Start: t0, Count: 2, Code: "hplc"}, OADChannelGPRS, alarmLoc)},
		{AlarmEventRecord(AlarmEvent{Object: OADAuthErrorEvent, Seq: 1, Start: t0, Code: "uplink-auth"}, OADChannelGPRS, alarmLoc),
			PowerEventRecord(PowerEvent{Seq: 3, Start: t0}, OADChannelGPRS, alarmLoc)},
		{{OAD: OADFaultEvent, RCSD: RCSD{{OAD: OADEventSource}, {OAD: OADEventStart}, {OAD: OADEventSeq}}, Rows: [][]Data{{Enum(1), DateTimeS{2024, 2, 29, 4, 5, 6}, DoubleLongUnsigned(1)}}}},
	} {
		b, err := EncodeAPDU(&ReportNotificationRecordList{PIID: 5, Records: recs})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeAPDU(in)
		if err != nil {
			return
		}
		for _, rec := range recordsOf(a) {
			evs, err := ParseAlarmEvents(rec, alarmLoc)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error does not wrap ErrInvalid: %v", err)
				}
				continue
			}
			if len(evs) != len(rec.Rows) {
				t.Fatalf("%d events of %d rows", len(evs), len(rec.Rows))
			}
			// What parsed builds a record that parses to the same events
			// (a code is printable ASCII once written).
			for _, ev := range evs {
				ev.Code = asciiCode(ev.Code)
				again, err := ParseAlarmEvents(AlarmEventRecord(ev, OADChannelGPRS, alarmLoc), alarmLoc)
				if err != nil || len(again) != 1 || again[0] != ev {
					t.Fatalf("rebuilt %+v: %+v %v", ev, again, err)
				}
			}
		}
	})
}
