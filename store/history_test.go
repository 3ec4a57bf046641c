package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"holdup/eeprom"
)

// historyFixture replays two journals into one data store. Their times
// interleave, and each journal holds a record whose time is earlier than
// its predecessor's (appended out of time order, as two producers or a
// clock step can do), so neither key order nor sequence order is time
// order. It returns the data store's path and every stored record.
func historyFixture(t *testing.T) (string, []StoredRecord) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	type spec struct {
		off    time.Duration
		biz    BusinessType
		device string
	}
	journals := [][]spec{
		{{0, BusinessEvent, "mains"}, {2 * time.Second, BusinessControl, "breaker-07"}, {4 * time.Second, BusinessCollection, "inverter1"},
			{3 * time.Second, BusinessCollection, "inverter1"}, {8 * time.Second, BusinessAlarm, "inverter1"}, {9 * time.Second, BusinessEvent, "mains"}},
		{{1 * time.Second, BusinessCollection, "meter-3"}, {5 * time.Second, BusinessControl, "breaker-07"},
			{5 * time.Second, BusinessCollection, "meter-3"}, {7 * time.Second, BusinessCollection, "inverter1"}, {6 * time.Second, BusinessControl, "breaker-07"}},
	}
	for ji, specs := range journals {
		_, chip := simChip(t, "at24c64", eeprom.TornRandom, uint64(ji+1))
		j, err := Open(chip, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range specs {
			r := typicalRecord(i)
			r.Time, r.Business, r.Device = t0.Add(s.off), s.biz, s.device
			r.Attrs = map[string]any{"point": fmt.Sprintf("p%d-%d", ji, i)}
			if _, err := j.Append(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := NewRecovery(j, d).Replay(ctx); err != nil {
			t.Fatal(err)
		}
		j.Close()
	}
	var all []StoredRecord
	if err := d.Records(func(r StoredRecord) error { all = append(all, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 11 {
		t.Fatalf("fixture stored %d records, want 11", len(all))
	}
	return path, all
}

// want is the oracle: filter, sort by (time, journal, sequence), limit.
func want(all []StoredRecord, q HistoryQuery) []string {
	var out []StoredRecord
	for _, r := range all {
		if (len(q.Business) > 0 && !slices.Contains(q.Business, r.Record.Business)) ||
			(q.Device != "" && r.Record.Device != q.Device) ||
			(!q.From.IsZero() && r.Record.Time.Before(q.From)) || (!q.To.IsZero() && !r.Record.Time.Before(q.To)) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b StoredRecord) int {
		return cmp.Or(a.Record.Time.Compare(b.Record.Time), cmp.Compare(a.JournalID, b.JournalID), cmp.Compare(a.Record.Seq, b.Record.Seq))
	})
	if q.Newest {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return names(out)
}

func names(rs []StoredRecord) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Record.Attrs["point"].(string))
	}
	return out
}

func history(t *testing.T, d *DataStore, q HistoryQuery) []string {
	t.Helper()
	var got []StoredRecord
	if err := d.History(q, func(r StoredRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("History(%+v): %v", q, err)
	}
	return names(got)
}

var historyCases = []struct {
	name string
	q    HistoryQuery
	want []string // nil: the oracle's answer is checked only
}{
	{name: "all", q: HistoryQuery{},
		want: []string{"p0-0", "p1-0", "p0-1", "p0-3", "p0-2", "p1-1", "p1-2", "p1-4", "p1-3", "p0-4", "p0-5"}},
	{name: "all newest first", q: HistoryQuery{Newest: true}},
	{name: "control", q: HistoryQuery{Business: []BusinessType{BusinessControl}}, want: []string{"p0-1", "p1-1", "p1-4"}},
	{name: "event and alarm", q: HistoryQuery{Business: []BusinessType{BusinessEvent, BusinessAlarm}}, want: []string{"p0-0", "p0-4", "p0-5"}},
	{name: "device", q: HistoryQuery{Device: "inverter1"}, want: []string{"p0-3", "p0-2", "p1-3", "p0-4"}},
	{name: "device and business", q: HistoryQuery{Device: "inverter1", Business: []BusinessType{BusinessCollection}}},
	{name: "unknown device", q: HistoryQuery{Device: "nosuch"}, want: []string{}},
	{name: "from inclusive", q: HistoryQuery{From: t0.Add(5 * time.Second)}, want: []string{"p1-1", "p1-2", "p1-4", "p1-3", "p0-4", "p0-5"}},
	{name: "to exclusive", q: HistoryQuery{To: t0.Add(3 * time.Second)}, want: []string{"p0-0", "p1-0", "p0-1"}},
	{name: "range", q: HistoryQuery{From: t0.Add(3 * time.Second), To: t0.Add(6 * time.Second)}},
	{name: "sub-millisecond from", q: HistoryQuery{From: t0.Add(5*time.Second - time.Microsecond)}},
	{name: "sub-millisecond from after a record", q: HistoryQuery{From: t0.Add(5*time.Second + time.Microsecond)}},
	{name: "sub-millisecond to", q: HistoryQuery{To: t0.Add(5*time.Second + time.Microsecond)}},
	{name: "limit", q: HistoryQuery{Limit: 4}, want: []string{"p0-0", "p1-0", "p0-1", "p0-3"}},
	{name: "newest limit", q: HistoryQuery{Newest: true, Limit: 3}, want: []string{"p0-5", "p0-4", "p1-3"}},
	{name: "newest in range", q: HistoryQuery{Newest: true, Limit: 2, From: t0.Add(time.Second), To: t0.Add(5 * time.Second)}, want: []string{"p0-2", "p0-3"}},
	{name: "newest to past the end", q: HistoryQuery{Newest: true, To: t0.Add(time.Hour), Limit: 1}, want: []string{"p0-5"}},
	{name: "newest to before the start", q: HistoryQuery{Newest: true, To: t0}, want: []string{}},
	{name: "before the epoch", q: HistoryQuery{To: time.Unix(-10, 0)}, want: []string{}},
	{name: "from before the epoch", q: HistoryQuery{From: time.Unix(-10, 0), Limit: 1}, want: []string{"p0-0"}},
	{name: "after the last", q: HistoryQuery{From: t0.Add(time.Hour)}, want: []string{}},
}

func TestHistory(t *testing.T) {
	path, all := historyFixture(t)
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range historyCases {
		t.Run(c.name, func(t *testing.T) {
			got, w := history(t, d, c.q), want(all, c.q)
			if c.want != nil && !slices.Equal(w, c.want) {
				t.Fatalf("oracle %v, table %v", w, c.want)
			}
			if !slices.Equal(got, w) {
				t.Fatalf("History = %v, want %v", got, w)
			}
		})
	}
}

func TestHistoryBadQuery(t *testing.T) {
	path, _ := historyFixture(t)
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		q    HistoryQuery
		want string
	}{
		{HistoryQuery{From: t0.Add(time.Second), To: t0}, "from 2026-11-26T22:15:25.123Z is not before to 2026-11-26T22:15:24.123Z"},
		{HistoryQuery{From: t0, To: t0}, "is not before"},
		{HistoryQuery{Limit: -1}, "limit -1 is negative"},
		{HistoryQuery{Business: []BusinessType{9}}, "business type 9 unknown"},
	} {
		called := false
		err := d.History(c.q, func(StoredRecord) error { called = true; return nil })
		if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), c.want) || called {
			t.Errorf("History(%+v) = %v (called %v); want ErrBadQuery with %q", c.q, err, called, c.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := d.History(HistoryQuery{}, func(StoredRecord) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("fn's error: %v after %d records", err, n)
	}
}

// TestHistoryWithoutIndex: a data store written before the time index
// existed answers the same, read-only (index built in memory) and after a
// read-write open (index built on disk).
func TestHistoryWithoutIndex(t *testing.T) {
	path, all := historyFixture(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketByTime) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	check := func(d *DataStore) {
		t.Helper()
		for _, c := range historyCases {
			if got, w := history(t, d, c.q), want(all, c.q); !slices.Equal(got, w) {
				t.Fatalf("%s: History = %v, want %v", c.name, got, w)
			}
		}
	}
	ro, err := OpenDataStoreReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	check(ro)
	ro.Close()
	rw, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	check(rw)
	var n int
	rw.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bucketByTime).Stats().KeyN; return nil })
	if n != len(all) {
		t.Fatalf("rebuilt index holds %d entries, want %d", n, len(all))
	}
	rw.Close()
}

