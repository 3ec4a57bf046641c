package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"holdup/proto698"
	"holdup/store"
)

// fakeOutbox is the data store's outbox in memory: numbered entries,
// oldest first, taken out by Delivered or Dropped.
type fakeOutbox struct {
	mu                 sync.Mutex
	next               uint64
	entries            []store.Outgoing
	delivered, dropped []uint64
	failDelivered      int // Delivered calls left to fail
}

func (b *fakeOutbox) add(recs ...store.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range recs {
		b.next++
		b.entries = append(b.entries, store.Outgoing{No: b.next, StoredRecord: store.StoredRecord{JournalID: "j1", Record: r}})
	}
}

func (b *fakeOutbox) Outbox(limit int) ([]store.Outgoing, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.entries[:min(limit, len(b.entries))]), nil
}

func (b *fakeOutbox) take(nos []uint64) {
	b.entries = slices.DeleteFunc(b.entries, func(o store.Outgoing) bool { return slices.Contains(nos, o.No) })
}

func (b *fakeOutbox) Delivered(nos []uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failDelivered > 0 {
		b.failDelivered--
		return errors.New("disk full")
	}
	b.take(nos)
	b.delivered = append(b.delivered, nos...)
	return nil
}

func (b *fakeOutbox) Dropped(nos []uint64, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.take(nos)
	b.dropped = append(b.dropped, nos...)
	return nil
}

// fakeHistoryUplink records every report as the master would decode it
// and fails the calls it is told to.
type fakeHistoryUplink struct {
	mu      sync.Mutex
	reports [][]proto698.ResultRecord
	fail    int           // calls left to fail
	block   bool          // wait for ctx to end instead of confirming
	called  chan struct{} // told of every call, if set
}

func (u *fakeHistoryUplink) DeliverHistory(ctx context.Context, recs []proto698.ResultRecord) error {
	u.mu.Lock()
	block := u.block
	u.reports = append(u.reports, recs)
	fail := u.fail > 0
	if fail {
		u.fail--
	}
	u.mu.Unlock()
	if u.called != nil {
		u.called <- struct{}{}
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return proto698.ErrNoAnswer
	}
	return nil
}

// rows decodes report i the way the master does: number → (OAD, value).
func (u *fakeHistoryUplink) rows(t *testing.T, i int) map[uint32]string {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[uint32]string{}
	for _, rec := range u.reports[i] {
		rows, err := proto698.ParseHistory(rec, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.No] = fmt.Sprintf("%s %s %v", rec.OAD, r.Time.UTC().Format("15:04:05.000"), r.Value)
		}
	}
	return out
}

// fakeClock hands the forwarder's waits to the test, which lets each one
// pass when it has checked it.
type fakeClock struct{ waits chan fakeWait }

type fakeWait struct {
	d    time.Duration
	fire chan time.Time
}

