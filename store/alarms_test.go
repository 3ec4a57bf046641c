package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Alarms are numbered in the order stored and per event object, stay
// pending until delivered, and keep all of that across a reopen.
func TestAlarmsNumberedPendingDelivered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	ds, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	add := func(code string, obj uint32, at time.Duration) AlarmRecord {
		t.Helper()
		a, err := ds.AddAlarm(AlarmRecord{Code: code, Object: obj, Source: 3, Time: t0.Add(at), Message: code + " failed"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a1 := add("hplc", 0x310A0200, 0)
	a2 := add("uplink-auth", 0x31090200, time.Second)
	a3 := add("devices", 0x310A0200, 2*time.Second)
	for _, c := range []struct {
		a         AlarmRecord
		no        uint64
		seq       uint32
		wantCount uint32
	}{{a1, 1, 1, 1}, {a2, 2, 1, 1}, {a3, 3, 2, 1}} {
		if c.a.No != c.no || c.a.Seq != c.seq || c.a.Count != c.wantCount || !c.a.Last.Equal(c.a.Time) {
			t.Errorf("%s: stored %+v, want no %d seq %d count %d", c.a.Code, c.a, c.no, c.seq, c.wantCount)
		}
	}
	if err := ds.AlarmDelivered(2, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := ds.AlarmDelivered(2, t0.Add(time.Hour)); err != nil { // again: no-op
		t.Fatal(err)
	}
	if err := ds.AlarmDelivered(9, t0); !errors.Is(err, ErrNoAlarm) {
		t.Errorf("unknown alarm delivered: %v, want ErrNoAlarm", err)
	}
	if _, err := ds.AddAlarm(AlarmRecord{Code: "x"}); err == nil {
		t.Error("alarm without an event object stored")
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
	if ds, err = OpenDataStore(path); err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	pend, err := ds.PendingAlarms(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 2 || pend[0].No != 1 || pend[1].No != 3 || pend[1].Seq != 2 || pend[0].Message != "hplc failed" {
		t.Errorf("pending after reopen %+v, want 1 and 3", pend)
	}
	if one, _ := ds.PendingAlarms(1); len(one) != 1 || one[0].No != 1 {
		t.Errorf("pending limit 1: %+v", one)
	}
	// Numbering goes on after the reopen.
	a4 := add("hplc", 0x310A0200, 3*time.Second)
	if a4.No != 4 || a4.Seq != 3 {
		t.Errorf("after reopen: %+v, want no 4 seq 3", a4)
	}
	var hist []string
	if err := ds.AlarmHistory(HistoryQuery{}, func(a AlarmRecord) error {
		s := "pending"
		if !a.Delivered.IsZero() {
			s = "delivered"
		}
		hist = append(hist, a.Code+" "+s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(hist, ","); got != "hplc pending,uplink-auth delivered,devices pending,hplc pending" {
		t.Errorf("history %s", got)
	}
	if line := pend[0].String(); !strings.Contains(line, "310A0200 #1") || !strings.HasSuffix(line, "pending") {
		t.Errorf("line %q", line)
	}
}

func TestAlarmHistoryQuery(t *testing.T) {
	ds, err := OpenDataStore(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := ds.AddAlarm(AlarmRecord{Code: string(rune('a' + i)), Object: 0x310A0200, Time: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		q    HistoryQuery
		want string
	}{
		{"all", HistoryQuery{}, "abcde"},
		{"newest 2", HistoryQuery{Newest: true, Limit: 2}, "ed"},
		{"range", HistoryQuery{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, "bc"},
		{"range newest limit", HistoryQuery{From: t0.Add(time.Minute), Newest: true, Limit: 3}, "edc"},
		{"a device", HistoryQuery{Device: "meter1"}, ""},
		{"other business", HistoryQuery{Business: []BusinessType{BusinessControl}}, ""},
		{"alarm business", HistoryQuery{Business: []BusinessType{BusinessControl, BusinessAlarm}, Limit: 1}, "a"},
	} {
		got := ""
		if err := ds.AlarmHistory(c.q, func(a AlarmRecord) error { got += a.Code; return nil }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if err := ds.AlarmHistory(HistoryQuery{Limit: -1}, func(AlarmRecord) error { return nil }); !errors.Is(err, ErrBadQuery) {
		t.Errorf("bad query: %v", err)
	}
}

// A data store that never held an alarm (read-only, so no bucket is
// created) has none pending and no history.
func TestAlarmsEmptyReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	ds, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ds.Close()
	ro, err := OpenDataStoreReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if p, err := ro.PendingAlarms(0); err != nil || len(p) != 0 {
		t.Errorf("pending %v %v", p, err)
	}
	n := 0
	if err := ro.AlarmHistory(HistoryQuery{}, func(AlarmRecord) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("history %d %v", n, err)
	}
	if _, err := ro.AddAlarm(AlarmRecord{Code: "x", Object: 1}); err == nil {
		t.Error("alarm added to a read-only data store")
	}
}

// Delivered alarms beyond the bound are deleted, oldest first, in the
// transaction that adds one; pending ones are never deleted, however old;
// numbers and sequence numbers go on and are never reused.
func TestAlarmsPruneDelivered(t *testing.T) {
	ds, err := OpenDataStore(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	const keep = 4
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	pendingNo := map[uint64]bool{2: true, 5: true, 9: true} // never confirmed
	state := func() (delivered, pending []uint64) {
		t.Helper()
		err := ds.AlarmHistory(HistoryQuery{}, func(a AlarmRecord) error {
			if a.Delivered.IsZero() {
				pending = append(pending, a.No)
			} else {
				delivered = append(delivered, a.No)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return delivered, pending
	}
	var allDelivered []uint64
	for i := range 14 {
		a, err := ds.addAlarm(AlarmRecord{Code: "journal", Object: 0x310A0200, Time: t0.Add(time.Duration(i) * time.Second)}, keep)
		if err != nil {
			t.Fatal(err)
		}
		if a.No != uint64(i+1) || a.Seq != uint32(i+1) {
			t.Fatalf("alarm %d numbered %d seq %d", i+1, a.No, a.Seq)
		}
		// After each add (before this one is delivered): at most keep
		// delivered, the newest of those delivered so far.
		delivered, pending := state()
		want := allDelivered[max(0, len(allDelivered)-keep):]
		if fmt.Sprint(delivered) != fmt.Sprint(want) {
			t.Fatalf("after adding %d: delivered %v, want the newest %d: %v", a.No, delivered, keep, want)
		}
		var wantPending []uint64
		for no := uint64(1); no <= a.No; no++ {
			if pendingNo[no] || no == a.No {
				wantPending = append(wantPending, no)
			}
		}
		if fmt.Sprint(pending) != fmt.Sprint(wantPending) {
			t.Fatalf("after adding %d: pending %v, want %v", a.No, pending, wantPending)
		}
		if !pendingNo[a.No] {
			if err := ds.AlarmDelivered(a.No, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			allDelivered = append(allDelivered, a.No)
		}
	}
	if p, err := ds.PendingAlarms(0); err != nil || len(p) != 3 || p[0].No != 2 || p[2].No != 9 {
		t.Errorf("pending %+v, %v: want 2, 5, 9", p, err)
	}
	// A pruned alarm is gone; a pending one can still be delivered.
	if err := ds.AlarmDelivered(1, t0); !errors.Is(err, ErrNoAlarm) {
		t.Errorf("delivering pruned alarm 1: %v, want ErrNoAlarm", err)
	}
	if err := ds.AlarmDelivered(2, t0.Add(2*time.Hour)); err != nil {
		t.Errorf("delivering old pending alarm 2: %v", err)
	}
	// The public AddAlarm keeps MaxDeliveredAlarms: nothing pruned here.
	if _, err := ds.AddAlarm(AlarmRecord{Code: "journal", Object: 0x310A0200, Time: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	delivered, pending := state()
	if fmt.Sprint(delivered) != "[2 10 11 12 13 14]" || fmt.Sprint(pending) != "[5 9 15]" {
		t.Errorf("after AddAlarm: delivered %v pending %v", delivered, pending)
	}
}
