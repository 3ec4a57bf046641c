package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// safeJournalID is the journal identity the safe-open fixtures import
// under.
var safeJournalID = []byte{0x5a, 0xfe, 0x0b, 0xe0, 0x00, 0x00, 0x00, 0x01}

// safeNow is the recovery time of the tests: damaged files move to
// path + ".damaged-" + safeStamp.
var safeNow = time.Date(2026, 11, 27, 6, 30, 5, 0, time.FixedZone("CST", 8*3600))

const safeStamp = "20261126T223005Z"

// safeEntries builds n verified journal entries from sequence from on,
// as a replay hands them to importBatch.
func safeEntries(tb testing.TB, from, n int) []Entry {
	tb.Helper()
	c := newCodec()
	out := make([]Entry, 0, n)
	for i := from; i < from+n; i++ {
		r := typicalRecord(i)
		r.Attrs = map[string]any{"point": fmt.Sprintf("p%d", i)}
		raw, err := c.encode(&r, uint64(i))
		if err != nil {
			tb.Fatal(err)
		}
		if r, err = c.decode(raw); err != nil {
			tb.Fatal(err)
		}
		out = append(out, Entry{Seq: uint64(i), Record: r, Raw: raw})
	}
	return out
}

// buildSafeStore writes a data store with n records (sequences 1..n) in
// batches of 250, an outage log entry and delivered outbox entries (so
// pages were freed and reused), and closes it.
func buildSafeStore(tb testing.TB, path string, n int) {
	tb.Helper()
	d, err := OpenDataStore(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	for from := 1; from <= n; from += 250 {
		if _, err := d.importBatch(safeJournalID, safeEntries(tb, from, min(250, n+1-from)), nil); err != nil {
			tb.Fatal(err)
		}
	}
	if err := d.RecordOutage(context.Background(), Outage{Begin: t0, End: t0.Add(time.Minute), Kind: "warm"}); err != nil {
		tb.Fatal(err)
	}
	var nos []uint64
	for no := uint64(1); no <= uint64(n/3); no++ {
		nos = append(nos, no)
	}
	if err := d.Delivered(nos); err != nil {
		tb.Fatal(err)
	}
}

// safeFixture is the bytes of a closed data store of 600 records, built
// once.
var safeFixture = func() func(t *testing.T) []byte {
	var img []byte
	return func(t *testing.T) []byte {
		t.Helper()
		if img == nil {
			path := filepath.Join(t.TempDir(), "data.db")
			buildSafeStore(t, path, 600)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img = b
		}
		return bytes.Clone(img)
	}
}()

// metaOf decodes meta page i of img (page size ps; 0: read it from meta 0).
func metaOf(t *testing.T, img []byte, i int) (boltMeta, int) {
	t.Helper()
	m0, why := parseMeta(img)
	if why != "" {
		t.Fatalf("fixture meta page 0: %s", why)
	}
	ps := int(m0.pageSize)
	m, why := parseMeta(img[i*ps:])
	if why != "" {
		t.Fatalf("fixture meta page %d: %s", i, why)
	}
	return m, ps
}

// newerMeta is the meta page bbolt uses: the one with the higher txid.
func newerMeta(t *testing.T, img []byte) (boltMeta, int, int) {
	m0, ps := metaOf(t, img, 0)
	m1, _ := metaOf(t, img, 1)
	if m1.txid > m0.txid {
		return m1, 1, ps
	}
	return m0, 0, ps
}

// setHWM rewrites meta page i's page count and its checksum, as bbolt
// would have written it.
func setHWM(img []byte, ps, i int, hwm uint64) {
	m := img[i*ps+pageHeaderSize:]
	binary.NativeEndian.PutUint64(m[40:], hwm)
	h := fnv.New64a()
	h.Write(m[:metaSummed])
	binary.NativeEndian.PutUint64(m[metaSummed:], h.Sum64())
}

// checkFreshStore checks that d is an empty, working data store.
func checkFreshStore(t *testing.T, d *DataStore) {
	t.Helper()
	if recs, rej, err := d.Counts(); err != nil || recs != 0 || rej != 0 {
		t.Fatalf("fresh store: Counts = %d, %d, %v; want 0, 0, nil", recs, rej, err)
	}
	if _, err := d.importBatch(safeJournalID, safeEntries(t, 1, 3), nil); err != nil {
		t.Fatalf("fresh store: import: %v", err)
	}
	var got []string
	if err := d.History(HistoryQuery{}, func(r StoredRecord) error {
		got = append(got, fmt.Sprint(r.Record.Attrs["point"]))
		return nil
	}); err != nil {
		t.Fatalf("fresh store: History: %v", err)
	}
	if strings.Join(got, ",") != "p1,p2,p3" {
		t.Fatalf("fresh store: History = %v, want p1..p3", got)
	}
	if out, err := d.Outbox(10); err != nil || len(out) != 3 {
		t.Fatalf("fresh store: Outbox = %d entries, %v; want 3", len(out), err)
	}
}

// TestSafeOpenDamaged: every kind of damage is an OpenDataStore error
// (never a panic or SIGBUS in the test process) with a reason saying
// what is wrong, and OpenOrRecoverDataStore moves the file aside
// untouched and returns a fresh, working store.
func TestSafeOpenDamaged(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(t *testing.T, img []byte) []byte
		want    []string // in the reason
	}{
		{"truncated to half the pages in use", func(t *testing.T, img []byte) []byte {
			// (bbolt preallocates: cutting only pages past those in
			// use loses nothing, TestSafeOpenHealthy.)
			m, _, ps := newerMeta(t, img)
			return img[:int(m.hwm/2)*ps]
		}, []string{"pages in use", "truncated", fmt.Sprintf("holds %d bytes", 0)}},
		{"empty", func(t *testing.T, img []byte) []byte { return img[:0] }, []string{"empty (0 bytes)"}},
		{"not a page multiple", func(t *testing.T, img []byte) []byte { return img[:len(img)-100] },
			[]string{"not a multiple of the page size"}},
		{"shorter than two pages", func(t *testing.T, img []byte) []byte { return img[:100] },
			[]string{"not a multiple of the page size 4096"}},
		{"meta page 0 flipped", func(t *testing.T, img []byte) []byte {
			img[pageHeaderSize+20] ^= 0x5a // in the root page id
			return img
		}, []string{"meta page 0: checksum", "meta page 1 is valid"}},
		{"meta page 1 flipped", func(t *testing.T, img []byte) []byte {
			_, ps := metaOf(t, img, 0)
			img[ps+pageHeaderSize+1] ^= 0xff // in the magic
			return img
		}, []string{"meta page 1: magic", "meta page 0 is valid"}},
		{"both meta pages flipped", func(t *testing.T, img []byte) []byte {
			_, ps := metaOf(t, img, 0)
			img[pageHeaderSize+4] ^= 0x01     // version 3
			img[ps+pageHeaderSize+50] ^= 0x80 // in the txid
			return img
		}, []string{"meta page 0: version 3", "no valid meta page 1"}},
		{"400 bytes flipped over the data pages", func(t *testing.T, img []byte) []byte {
			m, _, ps := newerMeta(t, img)
			rng := rand.New(rand.NewPCG(14, 1))
			for range 400 {
				at := (2+rng.IntN(int(m.hwm)-2))*ps + rng.IntN(ps)
				img[at] ^= byte(1 + rng.IntN(255))
			}
			return img
		}, []string{"page"}},
		{"page count beyond the file", func(t *testing.T, img []byte) []byte {
			_, i, ps := newerMeta(t, img)
			setHWM(img, ps, i, uint64(len(img)/ps)+10)
			return img
		}, []string{"pages in use", fmt.Sprintf("holds %d bytes", 0)}},
		{"root page not a tree page", func(t *testing.T, img []byte) []byte {
			m, _, ps := newerMeta(t, img)
			binary.NativeEndian.PutUint16(img[int(m.root)*ps+8:], flagFreelist)
			return img
		}, []string{fmt.Sprintf("bucket / page %d: type 0x10", 0)}},
	}
	defer func(n int64) { readAllMax = n }(readAllMax)
	for _, mode := range []struct {
		name string
		max  int64
	}{{"in memory", 16 << 20}, {"page by page", 0}} {
		readAllMax = mode.max
		for _, tc := range cases {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) { damagedCase(t, tc.corrupt, tc.want) })
		}
	}
}