func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	w := fakeWait{d, make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

func (c *fakeClock) next(t *testing.T, want time.Duration) {
	t.Helper()
	select {
	case w := <-c.waits:
		if w.d != want {
			t.Fatalf("forwarder waits %v, want %v", w.d, want)
		}
		w.fire <- time.Time{}
	case <-time.After(10 * time.Second):
		t.Fatalf("forwarder asked for no wait of %v", want)
	}
}

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func reading(dev, point string, i int, v any) store.Record {
	return store.Record{Time: t0.Add(time.Duration(i) * 1500 * time.Millisecond), Business: store.BusinessCollection,
		Interface: "rs485-1", Device: dev, Attrs: map[string]any{"point": point}, Value: v}
}

type fwdRig struct {
	f     *forwarder
	box   *fakeOutbox
	up    *fakeHistoryUplink
	clock *fakeClock
	done  chan [2]int
	stop  func()
}

func newFwdRig(t *testing.T, batch int) *fwdRig {
	t.Helper()
	r := &fwdRig{box: &fakeOutbox{}, up: &fakeHistoryUplink{}, clock: &fakeClock{waits: make(chan fakeWait)}, done: make(chan [2]int, 8)}
	r.f = &forwarder{box: r.box, up: r.up, batch: batch, gap: time.Second, retry: 5 * time.Second, loc: time.UTC,
		wake: make(chan struct{}, 1), after: r.clock.after, log: slog.New(slog.DiscardHandler),
		oads: map[pointRef]proto698.OAD{{"inv", "power"}: proto698.NewOAD(0x2F000200), {"meter", "energy"}: proto698.NewOAD(0x2F020200)},
		done: func(d, k int) { r.done <- [2]int{d, k} }}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- r.f.run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-ended; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *fwdRig) finished(t *testing.T) [2]int {
	t.Helper()
	select {
	case d := <-r.done:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the forwarder did not empty the outbox")
	}
	return [2]int{}
}

// TestForwarderDeliversInPacedBatches: the outbox goes out oldest first,
// at most batch records a report and one report per interval; records of
// points without an uplink OAD are kept local, never sent; every sent
// record is confirmed once; a kick after the outbox emptied sends what a
// later replay stored.
func TestForwarderDeliversInPacedBatches(t *testing.T) {
	r := newFwdRig(t, 16)
	var recs []store.Record
	for i := range 36 {
		if i%2 == 0 {
			recs = append(recs, reading("inv", "power", i, float64(i)*100))
		} else {
			recs = append(recs, reading("meter", "energy", i, int64(i)))
		}
	}
	// One replay's records, stored at once.
	r.box.add(append(recs, reading("inv", "status", 36, "ok"), reading("pump", "flow", 37, 1.5))...)
	r.f.kick()
	r.clock.next(t, time.Second) // after the first full batch
	r.clock.next(t, time.Second) // after the second
	if got := r.finished(t); got != [2]int{36, 2} {
		t.Fatalf("done(%d delivered, %d kept local), want (36, 2)", got[0], got[1])
	}
	if n := len(r.up.reports); n != 3 {
		t.Fatalf("%d reports, want 3 (16 + 16 + 4 records)", n)
	}
	seen := map[uint32]bool{}
	for i, want := range []int{16, 16, 4} {
		rows := r.up.rows(t, i)
		if len(rows) != want {
			t.Errorf("report %d carries %d records, want %d", i, len(rows), want)
		}
		for no, v := range rows {
			if seen[no] {
				t.Errorf("record %d sent twice", no)
			}
			seen[no] = true
			i := int(no) - 1
			oad, val := "2F000200", fmt.Sprintf("%v", proto698.Float64(float64(i)*100))
			if i%2 == 1 {
				oad, val = "2F020200", fmt.Sprintf("%v", proto698.Long64(int64(i)))
			}
			if w := fmt.Sprintf("%s %s %s", oad, t0.Add(time.Duration(i)*1500*time.Millisecond).Format("15:04:05.000"), val); v != w {
				t.Errorf("record %d reads %q at the master, want %q", no, v, w)
			}
		}
	}
	if !slices.Equal(r.box.dropped, []uint64{37, 38}) || len(r.box.delivered) != 36 || len(r.box.entries) != 0 {
		t.Fatalf("outbox: delivered %v, dropped %v, left %d", r.box.delivered, r.box.dropped, len(r.box.entries))
	}

	// A later replay.
	r.box.add(reading("inv", "power", 40, 4000.0))
	r.f.kick()
	if got := r.finished(t); got != [2]int{1, 0} {
		t.Fatalf("after the kick: done%v, want [1 0]", got)
	}
	if rows := r.up.rows(t, 3); len(rows) != 1 || rows[39] == "" {
		t.Fatalf("fourth report %v, want record 39", rows)
	}
}

// TestForwarderResendsUntilConfirmed: a report the master does not confirm
// stays in the outbox and goes again, with the same numbers, after the
// retry wait; so does one confirmed while the outbox could not be updated
// (the master drops that copy).
func TestForwarderResendsUntilConfirmed(t *testing.T) {
	r := newFwdRig(t, 16)
	r.up.fail = 1
	r.box.failDelivered = 1
	r.box.add(reading("inv", "power", 0, 1.0), reading("meter", "energy", 1, 2.0))
	r.f.kick()
	r.clock.next(t, 5*time.Second) // not confirmed
	r.clock.next(t, 5*time.Second) // confirmed, outbox not updated
	if got := r.finished(t); got != [2]int{2, 0} {
		t.Fatalf("done%v, want [2 0]", got)
	}
	if len(r.up.reports) != 3 {
		t.Fatalf("%d reports, want 3 (failed, confirmed but not recorded, confirmed)", len(r.up.reports))
	}
	first := r.up.rows(t, 0)
	for i := 1; i < 3; i++ {
		if got := r.up.rows(t, i); fmt.Sprint(got) != fmt.Sprint(first) {
			t.Errorf("resend %d carries %v, want the same records %v", i, got, first)
		}
	}
	if !slices.Equal(r.box.delivered, []uint64{1, 2}) {
		t.Fatalf("delivered %v, want [1 2] once", r.box.delivered)
	}
}

// TestForwarderStopsWithoutConfirm: stopping while the master has not
// confirmed leaves the records in the outbox for the next run.
func TestForwarderStopsWithoutConfirm(t *testing.T) {
	r := newFwdRig(t, 16)
	r.up.block, r.up.called = true, make(chan struct{}, 1)
	r.box.add(reading("inv", "power", 0, 1.0))
	r.f.kick()
	<-r.up.called // the report is on its way; the master never confirms it
	r.stop()
	if len(r.box.entries) != 1 || len(r.box.delivered) != 0 {
		t.Fatalf("outbox after stop: %d left, delivered %v; want the record kept", len(r.box.entries), r.box.delivered)
	}
}

// TestHistoryValue: what the master reads for each kind of journaled value.
func TestHistoryValue(t *testing.T) {
	for _, tc := range []struct {
		r    store.Record
		want proto698.Data
	}{
		{store.Record{Value: 4800.5}, proto698.Float64(4800.5)},
		{store.Record{Value: int64(-3)}, proto698.Long64(-3)},
		{store.Record{Value: uint64(1 << 40)}, proto698.Long64Unsigned(1 << 40)},
		{store.Record{Value: true}, proto698.Bool(true)},
		{store.Record{Value: "tripped"}, proto698.VisibleString("tripped")},
		{store.Record{Value: []byte{1, 2}}, proto698.OctetString{1, 2}},
		{store.Record{Value: nil}, proto698.Null{}},
		{store.Record{Value: 4800.5, Invalid: true}, proto698.Null{}},
		{store.Record{Value: 42.0, Attrs: map[string]any{"point": "limit", "error": "checksum mismatch"}}, proto698.Null{}},
	} {
		if got := historyValue(tc.r); fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", tc.want, tc.want) {
			t.Errorf("%#v: %T %v, want %T %v", tc.r.Value, got, got, tc.want, tc.want)
		}
	}
}

// TestForwarderDoesNotPaceLocalRecords: full batches of records kept local
// send nothing to the master, so nothing waits the report interval for
// them (the fake clock is never asked).
func TestForwarderDoesNotPaceLocalRecords(t *testing.T) {
	r := newFwdRig(t, 2)
	r.box.add(reading("pump", "flow", 0, 1.0), reading("pump", "flow", 1, 2.0), reading("pump", "flow", 2, 3.0),
		reading("pump", "flow", 3, 4.0), reading("inv", "power", 4, 5.0))
	r.f.kick()
	if got := r.finished(t); got != [2]int{1, 4} {
		t.Fatalf("done%v, want [1 4]", got)
	}
}
