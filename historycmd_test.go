package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"holdup/eeprom"
	"holdup/store"
)

var h0 = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// historyStore builds a data store the way the daemon fills it: records
// appended to a journal on a simulated EEPROM, replayed by store.Recovery.
// The last collection record is appended after the alarm but taken before
// it, so sequence order is not time order.
func historyStore(t *testing.T) string {
	t.Helper()
	path, _ := historyStoreSeqs(t)
	return path
}

// historyStoreSeqs is historyStore that also returns the sequence the
// journal gave each record, in the order they were appended (the journal
// numbers its own frames too, so they need not be consecutive).
func historyStoreSeqs(t *testing.T) (string, []float64) {
	t.Helper()
	ctx := context.Background()
	part, err := eeprom.LookupPart("at24c64")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := eeprom.NewChip(eeprom.NewSim(eeprom.SimConfig{Part: part, Seed: 1}), part, 0x50)
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(chip, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs := []store.Record{
		store.OutageBeginRecord(store.OutageBegin{At: h0, Confirmed: true, Volts: [3]float64{12.5, 0, 3.25}}),
		{Time: h0.Add(time.Second), Business: store.BusinessControl, Interface: "rs485-2", Device: "breaker-07",
			Attrs: map[string]any{"point": "switch"}, Value: true, Integrity: store.Integrity{Kind: store.IntegrityCRC16Modbus, Value: 0xB52E}},
		{Time: h0.Add(2 * time.Second), Business: store.BusinessCollection, Interface: "rs485-1", Device: "inverter1",
			Attrs: map[string]any{"point": "active_power"}, Value: 5210.5},
		{Time: h0.Add(4 * time.Second), Business: store.BusinessAlarm, Interface: "rs485-1", Device: "inverter1",
			Attrs: map[string]any{"point": "fault"}, Value: "over temperature"},
		{Time: h0.Add(3 * time.Second), Business: store.BusinessCollection, Interface: "rs485-1", Device: "inverter1",
			Attrs: map[string]any{"point": "active_power"}, Value: 4100.0, Invalid: true},
		store.OutageEndRecord(store.OutageEnd{Begin: h0, End: h0.Add(5 * time.Second), Confirmed: true}),
	}
	var seqs []float64
	for _, r := range recs {
		seq, err := j.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, float64(seq))
	}
	path := filepath.Join(t.TempDir(), "data.db")
	ds, err := store.OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if _, err := store.NewRecovery(j, ds).Replay(ctx); err != nil {
		t.Fatal(err)
	}
	return path, seqs
}

func TestHistoryJSON(t *testing.T) {
	db, seq := historyStoreSeqs(t)
	for _, c := range []struct {
		args []string
		want []int // the records (by their place in historyStore), in time order
	}{
		{nil, []int{0, 1, 2, 4, 3, 5}},
		{[]string{"-business", "collection,alarm"}, []int{2, 4, 3}},
		{[]string{"-device", "inverter1", "-business", "collection"}, []int{2, 4}},
		{[]string{"-from", "2026-11-26T21:00:02Z", "-to", "2026-11-26T21:00:04Z"}, []int{2, 4}},
		{[]string{"-from", "2026-11-26T23:00:02.5+02:00"}, []int{4, 3, 5}},
		{[]string{"-limit", "2"}, []int{0, 1}},
		{[]string{"-newest", "-limit", "2"}, []int{5, 3}},
		{[]string{"-device", "nosuch"}, nil},
	} {
		code, out, errOut := run(t, append([]string{"history", "-db", db}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var seqs []float64
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%v: not JSON: %v: %s", c.args, err, l)
			}
			for _, k := range []string{"journal_id", "sequence", "time", "business_type", "io_interface", "device", "attributes", "value", "integrity", "invalid"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("%v: line lacks %q: %s", c.args, k, l)
				}
			}
			if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
				t.Fatalf("time %v: %v", m["time"], err)
			}
			seqs = append(seqs, m["sequence"].(float64))
		}
		var want []float64
		for _, i := range c.want {
			want = append(want, seq[i])
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("%v: sequences %v, want %v (records %v)", c.args, seqs, want, c.want)
		}
		if !strings.Contains(errOut, "records") {
			t.Errorf("%v: no count on stderr: %q", c.args, errOut)
		}
	}
}