// damagedCase is one case of TestSafeOpenDamaged.
func damagedCase(t *testing.T, corrupt func(t *testing.T, img []byte) []byte, wantIn []string) {
	t.Helper()
	img := corrupt(t, safeFixture(t))
	path := filepath.Join(t.TempDir(), "data.db")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, w := range wantIn {
		switch {
		case strings.HasPrefix(w, "holds "):
			w = fmt.Sprintf("holds %d bytes", len(img))
		case strings.HasPrefix(w, "bucket / page "):
			m, _, _ := newerMeta(t, safeFixture(t))
			w = fmt.Sprintf("bucket / page %d: type 0x10", m.root)
		}
		want = append(want, w)
	}

	d, err := OpenDataStore(path)
	if err == nil {
		d.Close()
		t.Fatal("OpenDataStore: no error")
	}
	var de *DamagedError
	if !errors.Is(err, ErrDamaged) || !errors.As(err, &de) {
		t.Fatalf("OpenDataStore: %v, want a *DamagedError", err)
	}
	if de.Path != path || de.MovedTo != "" {
		t.Errorf("DamagedError Path %q MovedTo %q, want %q and none", de.Path, de.MovedTo, path)
	}
	for _, w := range want {
		if !strings.Contains(de.Reason, w) {
			t.Errorf("reason %q does not say %q", de.Reason, w)
		}
	}
	t.Logf("reason: %s", de.Reason)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, img) {
		t.Fatal("OpenDataStore changed the damaged file")
	}

	d, de, err = OpenOrRecoverDataStore(path, safeNow)
	if err != nil {
		t.Fatalf("OpenOrRecoverDataStore: %v", err)
	}
	defer d.Close()
	if de == nil {
		t.Fatal("OpenOrRecoverDataStore: no DamagedError")
	}
	moved := path + ".damaged-" + safeStamp
	if de.MovedTo != moved || de.Path != path || !errors.Is(de, ErrDamaged) {
		t.Errorf("DamagedError %+v, want Path %s, MovedTo %s", de, path, moved)
	}
	if !strings.Contains(de.Error(), "moved to "+moved) || !strings.Contains(de.Error(), de.Reason) {
		t.Errorf("DamagedError says %q", de.Error())
	}
	if got, err := os.ReadFile(moved); err != nil || !bytes.Equal(got, img) {
		t.Fatalf("moved file: %d bytes, %v; want the damaged file's %d bytes unchanged", len(got), err, len(img))
	}
	checkFreshStore(t, d)
}