func TestOpenDataStoreReadOnly(t *testing.T) {
	path, all := historyFixture(t)
	rw, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := OpenDataStoreReadOnly(path, 100*time.Millisecond); !errors.Is(err, ErrInUse) ||
		!strings.Contains(err.Error(), "data store in use by a running holdup") {
		t.Fatalf("open while the daemon holds it: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s", d)
	}
	rw.Close()
	ro, err := OpenDataStoreReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := history(t, ro, HistoryQuery{}); len(got) != len(all) {
		t.Fatalf("read-only history: %d records, want %d", len(got), len(all))
	}
	if err := ro.RecordOutage(context.Background(), Outage{Begin: t0}); err == nil {
		t.Fatal("a read-only data store took a write")
	}
	// Two readers at once: the lock is shared.
	ro2, err := OpenDataStoreReadOnly(path, time.Second)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	ro2.Close()
	if _, err := OpenDataStoreReadOnly(filepath.Join(t.TempDir(), "missing.db"), time.Second); err == nil {
		t.Fatal("a missing data store opened read-only")
	}
}

func TestParseBusinessTypes(t *testing.T) {
	got, err := ParseBusinessTypes("control, event,control")
	if err != nil || !slices.Equal(got, []BusinessType{BusinessControl, BusinessEvent}) {
		t.Fatalf("ParseBusinessTypes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "control,", "controls"} {
		if _, err := ParseBusinessTypes(bad); err == nil {
			t.Errorf("ParseBusinessTypes(%q) accepted", bad)
		}
	}
}

// A damaged file opened read-only is an error wrapping ErrDamaged, never
// a crash: the file is checked before bbolt maps it.
func TestOpenDataStoreReadOnlyDamaged(t *testing.T) {
	path, _ := historyFixture(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:fi.Size()/2+123], 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	g := make([]byte, 16<<10)
	for i := range g {
		g[i] = byte(i*7 + i>>8)
	}
	if err := os.WriteFile(garbage, g, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{truncated, garbage, empty} {
		ds, err := OpenDataStoreReadOnly(p, time.Second)
		if err == nil {
			ds.Close()
			t.Fatalf("%s: opened read-only", filepath.Base(p))
		}
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: %v; want an error wrapping ErrDamaged", filepath.Base(p), err)
		}
	}
}
