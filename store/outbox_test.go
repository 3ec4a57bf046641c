package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"holdup/eeprom"
)

// obJournalID is the journal identity the outbox tests import under.
var obJournalID = []byte{0xa1, 0xb2, 0xc3, 0xd4, 0x01, 0x02, 0x03, 0x04}

// obSpec is one record of an outbox test batch: its sequence, business
// type and point (kept in the "point" attribute to tell records apart).
type obSpec struct {
	seq   uint64
	biz   BusinessType
	point string
}

// obEntry builds the verified journal entry of s, as a replay hands it to
// importBatch.
func obEntry(t *testing.T, s obSpec) Entry {
	t.Helper()
	r := typicalRecord(int(s.seq))
	r.Business, r.Attrs = s.biz, map[string]any{"point": s.point}
	r.Seq = s.seq
	raw, err := newCodec().encode(&r, s.seq)
	if err != nil {
		t.Fatal(err)
	}
	r, err = newCodec().decode(raw) // as replay hands it out
	if err != nil {
		t.Fatal(err)
	}
	return Entry{Seq: s.seq, Record: r, Raw: raw}
}

func obOpen(t *testing.T, path string) *DataStore {
	t.Helper()
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func obImport(t *testing.T, d *DataStore, specs ...obSpec) ReplayCounts {
	t.Helper()
	var good []Entry
	for _, s := range specs {
		good = append(good, obEntry(t, s))
	}
	c, err := d.importBatch(obJournalID, good, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// obList is the whole outbox as "No:point" strings, checking that every
// entry carries the journal identity and a record whose sequence and
// content match what was imported.
func obList(t *testing.T, d *DataStore) []string {
	t.Helper()
	out, err := d.Outbox(1000)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	got := []string{}
	for i, o := range out {
		if i > 0 && o.No <= out[i-1].No {
			t.Errorf("outbox entry %d after %d: not in number order", o.No, out[i-1].No)
		}
		if o.JournalID != hex.EncodeToString(obJournalID) {
			t.Errorf("outbox entry %d: journal %s, want %x", o.No, o.JournalID, obJournalID)
		}
		want := obEntry(t, obSpec{seq: o.Record.Seq, biz: o.Record.Business, point: fmt.Sprint(o.Record.Attrs["point"])}).Record
		if o.Record.Device != want.Device || o.Record.Value != want.Value || !o.Record.Time.Equal(want.Time) ||
			o.Record.Integrity != want.Integrity {
			t.Errorf("outbox entry %d: record %+v, want %+v", o.No, o.Record, want)
		}
		got = append(got, fmt.Sprintf("%d:%v", o.No, o.Record.Attrs["point"]))
	}
	return got
}

func obStats(t *testing.T, d *DataStore) OutboxStats {
	t.Helper()
	s, err := d.OutboxStats()
	if err != nil {
		t.Fatalf("OutboxStats: %v", err)
	}
	return s
}

// TestOutboxQueuesNewlyStoredRecords: importBatch queues every newly stored
// record but the event ones, in the order stored, and nothing for
// duplicates, conflicts or corrupt entries.
func TestOutboxQueuesNewlyStoredRecords(t *testing.T) {
	ctl, col, alm, ev := BusinessControl, BusinessCollection, BusinessAlarm, BusinessEvent
	type batch struct {
		good []obSpec
		bad  []uint64 // sequences of corrupt entries
	}
	cases := []struct {
		name    string
		batches []batch
		counts  ReplayCounts // summed over the batches
		want    []string
	}{
		{name: "new records in number order",
			batches: []batch{{good: []obSpec{{1, ctl, "a"}, {2, col, "b"}, {3, alm, "c"}}}, {good: []obSpec{{4, col, "d"}}}},
			counts:  ReplayCounts{Replayed: 4},
			want:    []string{"1:a", "2:b", "3:c", "4:d"}},
		{name: "event records not queued",
			batches: []batch{{good: []obSpec{{1, ev, "begin"}, {2, ctl, "a"}, {3, col, "b"}, {4, ev, "end"}, {5, alm, "c"}}}},
			counts:  ReplayCounts{Replayed: 5},
			want:    []string{"1:a", "2:b", "3:c"}},
		{name: "only events: empty outbox",
			batches: []batch{{good: []obSpec{{1, ev, "begin"}, {2, ev, "end"}}}},
			counts:  ReplayCounts{Replayed: 2},
			want:    []string{}},
		{name: "duplicate import adds nothing",
			batches: []batch{{good: []obSpec{{1, ctl, "a"}, {2, col, "b"}}}, {good: []obSpec{{1, ctl, "a"}, {2, col, "b"}, {3, alm, "c"}}}},
			counts:  ReplayCounts{Replayed: 3, Duplicate: 2},
			want:    []string{"1:a", "2:b", "3:c"}},
		{name: "duplicate within a batch adds nothing",
			batches: []batch{{good: []obSpec{{1, ctl, "a"}, {1, ctl, "a"}}}},
			counts:  ReplayCounts{Replayed: 1, Duplicate: 1},
			want:    []string{"1:a"}},
		{name: "conflicting record rejected, not queued",
			batches: []batch{{good: []obSpec{{1, ctl, "a"}}}, {good: []obSpec{{1, ctl, "other"}, {2, col, "b"}}}},
			counts:  ReplayCounts{Replayed: 2, Rejected: 1},
			want:    []string{"1:a", "2:b"}},
		{name: "corrupt entries rejected, not queued",
			batches: []batch{{good: []obSpec{{1, ctl, "a"}, {3, col, "c"}}, bad: []uint64{2, 4}}, {bad: []uint64{2}}},
			counts:  ReplayCounts{Replayed: 2, Rejected: 2, Duplicate: 1},
			want:    []string{"1:a", "2:c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := obOpen(t, filepath.Join(t.TempDir(), "data.db"))
			var total ReplayCounts
			for _, b := range tc.batches {
				var good []Entry
				for _, s := range b.good {
					good = append(good, obEntry(t, s))
				}
				var bad []CorruptEntry
				for _, seq := range b.bad {
					bad = append(bad, CorruptEntry{Seq: seq, Raw: []byte{0xff}, Err: fmt.Errorf("seq %d: %w: crc", seq, ErrCorrupt)})
				}
				c, err := d.importBatch(obJournalID, good, bad)
				if err != nil {
					t.Fatal(err)
				}
				total.Replayed += c.Replayed
				total.Rejected += c.Rejected
				total.Duplicate += c.Duplicate
			}
			if total != tc.counts {
				t.Errorf("import counts %+v, want %+v", total, tc.counts)
			}
			if got := obList(t, d); !slices.Equal(got, tc.want) {
				t.Errorf("outbox %v, want %v", got, tc.want)
			}
			if s := obStats(t, d); s != (OutboxStats{Pending: len(tc.want)}) {
				t.Errorf("stats %+v, want %d pending and nothing else", s, len(tc.want))
			}
		})
	}
}

// TestOutboxThroughReplay: records replayed from a journal on the chip,
// with a crash between storing a batch and consuming it, end up in the
// outbox exactly once each; the outage records do not.
func TestOutboxThroughReplay(t *testing.T) {
	ctx := context.Background()
	_, chip := simChip(t, "at24c64", eeprom.TornRandom, 7)
	j, err := Open(chip, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	var want []uint64
	appendRec := func(r Record) {
		seq, err := j.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Business != BusinessEvent {
			want = append(want, seq)
		}
	}
	// The outage records as the package doc describes them (built here,
	// not with their constructors, whose signatures are not this test's
	// subject).
	event := func(at time.Time, attrs map[string]any) Record {
		return Record{Time: at, Business: BusinessEvent, Interface: "power", Device: "mains", Attrs: attrs}
	}
	appendRec(event(t0, map[string]any{"event": "outage-begin", "confirmed": true}))
	for i := range 5 {
		appendRec(typicalRecord(i))
	}
	appendRec(event(t0.Add(time.Minute), map[string]any{"event": "outage-end", "confirmed": true, "cold": false, "begin": t0.UnixMilli()}))

	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecovery(j, d)
	r.batch = 3
	errCrash := errors.New("crash")
	r.hook = func(step string, b int) error {
		if step == "stored" && b == 1 {
			return errCrash // the second batch is stored, not consumed
		}
		return nil
	}
	if _, err := r.Replay(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("replay: %v, want the crash", err)
	}
	j.Close()
	d.Close()

	if j, err = Open(chip, Options{}); err != nil {
		t.Fatal(err)
	}
	d = obOpen(t, path)
	c, err := NewRecovery(j, d).Replay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duplicate != 3 {
		t.Errorf("replay after the crash: %+v, want the 3 records of the stored batch as duplicates", c)
	}
	out, err := d.Outbox(100)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for i, o := range out {
		if o.No != uint64(i+1) {
			t.Errorf("entry %d numbered %d, want %d", i, o.No, i+1)
		}
		if o.JournalID != j.MountReport().ID {
			t.Errorf("entry %d: journal %s, want %s", o.No, o.JournalID, j.MountReport().ID)
		}
		got = append(got, o.Record.Seq)
	}
	if !slices.Equal(got, want) {
		t.Errorf("outbox holds sequences %v, want %v (each non-event record once)", got, want)
	}
}

// TestOutboxDeliveredAndDropped: Delivered and Dropped remove entries and
// count each once, separately; confirming again counts nothing.
func TestOutboxDeliveredAndDropped(t *testing.T) {
	d := obOpen(t, filepath.Join(t.TempDir(), "data.db"))
	obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{2, BusinessCollection, "b"}, obSpec{3, BusinessAlarm, "c"},
		obSpec{4, BusinessCollection, "d"}, obSpec{5, BusinessCollection, "e"})
	steps := []struct {
		name    string
		do      func() error
		want    []string
		stats   OutboxStats // LastDrop is checked by lastDrop
		dropped string      // LastDrop "No/seq/reason" ("": none)
	}{
		{name: "nothing confirmed", do: func() error { return d.Delivered(nil) },
			want: []string{"1:a", "2:b", "3:c", "4:d", "5:e"}, stats: OutboxStats{Pending: 5}},
		{name: "delivered 1 and 2", do: func() error { return d.Delivered([]uint64{2, 1}) },
			want: []string{"3:c", "4:d", "5:e"}, stats: OutboxStats{Pending: 3, Delivered: 2}},
		{name: "confirmed twice: counted once", do: func() error { return d.Delivered([]uint64{1, 2, 2}) },
			want: []string{"3:c", "4:d", "5:e"}, stats: OutboxStats{Pending: 3, Delivered: 2}},
		{name: "never issued: not counted", do: func() error { return d.Delivered([]uint64{0, 99}) },
			want: []string{"3:c", "4:d", "5:e"}, stats: OutboxStats{Pending: 3, Delivered: 2}},
		{name: "dropped 4", do: func() error { return d.Dropped([]uint64{4}, "point d has no uplink OAD") },
			want: []string{"3:c", "5:e"}, stats: OutboxStats{Pending: 2, Delivered: 2, Dropped: 1},
			dropped: "4/4/point d has no uplink OAD"},
		{name: "dropped twice, or delivered once dropped: not counted", do: func() error {
			if err := d.Dropped([]uint64{4, 1}, "again"); err != nil {
				return err
			}
			return d.Delivered([]uint64{4})
		},
			want: []string{"3:c", "5:e"}, stats: OutboxStats{Pending: 2, Delivered: 2, Dropped: 1},
			dropped: "4/4/point d has no uplink OAD"},
		{name: "a drop needs a reason", do: func() error {
			if err := d.Dropped([]uint64{3}, ""); err == nil {
				return errors.New("a drop without a reason: no error")
			}
			return nil
		},
			want: []string{"3:c", "5:e"}, stats: OutboxStats{Pending: 2, Delivered: 2, Dropped: 1},
			dropped: "4/4/point d has no uplink OAD"},
		{name: "the rest delivered", do: func() error { return d.Delivered([]uint64{5, 3}) },
			want: []string{}, stats: OutboxStats{Pending: 0, Delivered: 4, Dropped: 1},
			dropped: "4/4/point d has no uplink OAD"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := obList(t, d); !slices.Equal(got, st.want) {
			t.Errorf("%s: outbox %v, want %v", st.name, got, st.want)
		}
		s := obStats(t, d)
		if ld := s.LastDrop; st.dropped == "" {
			if ld != (OutboxDrop{}) {
				t.Errorf("%s: last drop %+v, want none", st.name, ld)
			}
		} else if got := fmt.Sprintf("%d/%d/%s", ld.No, ld.Seq, ld.Reason); got != st.dropped ||
			ld.JournalID != hex.EncodeToString(obJournalID) || ld.At.IsZero() {
			t.Errorf("%s: last drop %+v, want %s of journal %x, with its time", st.name, ld, st.dropped, obJournalID)
		}
		s.LastDrop = OutboxDrop{}
		if s != st.stats {
			t.Errorf("%s: stats %+v, want %+v", st.name, s, st.stats)
		}
	}
	// The records themselves stay in the data store.
	if n, _, err := d.Counts(); err != nil || n != 5 {
		t.Errorf("%d records stored (%v), want all 5", n, err)
	}
}

// TestOutboxNumbersNeverReused: forwarding numbers keep increasing across
// deliveries and reopening the data store, and the totals persist.
func TestOutboxNumbersNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{2, BusinessControl, "b"}, obSpec{3, BusinessControl, "c"})
	if err := d.Delivered([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = obOpen(t, path)
	if s := obStats(t, d); s != (OutboxStats{Delivered: 3}) {
		t.Errorf("after reopening: stats %+v, want 3 delivered", s)
	}
	obImport(t, d, obSpec{4, BusinessControl, "d"}, obSpec{5, BusinessCollection, "e"})
	if got, want := obList(t, d), []string{"4:d", "5:e"}; !slices.Equal(got, want) {
		t.Errorf("after reopening: outbox %v, want %v (numbers 1 to 3 are not reused)", got, want)
	}
	if err := d.Delivered([]uint64{1, 2, 3}); err != nil { // late confirmations of the first three
		t.Fatal(err)
	}
	if s := obStats(t, d); s != (OutboxStats{Pending: 2, Delivered: 3}) {
		t.Errorf("late confirmations: stats %+v, want 2 pending, 3 delivered", s)
	}
}

// TestOutboxOlderDataStore: a data store written before the outbox existed
// opens read-only with an empty outbox, and read-write with an empty one
// created: its old records are not queued, the new ones are.
func TestOutboxOlderDataStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{2, BusinessCollection, "b"})
	err = d.db.Update(func(tx *bolt.Tx) error {
		return errors.Join(tx.DeleteBucket(bucketOutbox), tx.DeleteBucket(bucketOutboxMeta))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := OpenDataStoreReadOnly(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ro.OutboxStats(); err != nil || s != (OutboxStats{}) {
		t.Errorf("read-only, no outbox: stats %+v (%v), want zero", s, err)
	}
	if out, err := ro.Outbox(10); err != nil || len(out) != 0 {
		t.Errorf("read-only, no outbox: %v (%v), want empty", out, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	d = obOpen(t, path)
	if got := obList(t, d); len(got) != 0 {
		t.Errorf("older data store: outbox %v, want empty (its records are not queued)", got)
	}
	if s := obStats(t, d); s != (OutboxStats{}) {
		t.Errorf("older data store: stats %+v, want zero", s)
	}
	if c := obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{3, BusinessAlarm, "c"}); c != (ReplayCounts{Replayed: 1, Duplicate: 1}) {
		t.Errorf("import into the older data store: %+v, want 1 new, 1 duplicate", c)
	}
	if got, want := obList(t, d), []string{"1:c"}; !slices.Equal(got, want) {
		t.Errorf("older data store after an import: outbox %v, want %v", got, want)
	}
}

// TestOutboxPages: Outbox(limit) returns the oldest limit entries, again
// until they are confirmed; limit ≤ 0 is a bad query.
func TestOutboxPages(t *testing.T) {
	d := obOpen(t, filepath.Join(t.TempDir(), "data.db"))
	var specs []obSpec
	for i := range 7 {
		specs = append(specs, obSpec{uint64(i + 1), BusinessCollection, fmt.Sprintf("p%d", i+1)})
	}
	obImport(t, d, specs...)
	for _, limit := range []int{0, -1} {
		if _, err := d.Outbox(limit); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Outbox(%d): %v, want ErrBadQuery", limit, err)
		}
	}
	page := func() []uint64 {
		t.Helper()
		out, err := d.Outbox(3)
		if err != nil {
			t.Fatal(err)
		}
		var nos []uint64
		for _, o := range out {
			if want := fmt.Sprintf("p%d", o.No); o.Record.Attrs["point"] != want {
				t.Errorf("entry %d: point %v, want %s", o.No, o.Record.Attrs["point"], want)
			}
			nos = append(nos, o.No)
		}
		return nos
	}
	for _, want := range [][]uint64{{1, 2, 3}, {4, 5, 6}, {7}, nil} {
		got := page()
		if again := page(); !slices.Equal(again, got) {
			t.Errorf("unconfirmed page read again: %v, then %v", got, again)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("page %v, want %v", got, want)
		}
		if err := d.Delivered(got); err != nil {
			t.Fatal(err)
		}
	}
	if s := obStats(t, d); s != (OutboxStats{Delivered: 7}) {
		t.Errorf("stats %+v, want 7 delivered", s)
	}
}

// TestOutboxReadOnly: a read-only open sees the outbox and its totals and
// cannot change them.
func TestOutboxReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{2, BusinessCollection, "b"}, obSpec{3, BusinessAlarm, "c"})
	if err := errors.Join(d.Delivered([]uint64{1}), d.Dropped([]uint64{2}, "no uplink OAD"), d.Close()); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenDataStoreReadOnly(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	s := obStats(t, ro)
	if s.Pending != 1 || s.Delivered != 1 || s.Dropped != 1 || s.LastDrop.No != 2 || s.LastDrop.Reason != "no uplink OAD" {
		t.Errorf("read-only stats %+v, want 1 pending, 1 delivered, 1 dropped (2: no uplink OAD)", s)
	}
	if got, want := obList(t, ro), []string{"3:c"}; !slices.Equal(got, want) {
		t.Errorf("read-only outbox %v, want %v", got, want)
	}
	if err := ro.Delivered([]uint64{3}); err == nil {
		t.Error("Delivered on a read-only data store: no error")
	}
	if err := ro.Dropped([]uint64{3}, "x"); err == nil {
		t.Error("Dropped on a read-only data store: no error")
	}
}

// TestOutboxBrokenEntries: an entry whose record is missing or no longer
// decodes is never handed out: a read-write data store drops it with the
// reason and fills the page from the entries after it; a read-only one
// reports it by number.
func TestOutboxBrokenEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	d, err := OpenDataStore(path)
	if err != nil {
		t.Fatal(err)
	}
	obImport(t, d, obSpec{1, BusinessControl, "a"}, obSpec{2, BusinessControl, "b"}, obSpec{3, BusinessControl, "c"},
		obSpec{4, BusinessControl, "d"})
	// Entry 1's record no longer decodes; entry 3's points at no record.
	err = d.db.Update(func(tx *bolt.Tx) error {
		recs, ob := tx.Bucket(bucketRecords), tx.Bucket(bucketOutbox)
		k := recordKey(obJournalID, 1)
		v := recs.Get(k)
		v = append([]byte(nil), v[:len(v)-1]...) // truncated
		return errors.Join(recs.Put(k, v), ob.Put(outboxKey(3), recordKey(obJournalID, 99)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := OpenDataStoreReadOnly(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ro.Outbox(2)
	var be *BrokenEntryError
	if !errors.As(err, &be) || be.No != 1 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("read-only Outbox over a broken entry 1: %v, want a BrokenEntryError for 1 matching ErrCorrupt", err)
	}
	if s := obStats(t, ro); s.Pending != 4 || s.Dropped != 0 {
		t.Errorf("read-only stats %+v, want 4 pending, none dropped", s)
	}
	ro.Close()

	d = obOpen(t, path)
	out, err := d.Outbox(2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%d:%v", o.No, o.Record.Attrs["point"]))
	}
	if want := []string{"2:b", "4:d"}; !slices.Equal(got, want) {
		t.Errorf("Outbox(2) over broken entries 1 and 3: %v, want %v", got, want)
	}
	s := obStats(t, d)
	if s.Pending != 2 || s.Dropped != 2 || s.Delivered != 0 {
		t.Errorf("stats %+v, want 2 pending, 2 dropped", s)
	}
	if ld := s.LastDrop; ld.No != 3 || ld.Seq != 99 || !strings.Contains(ld.Reason, "outbox entry 3") ||
		!strings.Contains(ld.Reason, "no stored record") {
		t.Errorf("last drop %+v, want entry 3 (seq 99) with its missing record named", ld)
	}
}