// TestSafeOpenHealthy: a sound data store opens with its records and
// outbox, and OpenOrRecoverDataStore reports nothing and moves nothing; a
// missing one is created without a report.
func TestSafeOpenHealthy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.db")
	if err := os.WriteFile(path, safeFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // OpenDataStore, then OpenOrRecoverDataStore
		var (
			d   *DataStore
			de  *DamagedError
			err error
		)
		if i == 0 {
			d, err = OpenDataStore(path)
		} else {
			d, de, err = OpenOrRecoverDataStore(path, safeNow)
		}
		if err != nil || de != nil {
			t.Fatalf("open %d: %v, %v", i, de, err)
		}
		recs, _, err := d.Counts()
		if err != nil || recs != 600 {
			t.Errorf("open %d: %d records, %v; want 600", i, recs, err)
		}
		if s, err := d.OutboxStats(); err != nil || s.Pending != 600-200 || s.Delivered != 200 {
			t.Errorf("open %d: outbox %+v, %v; want 400 pending, 200 delivered", i, s, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 0 {
		t.Errorf("healthy store moved: %v", m)
	}

	// bbolt preallocates the file past the pages in use: a file cut back
	// to those pages has lost nothing and opens as it is.
	img := safeFixture(t)
	m, _, ps := newerMeta(t, img)
	if err := os.WriteFile(path, img[:int(m.hwm)*ps], 0o600); err != nil {
		t.Fatal(err)
	}
	d, de, err := OpenOrRecoverDataStore(path, safeNow)
	if err != nil || de != nil {
		t.Fatalf("file cut to the %d pages in use: %v, %v", m.hwm, de, err)
	}
	if recs, _, err := d.Counts(); err != nil || recs != 600 {
		t.Errorf("file cut to the pages in use: %d records, %v; want 600", recs, err)
	}
	d.Close()

	missing := filepath.Join(dir, "new.db")
	d, de, err = OpenOrRecoverDataStore(missing, safeNow)
	if err != nil || de != nil {
		t.Fatalf("missing file: %v, %v", de, err)
	}
	defer d.Close()
	checkFreshStore(t, d)
}

// TestSafeOpenKeepsEarlierCopies: a second recovery in the same second
// never overwrites the first forensic copy.
func TestSafeOpenKeepsEarlierCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	for i, want := range []string{"", "-2", "-3"} {
		if err := os.WriteFile(path, []byte(fmt.Sprintf("not a data store %d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		d, de, err := OpenOrRecoverDataStore(path, safeNow)
		if err != nil || de == nil {
			t.Fatalf("recovery %d: %v, %v", i, de, err)
		}
		d.Close()
		if de.MovedTo != path+".damaged-"+safeStamp+want {
			t.Errorf("recovery %d moved to %s, want suffix %q", i, de.MovedTo, want)
		}
		if got, _ := os.ReadFile(de.MovedTo); string(got) != fmt.Sprintf("not a data store %d", i) {
			t.Errorf("recovery %d: %s holds %q", i, de.MovedTo, got)
		}
		if err := os.Remove(path); err != nil { // as if the fresh one was damaged too
			t.Fatal(err)
		}
	}
}

// TestSafeOpenInUse: a data store another holdup holds is not judged or
// moved: the open waits for the lock, then fails with ErrInUse.
func TestSafeOpenInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2 s for the lock")
	}
	path := filepath.Join(t.TempDir(), "data.db")
	d := obOpen(t, path)
	_, de, err := OpenOrRecoverDataStore(path, safeNow)
	if !errors.Is(err, ErrInUse) || de != nil {
		t.Fatalf("second open: %v, %v; want ErrInUse and no DamagedError", de, err)
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 0 {
		t.Errorf("store in use moved: %v", m)
	}
	if _, _, err := d.Counts(); err != nil {
		t.Fatal(err)
	}
}

// TestSafeDamagedAfterOpen: a page damaged (or the file truncated) while
// the data store is open makes the replay and delivery paths return an
// error wrapping ErrDamaged and naming the operation, never panic or
// fault; every later transaction fails the same way.
func TestSafeDamagedAfterOpen(t *testing.T) {
	ops := []struct {
		name string
		run  func(t *testing.T, d *DataStore) error
	}{
		{"History", func(_ *testing.T, d *DataStore) error {
			return d.History(HistoryQuery{}, func(StoredRecord) error { return nil })
		}},
		{"Outbox", func(_ *testing.T, d *DataStore) error { _, err := d.Outbox(10); return err }},
		{"Records", func(_ *testing.T, d *DataStore) error { return d.Records(func(StoredRecord) error { return nil }) }},
		{"importBatch", func(t *testing.T, d *DataStore) error {
			_, err := d.importBatch(safeJournalID, safeEntries(t, 601, 5), nil)
			return err
		}},
	}
	damages := []struct {
		name string
		do   func(t *testing.T, path string, img []byte)
	}{
		{"pages overwritten", func(t *testing.T, path string, img []byte) {
			m, _, ps := newerMeta(t, img)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := bytes.Repeat([]byte{0xa5}, int(m.hwm-2)*ps)
			if _, err := f.WriteAt(junk, int64(2*ps)); err != nil {
				t.Fatal(err)
			}
		}},
		{"file truncated", func(t *testing.T, path string, img []byte) {
			_, ps := metaOf(t, img, 0)
			if err := os.Truncate(path, int64(ps)); err != nil { // bbolt's map now faults past page 0
				t.Fatal(err)
			}
		}},
	}
	defer func(d time.Duration) { closeTimeout = d }(closeTimeout)
	closeTimeout = 100 * time.Millisecond
	for _, dm := range damages {
		for _, op := range ops {
			t.Run(dm.name+"/"+op.name, func(t *testing.T) {
				img := safeFixture(t)
				path := filepath.Join(t.TempDir(), "data.db")
				if err := os.WriteFile(path, img, 0o600); err != nil {
					t.Fatal(err)
				}
				d, err := OpenDataStore(path)
				if err != nil {
					t.Fatal(err)
				}
				dm.do(t, path, img)
				err = op.run(t, d)
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), op.name) || !strings.Contains(err.Error(), path) {
					t.Fatalf("%s: %v; want an error wrapping ErrDamaged naming %s and the file", op.name, err, op.name)
				}
				t.Logf("%s: %v", op.name, err)
				if _, err2 := d.Outages(0); !errors.Is(err2, ErrDamaged) {
					t.Errorf("after the damage, Outages: %v; want the damage again", err2)
				}
				d.Close() // may report bbolt still locked; must not hang or panic
			})
		}
	}
}

// TestSafeGuardKeepsCallerPanics: a panic in the caller's own function
// (History's fn) is not damage: it propagates and the store stays usable.
func TestSafeGuardKeepsCallerPanics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	if err := os.WriteFile(path, safeFixture(t), 0o600); err != nil {
		t.Fatal(err)
	}
	d := obOpen(t, path)
	func() {
		defer func() {
			if r := recover(); r != "caller bug" {
				t.Errorf("recovered %v, want the caller's panic", r)
			}
		}()
		d.History(HistoryQuery{}, func(StoredRecord) error { panic("caller bug") })
	}()
	if recs, _, err := d.Counts(); err != nil || recs != 600 {
		t.Errorf("after a caller panic: %d records, %v", recs, err)
	}
}