func TestHistoryText(t *testing.T) {
	db := historyStore(t)
	code, out, errOut := run(t, "history", "-db", db, "-format", "text", "-device", "inverter1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 records:\n%s", out)
	}
	t.Log("\n" + out)
	col := strings.Index(lines[0], "value")
	for _, l := range lines {
		if len(l) < col || l[col-2:col] != "  " || l[col] == ' ' {
			t.Fatalf("value column not aligned at %d:\n%s", col, out)
		}
	}
	for i, w := range []string{"2026-11-26T21:00:02.000Z  collection  rs485-1     inverter1         active_power      5210.5",
		"4100 (invalid)", `alarm       rs485-1     inverter1         fault             "over temperature"`} {
		if !strings.Contains(lines[i+1], w) {
			t.Errorf("line %d %q lacks %q", i+1, lines[i+1], w)
		}
	}
}

func TestHistoryBadFlags(t *testing.T) {
	db := historyStore(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-db", db, "-limit", "x"}, `invalid value "x" for flag -limit`},
		{[]string{"-db", db, "-limit", "-1"}, "-limit -1"},
		{[]string{"-db", db, "-business", "control,billing"}, `-business "control,billing": business type "billing"`},
		{[]string{"-db", db, "-from", "yesterday"}, `-from "yesterday": want an RFC 3339 time`},
		{[]string{"-db", db, "-to", "2026-11-26"}, `-to "2026-11-26"`},
		{[]string{"-db", db, "-from", "2026-11-26T22:00:00Z", "-to", "2026-11-26T21:00:00Z"}, "from 2026-11-26T22:00:00Z is not before to 2026-11-26T21:00:00Z"},
		{[]string{"-db", db, "-format", "xml"}, `-format "xml"`},
		{[]string{"-db", db, "extra"}, `unexpected argument "extra"`},
		{[]string{"-nosuch"}, "flag provided but not defined: -nosuch"},
		{nil, "-db FILE is required"},
	} {
		code, out, errOut := run(t, append([]string{"history"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %q", c.args, code, out, errOut, c.want)
		}
	}
}

func TestHistoryStoreInUse(t *testing.T) {
	db := historyStore(t)
	ds, err := store.OpenDataStore(db) // the running daemon
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "history", "-db", db)
	ds.Close()
	if code != 1 || out != "" || !strings.Contains(errOut, "data store in use by a running holdup") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = run(t, "history", "-db", filepath.Join(t.TempDir(), "missing.db"))
	if code != 1 || !strings.Contains(errOut, "missing.db") {
		t.Fatalf("missing file: exit %d, %q", code, errOut)
	}
}

// -alarms prints the alarm reports (json and text), delivered or pending,
// selected by time like the records.
func TestHistoryAlarms(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data.db")
	ds, err := store.OpenDataStore(db)
	if err != nil {
		t.Fatal(err)
	}
	for i, code := range []string{"hplc", "uplink-auth", "data-store-damaged"} {
		obj := uint32(0x310A0200)
		if code == "uplink-auth" {
			obj = 0x31090200
		}
		if _, err := ds.AddAlarm(store.AlarmRecord{Code: code, Object: obj, ObjectName: "object of " + code, Time: h0.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.AlarmDelivered(1, h0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ds.Close()
	code, out, errOut := run(t, "history", "-db", db, "-alarms", "-from", h0.Add(time.Second).Format(time.RFC3339))
	if code != 0 || errOut != "2 alarms\n" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []store.AlarmRecord
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var a store.AlarmRecord
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, a)
	}
	if len(got) != 2 || got[0].Code != "uplink-auth" || got[0].Object != 0x31090200 || got[1].Code != "data-store-damaged" || !got[1].Delivered.IsZero() {
		t.Errorf("json %+v", got)
	}
	code, out, _ = run(t, "history", "-db", db, "-alarms", "-format", "text", "-newest")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[2], "hplc") || !strings.Contains(lines[2], "310A0200 #1 object of hplc") ||
		!strings.HasSuffix(lines[2], "delivered 2026-11-26T22:00:00Z") || !strings.HasSuffix(lines[0], "pending") {
		t.Errorf("text (exit %d):\n%s", code, out)
	}
}