// FuzzOpenDataStore opens arbitrary bytes as the data store file:
// OpenDataStore never panics or faults, and a store it opens answers
// every query (with data or an error) without either.
func FuzzOpenDataStore(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	buildSafeStore(f, path, 40)
	img, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(img)
	f.Add(img[:len(img)/2])
	f.Add(img[:8192])
	f.Add([]byte{})
	for _, at := range []int{20, 4096 + 60, 2*4096 + 3, 3*4096 + 17, 4*4096 + 40} {
		b := bytes.Clone(img)
		if at < len(b) {
			b[at] ^= 0x40
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "data.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDataStore(path)
		if err != nil {
			return
		}
		defer d.Close()
		d.Counts()
		d.Records(func(StoredRecord) error { return nil })
		d.History(HistoryQuery{Newest: true}, func(StoredRecord) error { return nil })
		d.Outbox(5)
		d.OutboxStats()
		d.Outages(0)
		d.Rejections()
		d.importBatch(safeJournalID, safeEntries(t, 1, 2), nil)
	})
}

// BenchmarkSafeOpenCheck measures the check OpenDataStore runs before
// bbolt maps a data store of 10,000 records, against a plain bolt.Open
// and Close of the same file.
func BenchmarkSafeOpenCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "data.db")
	buildSafeStore(b, path, 10000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	var check, open time.Duration
	b.ResetTimer()
	for b.Loop() {
		t1 := time.Now()
		if err := checkDataFile(path); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		check, open = check+t2.Sub(t1), open+time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(check.Nanoseconds())/n, "check-ns/op")
	b.ReportMetric(float64(open.Nanoseconds())/n, "bolt-open-ns/op")
	b.ReportMetric(float64(check)/float64(open), "check/bolt-open")
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
}
